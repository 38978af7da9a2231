/**
 * Typed errors for everything the client can fail with.
 *
 * Every failure is a {@link KubeError}: API responses keep the server's `Status` object, and the
 * message names the verb, the resource, the object and the namespace, so a log line alone says what
 * went wrong. Subclasses (and the `is*` helpers) let callers branch on the kind of failure
 * without comparing status codes.
 */

/** One field-level cause of a failure (`Status.details.causes[]`), e.g. an invalid label value. */
export interface StatusCause {
  /** Machine-readable cause, e.g. `FieldValueInvalid`. */
  reason?: string;
  message?: string;
  /** The field path, e.g. `metadata.labels`. */
  field?: string;
}

/** Extra information in a `Status` about the object the failure concerns. */
export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** The API's `metav1.Status`, returned for failures and for some deletes. */
export interface Status {
  kind: "Status";
  apiVersion: string;
  metadata?: { resourceVersion?: string; continue?: string };
  status?: "Success" | "Failure";
  message?: string;
  /** CamelCase reason, e.g. `NotFound`, `AlreadyExists`, `Conflict`, `Invalid`, `Expired`. */
  reason?: string;
  details?: StatusDetails;
  code?: number;
}

/** What a request was doing, for error messages and metrics. */
export interface RequestDescription {
  /** Kubernetes verb: `get`, `list`, `watch`, `create`, `update`, `patch`, `apply`, `delete`, ... */
  verb: string;
  /** Plural resource name, e.g. `configmaps`. Absent for non-resource paths (discovery). */
  resource?: string;
  /** API group (`""` for the core group). */
  group?: string;
  subresource?: string;
  name?: string;
  namespace?: string;
  /** HTTP method and path, used when there is no resource to name. */
  method?: string;
  path?: string;
  /** The API server's base URL. */
  server?: string;
}

/** Whether a value looks like a `metav1.Status` object. */
export function isStatus(value: unknown): value is Status {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as { kind?: unknown }).kind === "Status" &&
    typeof (value as { apiVersion?: unknown }).apiVersion === "string"
  );
}

/**
 * `create configmaps "foo" in namespace "bar"`: the subject of an error message.
 *
 * @example
 * describeRequest({ verb: "get", resource: "deployments", group: "apps", name: "web", namespace: "prod" })
 * // 'get deployments.apps "web" in namespace "prod"'
 */
export function describeRequest(request: RequestDescription): string {
  if (!request.resource) {
    const target = request.path ?? "";
    return `${request.verb}${target ? ` ${target}` : ""}`;
  }
  let text = `${request.verb} ${request.resource}${request.group ? `.${request.group}` : ""}`;
  if (request.name !== undefined) text += ` "${request.name}"`;
  if (request.subresource) text += ` (${request.subresource})`;
  if (request.namespace) text += ` in namespace "${request.namespace}"`;
  return text;
}

/** Human words for a Status reason, used when the server gives no message. */
const reasonWords: Record<string, string> = {
  NotFound: "not found",
  AlreadyExists: "already exists",
  Conflict: "conflict",
  Invalid: "invalid",
  Forbidden: "forbidden",
  Unauthorized: "unauthorized",
  Gone: "gone",
  Expired: "expired",
  TooManyRequests: "too many requests",
  InternalError: "internal error",
  ServiceUnavailable: "service unavailable",
  Timeout: "timeout",
  ServerTimeout: "server timeout",
  BadRequest: "bad request",
  MethodNotAllowed: "method not allowed",
  NotAcceptable: "not acceptable",
  UnsupportedMediaType: "unsupported media type",
  RequestEntityTooLarge: "request entity too large",
};

/** Status reason for an HTTP code, for responses that carry no Status body. */
export function reasonForCode(code: number): string {
  switch (code) {
    case 400:
      return "BadRequest";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 405:
      return "MethodNotAllowed";
    case 406:
      return "NotAcceptable";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 413:
      return "RequestEntityTooLarge";
    case 415:
      return "UnsupportedMediaType";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
    default:
      return code >= 500 ? "InternalError" : "Unknown";
  }
}

// The server repeats the subject in its message (`configmaps "foo" is forbidden: ...`); our
// message already starts with a clearer subject, so the repeated part is dropped.
const redundantPrefixes = [
  /^[\w.-]+ "[^"]*" is (?:forbidden|invalid): /,
  /^Operation cannot be fulfilled on [\w.-]+ "[^"]*": /,
  /^[\w.-]+ "[^"]*" (?:not found|already exists)$/,
  /^[\w.-]+ "[^"]*" (?:not found|already exists): /,
];

function conciseServerMessage(message: string): string {
  let text = message.trim();
  for (const prefix of redundantPrefixes) text = text.replace(prefix, "");
  return text;
}

/** Options for constructing a {@link KubeError}. */
export interface KubeErrorInit {
  request: RequestDescription;
  /** HTTP status code; `0` when no response arrived. */
  code?: number;
  status?: Status;
  cause?: unknown;
  /** Message detail when there is no Status (client-side failures). */
  detail?: string;
}

