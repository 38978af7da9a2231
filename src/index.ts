/**
 * Operon: Kubernetes operators in TypeScript. Describe the desired state as one function; Operon
 * watches, caches, applies children, writes status, runs finalizers and retries.
 *
 * @example
 * import { ConfigMap, defineOperator, defineResource, K8s, Manager, Type, validatingWebhook } from "kube-operon";
 *
 * const Greeting = defineResource({
 *   group: "example.com", version: "v1", kind: "Greeting", plural: "greetings", scope: "Namespaced",
 *   spec: Type.Object({ name: Type.String() }),
 *   status: K8s.Status({ message: Type.Optional(Type.String()) }),
 * });
 *
 * const greeter = defineOperator({
 *   name: "greeter",
 *   parent: Greeting,
 *   children: { configMaps: ConfigMap },
 *   sync: ({ parent }) => ({
 *     status: { message: `Hello, ${parent.spec.name}` },
 *     children: [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: parent.metadata.name! }, data: { name: parent.spec.name } }],
 *   }),
 * });
 *
 * // Rules the schema cannot express, checked by the API server before it stores a Greeting.
 * const validateGreeting = validatingWebhook(Greeting, {
 *   validate: ({ object }) => {
 *     if (object?.spec.name === "nobody") return { allowed: false, reason: "greet somebody" };
 *   },
 * });
 *
 * await new Manager().add(greeter, validateGreeting).run();
 *
 * @packageDocumentation
 */

export type {
  ApplyObject,
  ApplyOptions,
  CallOptions,
  ClientOptions,
  DeepPartial,
  DeleteCollectionOptions,
  DeleteOptions,
  FieldValidation,
  GetOptions,
  JsonPatchOperation,
  ListAllOptions,
  ListOptions,
  ObjectCallOptions,
  ObjectInput,
  PatchOptions,
  PatchType,
  RawRequest,
  ServerVersion,
  UpdateOptions,
  WriteOptions,
} from "./client/client.ts";
export { KubeClient } from "./client/client.ts";
export type { ConnectionOptions } from "./client/connection.ts";
export type { DiscoveryOptions } from "./client/discovery.ts";
export {
  AlreadyExistsError,
  ConflictError,
  ForbiddenError,
  GoneError,
  InvalidError,
  isAlreadyExists,
  isConflict,
  isForbidden,
  isInvalid,
  isNotFound,
  KubeError,
  type KubeErrorInit,
  NotFoundError,
  type RequestDescription,
  type Status,
  type StatusCause,
  type StatusDetails,
} from "./client/errors.ts";
export type { LoadKubeConfigOptions } from "./client/kubeconfig.ts";
export type { QueryValue, Selector } from "./client/paths.ts";
export type {
  ClientMetrics,
  RequesterOptions,
  RequestMetric,
  WatchMetric,
} from "./client/request.ts";
export type { BookmarkObject, WatchEvent, WatchOptions, WatchStream } from "./client/watch.ts";
export type { LogFields, Logger } from "./logger.ts";
export type { HealthCheck } from "./manager/health.ts";
export {
  createLogger,
  type LogFormat,
  type LoggerOptions,
  type LogLevel,
} from "./manager/logging.ts";
export {
  type ClientFactory,
  LeaderElectionLostError,
  type LeaderElectionOptions,
  type Manageable,
  Manager,
  type ManagerOptions,
  type ShardingOptions,
  ShardMembershipLostError,
  type TraceOptions,
} from "./manager/manager.ts";
export type { ManagerMetrics } from "./manager/metrics.ts";
export { type PlannedParent, type PlanOptions, planOperators } from "./manager/plan.ts";
export type { Runnable, RunnableContext } from "./manager/runnable.ts";
export {
  type TraceLimits,
  type TraceOutcome,
  type TraceParent,
  type TraceQuery,
  type TraceRecord,
  TraceStore,
  type TraceTrigger,
} from "./manager/trace-store.ts";
export type {
  ManagedCertificateSettings,
  NamespacedName,
  WebhookServerSettings,
} from "./manager/webhooks.ts";
export * from "./metacontroller/index.ts";
export type {
  AttemptDetail,
  AttemptPhase,
  AttemptTrigger,
  FunctionCall,
  NextStep,
  ObjectVersion,
  ReconcileAttempt,
  RecordedParentEvent,
} from "./operator/attempt.ts";
export type {
  ChildAction,
  ChildActionKind,
  ChildFailure,
  ChildOutcome,
} from "./operator/child-applier.ts";
export type { ChurnVerdict } from "./operator/churn.ts";
export {
  type ChildDeclaration,
  type ChildGroup,
  type ChildOptions,
  type ChildPolicy,
  type ChildSpec,
  child,
  type Desired,
  type DesiredChild,
  type DesiredChildOf,
  type DesiredFields,
  type DesiredMetadata,
  defineOperator,
  desired,
  type FinalizeRequest,
  type FinalizeResult,
  type ObjectOfSpec,
  type Operator,
  type OperatorDeclaration,
  type ParentDeletionPolicy,
  type ParentEvent,
  type ParentStatus,
  type PropagationPolicy,
  type RelatedDeclaration,
  related,
  type SyncFunction,
  type SyncReason,
  type SyncRequest,
  type SyncResult,
  type UpdateStrategy,
} from "./operator/declaration.ts";
export type { EventRecorderOptions } from "./operator/events.ts";
export type { FieldChange, FieldDiff } from "./operator/field-diff.ts";
export type { OperatorLogger, SyncOutcome } from "./operator/reconciler.ts";
export type { SyncedState } from "./operator/status.ts";
export type { ApiWrite } from "./operator/traced-client.ts";
export type { WorkQueueMetrics } from "./queue/metrics.ts";
export * from "./resources/index.ts";
export type { CertificateDirectoryOptions } from "./webhook/certificate-watcher.ts";
export type { ServingCertificate } from "./webhook/certificates.ts";
export {
  type ConversionDefinition,
  type ConversionOptions,
  type Converted,
  defineConversion,
  type SpokeConversion,
} from "./webhook/conversion.ts";
export { Denied, type DeniedOptions } from "./webhook/denied.ts";
export type { WebhookFailureReason, WebhookMetrics } from "./webhook/metrics.ts";
export type { CertificateProvider, CertificateSource } from "./webhook/server.ts";
export type {
  AdmissionContext,
  AdmissionContextBase,
  AdmissionOperation,
  AdmissionRequest,
  CacheReader,
  FieldCause,
  GroupVersionKind,
  GroupVersionResource,
  MutateFunction,
  UserInfo,
  ValidateFunction,
  ValidationResult,
} from "./webhook/types.ts";
export {
  type MutatingWebhookDefinition,
  type MutatingWebhookOptions,
  mutatingWebhook,
  type ValidatingWebhookDefinition,
  type ValidatingWebhookOptions,
  validatingWebhook,
  type Webhook,
  type WebhookDefinitionBase,
  type WebhookOptions,
} from "./webhook/webhook.ts";
