/**
 * Operon: Kubernetes operators in TypeScript. Describe the desired state as one function; Operon
 * watches, caches, applies children, writes status, runs finalizers and retries.
 *
 * @example
 * import { ConfigMap, defineOperator, defineResource, K8s, Manager, Type } from "kube-operon";
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
 * await new Manager().add(greeter).run();
 *
 * @packageDocumentation
 */

export {
  type ClientOptions,
  KubeClient,
} from "./client/client.ts";
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
  NotFoundError,
} from "./client/errors.ts";
export type { HealthCheck } from "./manager/health.ts";
export { createLogger, type LoggerOptions, type LogLevel } from "./manager/logging.ts";
export {
  type ClientFactory,
  LeaderElectionLostError,
  type LeaderElectionOptions,
  Manager,
  type ManagerOptions,
} from "./manager/manager.ts";
export type { ManagerMetrics } from "./manager/metrics.ts";
export {
  type ChildDeclaration,
  type ChildGroup,
  child,
  type DesiredChild,
  defineOperator,
  type FinalizeRequest,
  type FinalizeResult,
  type Operator,
  type OperatorDeclaration,
  type ParentEvent,
  type RelatedDeclaration,
  related,
  type SyncReason,
  type SyncRequest,
  type SyncResult,
  type UpdateStrategy,
} from "./operator/declaration.ts";
export type { SyncOutcome } from "./operator/reconciler.ts";
export * from "./resources/index.ts";