/**
 * Base class of every client error.
 *
 * `code` is the HTTP status (0 when no response arrived), `reason` the Status reason, `status`
 * the API's Status object when the server sent one, `request` what was being done.
 */
export class KubeError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly status: Status | undefined;
  readonly request: RequestDescription;
  /** The server's own message, unmodified. */
  readonly serverMessage: string | undefined;

  constructor(init: KubeErrorInit) {
    const status = init.status;
    const code = init.code ?? status?.code ?? 0;
    const reason = status?.reason || (code ? reasonForCode(code) : "");
    const words = reasonWords[reason] ?? (reason ? reason : "error");
    const detail =
      init.detail ?? (status?.message ? conciseServerMessage(status.message) : undefined);
    let message = `${describeRequest(init.request)}: ${words}`;
    if (detail && detail !== words) message += `: ${detail}`;
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.code = code;
    this.reason = reason;
    this.status = status;
    this.request = init.request;
    this.serverMessage = status?.message;
  }

  /** Field-level causes from the Status, if any. */
  get causes(): StatusCause[] {
    return this.status?.details?.causes ?? [];
  }
}

/** 400: the request was malformed (bad selector, bad patch, bad query parameter). */
export class BadRequestError extends KubeError {}

/** 401: the credentials were missing, wrong or expired. */
export class UnauthorizedError extends KubeError {}

/** 403: the user may not do this (RBAC), or an admission policy refused it. */
export class ForbiddenError extends KubeError {}

/** 404: the object (or the resource type itself) does not exist. */
export class NotFoundError extends KubeError {}

/**
 * The server serves no resource for an `apiVersion` and `kind` (discovery found none): a missing
 * CRD, or a typo. Also a {@link NotFoundError}.
 */
export class UnknownKindError extends NotFoundError {
  readonly apiVersion: string;
  readonly kind: string;
  constructor(init: KubeErrorInit & { apiVersion: string; kind: string }) {
    super(init);
    this.apiVersion = init.apiVersion;
    this.kind = init.kind;
  }
}

/** 409 `AlreadyExists`: create of a name that is taken. */
export class AlreadyExistsError extends KubeError {}

/**
 * 409 `Conflict`: the object changed since it was read (stale `resourceVersion` or a failed
 * delete precondition), or server-side apply conflicts with another field manager.
 */
export class ConflictError extends KubeError {}

/** 410: the requested `resourceVersion` is too old (compacted); re-list and watch again. */
export class GoneError extends KubeError {}

/** 422: the object failed validation; see {@link KubeError.causes} for the fields. */
export class InvalidError extends KubeError {}

/** 429: the server throttled the request (API Priority and Fairness or max in-flight). */
export class TooManyRequestsError extends KubeError {
  /** How long the server asked the client to wait, in seconds. */
  readonly retryAfterSeconds: number | undefined;
  constructor(init: KubeErrorInit & { retryAfterSeconds?: number }) {
    super(init);
    this.retryAfterSeconds = init.retryAfterSeconds ?? init.status?.details?.retryAfterSeconds;
  }
}

/** 5xx (other than 504): the server or an aggregated API failed. */
export class ServerError extends KubeError {
  /** Set when the server sent `Retry-After`. */
  readonly retryAfterSeconds: number | undefined;
  constructor(init: KubeErrorInit & { retryAfterSeconds?: number }) {
    super(init);
    this.retryAfterSeconds = init.retryAfterSeconds ?? init.status?.details?.retryAfterSeconds;
  }
}

/** The request timed out: server-side (504, reason `Timeout`) or the client's own deadline. */
export class TimeoutError extends KubeError {}

/**
 * No usable response: DNS, refused or reset connections, TLS failures, a broken stream.
 * `cause` holds the underlying error.
 */
export class ConnectionError extends KubeError {
  /** The low-level error code, e.g. `ECONNREFUSED`, `UND_ERR_SOCKET`. */
  readonly errorCode: string | undefined;
  constructor(init: KubeErrorInit & { errorCode?: string }) {
    super(init);
    this.errorCode = init.errorCode;
  }
}

/** Parses `Retry-After` (delta seconds or an HTTP date) into seconds. */
export function parseRetryAfter(value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return undefined;
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/**
 * Builds a Status from a failed response body: the body itself when it is a Status, else a
 * synthetic one carrying the (trimmed) body text, as proxies and aggregated APIs may answer with
 * plain text or HTML.
 */
export function statusFromBody(code: number, body: string): Status {
  const text = body.trim();
  if (text.startsWith("{")) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (isStatus(parsed)) return { ...parsed, code: parsed.code || code };
    } catch {
      // Not JSON after all: fall through to the text form.
    }
  }
  const message = text.length > 512 ? `${text.slice(0, 512)}...` : text;
  return {
    kind: "Status",
    apiVersion: "v1",
    status: "Failure",
    code,
    reason: reasonForCode(code),
    message: message || undefined,
  };
}

