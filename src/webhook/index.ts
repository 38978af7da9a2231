/**
 * Admission webhooks: validating and mutating handlers typed by `ResourceType<T>`, the HTTPS
 * server the API server calls, serving certificates, and the webhook configurations.
 *
 * @example
 * import { ConfigMap } from "../resources/core.ts";
 * import { Denied, validatingWebhook, WebhookServer, webhookConfigurations, installWebhookConfigurations } from "./webhook/index.ts";
 *
 * const requireOwner = validatingWebhook(ConfigMap, {
 *   name: "configmaps.validate.example.com",
 *   validate: ({ object }) => {
 *     if (!object?.data?.owner) throw new Denied("data.owner is required");
 *   },
 * });
 * const server = new WebhookServer({ webhooks: [requireOwner], certificates: { mode: "development" } });
 * await server.start();
 * await installWebhookConfigurations(client, webhookConfigurations({
 *   name: "my-operator", webhooks: server.webhooks,
 *   endpoint: { url: server.url }, caCertificatePem: server.caCertificatePem,
 * }));
 *
 * @module
 */

export { type LogFields, type Logger, silentLogger } from "../logger.ts";
export {
  type CertificateDirectoryOptions,
  CertificateDirectoryWatcher,
  readCertificateDirectory,
} from "./certificate-watcher.ts";
export {
  caBundle,
  checkServingCertificate,
  createDevelopmentCertificates,
  type DevelopmentCertificateOptions,
  type ServingCertificate,
  serviceDnsNames,
} from "./certificates.ts";
export {
  type InstallOptions,
  installWebhookConfigurations,
  mutatingWebhookConfiguration,
  uninstallWebhookConfigurations,
  validatingWebhookConfiguration,
  type WebhookConfigurationClient,
  type WebhookConfigurationOptions,
  type WebhookConfigurations,
  type WebhookEndpoint,
  webhookConfigurations,
} from "./configuration.ts";
export { Denied, type DeniedOptions, isDenied } from "./denied.ts";
export { AdmissionAbandoned, type AdmitOptions, admit } from "./handler.ts";
export {
  applyJsonPatch,
  createJsonPatch,
  escapePointerToken,
  type JsonPatchOperation,
  jsonEqual,
  parsePointer,
  unescapePointerToken,
} from "./json-patch.ts";
export {
  admissionReviewApiVersion,
  allowedResponse,
  decodeAdmissionReview,
  deniedResponse,
  encodeAdmissionReview,
  InvalidAdmissionReview,
} from "./review.ts";
export {
  type CertificateSource,
  type CloseOptions,
  parseGoDuration,
  WebhookServer,
  type WebhookServerOptions,
} from "./server.ts";
export type {
  AdmissionContext,
  AdmissionContextBase,
  AdmissionOperation,
  AdmissionRequest,
  AdmissionResponse,
  AdmissionReview,
  AdmissionStatus,
  GroupVersionKind,
  GroupVersionResource,
  MutateFunction,
  UserInfo,
  ValidateFunction,
  ValidationResult,
} from "./types.ts";
export {
  defaultWebhookPath,
  type MatchCondition,
  type MutatingWebhookDefinition,
  type MutatingWebhookOptions,
  mutatingWebhook,
  type ValidatingWebhookDefinition,
  type ValidatingWebhookOptions,
  validatingWebhook,
  type Webhook,
  type WebhookDefinitionBase,
  type WebhookOptions,
} from "./webhook.ts";
