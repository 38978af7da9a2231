/**
 * Admission and conversion webhooks: validating and mutating handlers typed by `ResourceType<T>`,
 * conversions between the versions of a custom kind, the HTTPS server the API server calls,
 * serving certificates (development, mounted, or managed by Operon in a Secret), and the webhook
 * configurations.
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
  type CaBundleTargets,
  CertificateRotator,
  type CertificateRotatorOptions,
  coversNames,
  ensureManagedCertificates,
  injectCaBundle,
  type ManagedCertificateOptions,
  type ManagedCertificates,
  type RotationStep,
  readManagedCertificates,
  renewalDue,
  SecretCertificateProvider,
  type SecretCertificateProviderOptions,
  splitPemBundle,
} from "./certificate-secret.ts";
export {
  type CertificateDirectoryOptions,
  CertificateDirectoryWatcher,
  readCertificateDirectory,
} from "./certificate-watcher.ts";
export {
  type CertificateAuthority,
  caBundle,
  checkServingCertificate,
  createCertificateAuthority,
  createDevelopmentCertificates,
  type DevelopmentCertificateOptions,
  issueServingCertificate,
  type ServingCertificate,
  type ServingCertificateOptions,
  serviceDnsNames,
  type Validity,
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
export {
  type ConversionDefinition,
  ConversionError,
  type ConversionOptions,
  type ConversionOutcome,
  type Converted,
  conversionPath,
  convertReview,
  decodeConversionReview,
  defineConversion,
  InvalidConversionReview,
  isConversion,
  type SpokeConversion,
} from "./conversion.ts";
export { Denied, type DeniedOptions, isDenied } from "./denied.ts";
export {
  type DevelopmentInstallation,
  type DevelopmentInstallOptions,
  installForDevelopment,
} from "./development.ts";
export { AdmissionAbandoned, type AdmitOptions, admit, unexpectedKind } from "./handler.ts";
export {
  applyJsonPatch,
  createJsonPatch,
  escapePointerToken,
  type JsonPatchOperation,
  jsonEqual,
  parsePointer,
  unescapePointerToken,
} from "./json-patch.ts";
export { noWebhookMetrics, type WebhookFailureReason, type WebhookMetrics } from "./metrics.ts";
export {
  admissionReviewApiVersion,
  allowedResponse,
  decodeAdmissionReview,
  denialMessage,
  deniedResponse,
  encodeAdmissionReview,
  InvalidAdmissionReview,
} from "./review.ts";
export {
  type CertificateProvider,
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
  CacheReader,
  ConversionRequest,
  ConversionResponse,
  ConversionReview,
  FieldCause,
  GroupVersionKind,
  GroupVersionResource,
  MutateFunction,
  UserInfo,
  ValidateFunction,
  ValidationResult,
} from "./types.ts";
export {
  defaultWebhookName,
  defaultWebhookPath,
  isWebhook,
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