/**
 * The typed error for a failure Status (from a response or a watch `ERROR` event).
 *
 * @example
 * const err = errorFromStatus(
 *   { kind: "Status", apiVersion: "v1", code: 404, reason: "NotFound", message: 'configmaps "a" not found' },
 *   { verb: "get", resource: "configmaps", name: "a", namespace: "ns" },
 * );
 * err instanceof NotFoundError; // true
 * err.message; // 'get configmaps "a" in namespace "ns": not found'
 */
export function errorFromStatus(
  status: Status,
  request: RequestDescription,
  headers?: { retryAfter?: string | string[] | undefined },
): KubeError {
  const code = status.code ?? 0;
  const init: KubeErrorInit = { request, code, status };
  const retryAfterSeconds =
    parseRetryAfter(headers?.retryAfter) ?? status.details?.retryAfterSeconds;
  switch (status.reason) {
    case "NotFound":
      return new NotFoundError(init);
    case "AlreadyExists":
      return new AlreadyExistsError(init);
    case "Conflict":
      return new ConflictError(init);
    case "Invalid":
      return new InvalidError(init);
    case "Forbidden":
      return new ForbiddenError(init);
    case "Unauthorized":
      return new UnauthorizedError(init);
    case "Gone":
    case "Expired":
      return new GoneError(init);
    case "TooManyRequests":
      return new TooManyRequestsError({ ...init, retryAfterSeconds });
    case "Timeout":
    case "ServerTimeout":
      return new TimeoutError(init);
    case "BadRequest":
      return new BadRequestError(init);
  }
  switch (code) {
    case 400:
      return new BadRequestError(init);
    case 401:
      return new UnauthorizedError(init);
    case 403:
      return new ForbiddenError(init);
    case 404:
      return new NotFoundError(init);
    case 409:
      return new ConflictError(init);
    case 410:
      return new GoneError(init);
    case 422:
      return new InvalidError(init);
    case 429:
      return new TooManyRequestsError({ ...init, retryAfterSeconds });
    case 504:
      return new TimeoutError(init);
  }
  if (code >= 500) return new ServerError({ ...init, retryAfterSeconds });
  return new KubeError(init);
}

/** Whether the error is a 404 Not Found. */
export function isNotFound(err: unknown): err is NotFoundError {
  return err instanceof NotFoundError;
}
/** Whether the error is a 409 AlreadyExists. */
export function isAlreadyExists(err: unknown): err is AlreadyExistsError {
  return err instanceof AlreadyExistsError;
}
/** Whether the error is a 409 Conflict (stale resourceVersion, failed precondition, apply conflict). */
export function isConflict(err: unknown): err is ConflictError {
  return err instanceof ConflictError;
}
/** Whether the error is a 422 Invalid. */
export function isInvalid(err: unknown): err is InvalidError {
  return err instanceof InvalidError;
}
/** Whether the error is a 403 Forbidden. */
export function isForbidden(err: unknown): err is ForbiddenError {
  return err instanceof ForbiddenError;
}
/** Whether the error is a 401 Unauthorized. */
export function isUnauthorized(err: unknown): err is UnauthorizedError {
  return err instanceof UnauthorizedError;
}
/** Whether the error is a 410 Gone / Expired (re-list needed). */
export function isGone(err: unknown): err is GoneError {
  return err instanceof GoneError;
}
/** Whether the error is a 429 Too Many Requests. */
export function isTooManyRequests(err: unknown): err is TooManyRequestsError {
  return err instanceof TooManyRequestsError;
}
/** Whether the error is a 5xx server failure (not including timeouts). */
export function isServerError(err: unknown): err is ServerError {
  return err instanceof ServerError;
}
/** Whether the error is a server or client timeout. */
export function isTimeout(err: unknown): err is TimeoutError {
  return err instanceof TimeoutError;
}
/** Whether the error is a network-level failure with no usable response. */
export function isConnectionError(err: unknown): err is ConnectionError {
  return err instanceof ConnectionError;
}

/**
 * Rethrows anything but a Not Found error, so a missing object reads as `undefined`.
 *
 * @example
 * await client.delete(ConfigMap, "gone", { namespace: "ns" }).catch(ignoreNotFound);
 * const cm = await client.get(ConfigMap, "maybe", { namespace: "ns" }).catch(ignoreNotFound);
 */
export function ignoreNotFound(err: unknown): undefined {
  if (isNotFound(err)) return undefined;
  throw err;
}

/** Rethrows anything but an AlreadyExists error. */
export function ignoreAlreadyExists(err: unknown): undefined {
  if (isAlreadyExists(err)) return undefined;
  throw err;
}

/**
 * A kubeconfig (or in-cluster configuration) problem, found while loading. The message names the
 * file and the entry.
 */
export class KubeConfigError extends Error {
  /** The file at fault, when there is one. */
  readonly file: string | undefined;
  constructor(message: string, options: { file?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "KubeConfigError";
    this.file = options.file;
  }
}

/** Credentials could not be obtained: an exec plugin failed, a token file is unreadable. */
export class CredentialError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "CredentialError";
  }
}
