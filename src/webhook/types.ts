/**
 * The shapes of admission: the `AdmissionReview` v1 wire format the API server sends and expects
 * back, and what a webhook's handler receives and returns. Types only.
 *
 * @module
 */
import type { KubeObject, ResourceType } from "../resources/object.ts";

/** The operations admission webhooks are called for. */
export type AdmissionOperation = "CREATE" | "UPDATE" | "DELETE" | "CONNECT";

/** `group`, `version`, `kind` of the object under admission (`""` group for the core group). */
export interface GroupVersionKind {
  /** `""` for the core group. */
  group: string;
  /** e.g. `v1`. */
  version: string;
  /** e.g. `ConfigMap`. */
  kind: string;
}

/** `group`, `version`, `resource` (plural) the request was made to. */
export interface GroupVersionResource {
  /** `""` for the core group. */
  group: string;
  /** e.g. `v1`. */
  version: string;
  /** The plural, e.g. `configmaps`. */
  resource: string;
}

/** The identity that made the request (`authentication.k8s.io/v1 UserInfo`). */
export interface UserInfo {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/** `AdmissionReview.request`: one admission decision the API server asks for. */
export interface AdmissionRequest {
  /** Identifies this call; the response must echo it. */
  uid: string;
  /** The kind of `object`, as the webhook asked for it (after `matchPolicy: Equivalent` conversion). */
  kind: GroupVersionKind;
  resource: GroupVersionResource;
  subResource?: string;
  /** The kind the client originally asked for, which may differ from `kind` under `Equivalent`. */
  requestKind?: GroupVersionKind;
  requestResource?: GroupVersionResource;
  requestSubResource?: string;
  /** Empty on CREATE when the client used `generateName`. */
  name?: string;
  namespace?: string;
  operation: AdmissionOperation;
  userInfo: UserInfo;
  /** The new object (CREATE, UPDATE) or the connect options (CONNECT); `null` on DELETE. */
  object?: unknown;
  /** The existing object (UPDATE, DELETE). */
  oldObject?: unknown;
  dryRun?: boolean;
  /** `CreateOptions`, `UpdateOptions`, `DeleteOptions` or the connect options' kind. */
  options?: unknown;
}

/**
 * One field a denial is about (`metav1.StatusCause`): clients show them like the API server's own
 * validation errors.
 */
export interface FieldCause {
  /** The field's path, e.g. `spec.replicas` or `spec.containers[0].image`. */
  field: string;
  /** What is wrong with it, e.g. `must be at most 10 when image is unpinned`. */
  message: string;
  /** Machine-readable CamelCase reason; default `FieldValueInvalid`. */
  reason?: string;
}

/** The `metav1.Status` of a denial. */
export interface AdmissionStatus {
  status?: "Success" | "Failure";
  message?: string;
  /** Machine-readable CamelCase reason, e.g. `Forbidden`. */
  reason?: string;
  code?: number;
  /** The fields the denial is about. */
  details?: { causes?: { field?: string; message?: string; reason?: string }[] };
}

/** `AdmissionReview.response`: the webhook's decision. */
export interface AdmissionResponse {
  /** Echo of `request.uid`. */
  uid: string;
  allowed: boolean;
  status?: AdmissionStatus;
  /** Base64 of a JSON patch (RFC 6902) to apply to the object; mutating webhooks only. */
  patch?: string;
  patchType?: "JSONPatch";
  /** Shown to the client as `Warning` response headers. */
  warnings?: string[];
  auditAnnotations?: Record<string, string>;
}

/** The `admission.k8s.io/v1` envelope of both the request and the response. */
export interface AdmissionReview {
  apiVersion: "admission.k8s.io/v1";
  kind: "AdmissionReview";
  request?: AdmissionRequest;
  response?: AdmissionResponse;
}

/** What every handler call receives, whatever the operation. */
export interface AdmissionContextBase {
  /** Who made the request. */
  userInfo: UserInfo;
  /**
   * True when the change will not be persisted. A handler with side effects must skip them, and
   * must be declared `sideEffects: "NoneOnDryRun"`.
   */
  dryRun: boolean;
  /** The object's name (empty on CREATE with `generateName`). */
  name: string;
  /** The request's namespace; on CREATE the object itself may not carry it yet. */
  namespace: string | undefined;
  /** The whole request, for the fields not lifted here (kind, resource, options...). */
  request: AdmissionRequest;
  /**
   * Aborted when the answer is no longer wanted: the webhook's timeout passed, the API server
   * hung up, or the server is shutting down. Pass it to any I/O the handler does.
   */
  signal: AbortSignal;
  /** Adds a warning shown to the client (`kubectl` prints it), whatever the decision. */
  warn(message: string): void;
  /**
   * Reads other objects from the informer cache of the manager serving the webhook (started on
   * first use of a type): lookups the CRD schema cannot express, such as uniqueness or
   * references. Throws when the webhook is served without a cache.
   */
  cache: CacheReader;
}

/**
 * Reads objects from a cache: what a webhook's handler may look up.
 *
 * @example
 * validate: async ({ object, cache }) => {
 *   const secret = await cache.get(Secret, object.spec.secretName, object.metadata.namespace);
 *   if (!secret) return { allowed: false, reason: `no Secret ${object.spec.secretName}` };
 * }
 */
export interface CacheReader {
  /** The object, or undefined when the cache has none by that name. */
  get<T extends KubeObject>(
    type: ResourceType<T>,
    name: string,
    namespace?: string,
  ): Promise<T | undefined>;
  /** The objects of a type, in one namespace or all, optionally matching a label selector. */
  list<T extends KubeObject>(
    type: ResourceType<T>,
    options?: { namespace?: string; labelSelector?: string },
  ): Promise<T[]>;
}

/**
 * What a handler receives, narrowed by `operation`: `object` is the new object (CREATE, UPDATE),
 * `oldObject` the existing one (UPDATE, DELETE). For CONNECT both are absent; the connect options
 * are in `request.object`.
 *
 * @example
 * function check(ctx: AdmissionContext<ConfigMap>) {
 *   if (ctx.operation === "UPDATE" && ctx.oldObject.immutable) ctx.warn("was immutable");
 *   const data = ctx.object?.data ?? {};
 * }
 */
export type AdmissionContext<T extends KubeObject> = AdmissionContextBase &
  (
    | { operation: "CREATE"; object: T; oldObject: undefined }
    | { operation: "UPDATE"; object: T; oldObject: T }
    | { operation: "DELETE"; object: undefined; oldObject: T }
    | { operation: "CONNECT"; object: undefined; oldObject: undefined }
  );

/** A validating handler's decision. */
export type ValidationResult =
  | { allowed: true; warnings?: string[] }
  | {
      allowed: false;
      /** Shown to the client after `admission webhook "<name>" denied the request: `. */
      reason: string;
      /**
       * The fields at fault; they are listed after the reason in the message the client sees,
       * and sent as the Status' causes.
       */
      causes?: FieldCause[];
      /**
       * HTTP status code of the refusal; default 403. (With 422, Invalid, kubectl prints only the
       * causes, without the reason.)
       */
      code?: number;
      warnings?: string[];
    };

/**
 * A validating handler: return a decision, or nothing to allow; throw `Denied` to refuse.
 * Any other exception refuses the request too, with an "internal error" message.
 */
export type ValidateFunction<T extends KubeObject> = (
  context: AdmissionContext<T>,
  // biome-ignore lint/suspicious/noConfusingVoidType: returning nothing means "allowed"
) => ValidationResult | void | Promise<ValidationResult | void>;

/**
 * A mutating handler. It receives its own deep copy of the object: change it in place or build a
 * new one, and return it (or nothing, meaning the possibly changed copy). Operon sends the
 * difference to the original as a JSON patch. Throw `Denied` to refuse the request.
 */
export type MutateFunction<T extends KubeObject> = (
  context: AdmissionContext<T>,
  // biome-ignore lint/suspicious/noConfusingVoidType: returning nothing means "the copy as changed"
) => T | void | Promise<T | void>;

/** `apiextensions.k8s.io/v1 ConversionReview.request`: objects to convert to one version. */
export interface ConversionRequest {
  uid: string;
  /** `group/version` to convert every object to. */
  desiredAPIVersion: string;
  objects: unknown[];
}

/** `ConversionReview.response`. */
export interface ConversionResponse {
  uid: string;
  convertedObjects: unknown[];
  result: { status: "Success" | "Failure"; message?: string };
}

/** The `apiextensions.k8s.io/v1` envelope of a conversion request and its response. */
export interface ConversionReview {
  apiVersion: "apiextensions.k8s.io/v1";
  kind: "ConversionReview";
  request?: ConversionRequest;
  response?: ConversionResponse;
}
