/**
 * The Kubernetes client: kubeconfig and in-cluster configuration, authentication, one keep-alive
 * connection pool per cluster, discovery, typed REST verbs, watch streams and typed errors.
 *
 * @example
 * import { KubeClient, isNotFound } from "./client/index.ts";
 *
 * const client = await KubeClient.fromKubeConfig({ kubeconfig: "./kubeconfig", fieldManager: "my-operator" });
 * const cm = await client.get(ConfigMap, "settings", { namespace: "prod" }).catch((err) => {
 *   if (isNotFound(err)) return undefined;
 *   throw err;
 * });
 */

export { TokenBucket } from "../common/token-bucket.ts";
export {
  type AuthProvider,
  basicAuth,
  bearerTokenAuth,
  type ClientCertificate,
  type Credentials,
  noAuth,
  type TokenFileAuthOptions,
  tokenFileAuth,
} from "./auth.ts";
export {
  type ApplyObject,
  type ApplyOptions,
  type CallOptions,
  type ClientOptions,
  type DeepPartial,
  type DeleteCollectionOptions,
  type DeleteOptions,
  type FieldValidation,
  type GetOptions,
  type JsonPatchOperation,
  KubeClient,
  type ListAllOptions,
  type ListOptions,
  type ObjectCallOptions,
  type ObjectInput,
  type PatchOptions,
  type PatchType,
  type RawRequest,
  type ServerVersion,
  type UpdateOptions,
  type WriteOptions,
} from "./client.ts";
export {
  Connection,
  type ConnectionOptions,
  type ConnectionStats,
  defaultUserAgent,
} from "./connection.ts";
export {
  type ApiGroupInfo,
  type ApiResource,
  type ApiResourceList,
  Discovery,
  type DiscoveryOptions,
} from "./discovery.ts";
export {
  AlreadyExistsError,
  BadRequestError,
  ConflictError,
  ConnectionError,
  CredentialError,
  describeRequest,
  errorFromStatus,
  ForbiddenError,
  GoneError,
  InvalidError,
  ignoreAlreadyExists,
  ignoreNotFound,
  isAlreadyExists,
  isConflict,
  isConnectionError,
  isForbidden,
  isGone,
  isInvalid,
  isNotFound,
  isServerError,
  isStatus,
  isTimeout,
  isTooManyRequests,
  isUnauthorized,
  KubeConfigError,
  KubeError,
  NotFoundError,
  type RequestDescription,
  ServerError,
  type Status,
  type StatusCause,
  type StatusDetails,
  TimeoutError,
  TooManyRequestsError,
  UnauthorizedError,
  UnknownKindError,
} from "./errors.ts";
export { type ExecAuthOptions, type ExecConfig, execAuth } from "./exec-credential.ts";
export {
  type ClusterConnection,
  type ContextOptions,
  connectionFromKubeConfig,
  type Impersonation,
  type InClusterOptions,
  inClusterConnection,
  type KubeConfig,
  type KubeConfigCluster,
  type KubeConfigContext,
  type KubeConfigUser,
  type LoadKubeConfigOptions,
  loadKubeConfig,
  mergeKubeConfigs,
  parseKubeConfig,
  type TlsMaterial,
} from "./kubeconfig.ts";
export {
  formatSelector,
  type ResourceInfo,
  resourcePath,
  type Selector,
} from "./paths.ts";
export { Semaphore } from "./rate-limit.ts";
export type {
  ApiRequest,
  ClientMetrics,
  Requester,
  RequesterOptions,
  RequestMetric,
  WatchMetric,
} from "./request.ts";
export {
  type BookmarkObject,
  initialEventsEndAnnotation,
  isInitialEventsEnd,
  type WatchEvent,
  type WatchOptions,
  WatchStream,
} from "./watch.ts";
