/**
 * One API call from start to finish: admission (in-flight bound and optional rate limit), the
 * HTTP exchange, decoding, typed errors, retries with backoff, re-authentication after 401, and
 * the metrics hook.
 *
 * Retry policy, chosen so that a retried call can never apply a change twice:
 * - every call is retried on 429 (the server refused it before doing anything), honouring
 *   `Retry-After`, and on connection failures that happen before the request is sent
 *   (refused, unreachable, connect timeout);
 * - calls marked `replaySafe` (reads, server-side apply) are also retried on other connection
 *   failures and on 5xx responses that carry `Retry-After`;
 * - a 401 is retried once when the auth provider has fresh credentials.
 */
import { promisify } from "node:util";
import { gunzip as gunzipCallback } from "node:zlib";
import { TokenBucket } from "../common/token-bucket.ts";
import type { Connection, SendResult } from "./connection.ts";
import {
  ConnectionError,
  CredentialError,
  errorFromStatus,
  KubeError,
  type RequestDescription,
  type ServerError,
  statusFromBody,
  TimeoutError,
  TooManyRequestsError,
  UnauthorizedError,
} from "./errors.ts";
import { type QueryValue, queryString } from "./paths.ts";
import { Semaphore, sleep } from "./rate-limit.ts";

const gunzip = promisify(gunzipCallback);

/** One finished HTTP exchange, reported to {@link ClientMetrics.request}. */
export interface RequestMetric {
  /** Kubernetes verb (`get`, `list`, `watch`, `create`, `apply`, ...). */
  verb: string;
  /** Plural resource, `""` for non-resource paths such as discovery. */
  resource: string;
  /** API group, `""` for the core group. */
  group: string;
  subresource: string;
  /** HTTP method. */
  method: string;
  /** `host:port` of the API server. */
  host: string;
  /** HTTP status code; `0` when no response arrived (connection failure, timeout, abort). */
  code: number;
  /** Time until the response was read (until headers for watches). */
  durationSeconds: number;
}

/** A watch that started or ended, reported to {@link ClientMetrics}. */
export interface WatchMetric {
  resource: string;
  group: string;
  host: string;
}

/**
 * Hooks for request metrics, e.g. to feed `rest_client_requests_total{code,method,host}` and
 * `rest_client_request_duration_seconds{verb,host}`. Hooks must not throw or block.
 *
 * @example
 * const metrics: ClientMetrics = {
 *   request: (m) => requests.inc({ code: String(m.code), method: m.method, host: m.host }),
 *   watchOpened: () => watches.inc(),
 * };
 */
export interface ClientMetrics {
  request?(metric: RequestMetric): void;
  watchOpened?(metric: WatchMetric): void;
  watchClosed?(metric: WatchMetric & { durationSeconds: number; events: number }): void;
}

/** Options of requests: deadlines, retries, rate limits, metrics (client options). */
export interface RequesterOptions {
  /** Most non-watch requests in flight at once; default 64. Further calls wait their turn. */
  maxInFlight?: number;
  /**
   * Client-side rate limit in requests per second (token bucket); default none. The API server's
   * Priority and Fairness already throttles fairly, and 429 answers are retried.
   */
  qps?: number;
  /** Bucket size for `qps`; default `max(1, ceil(qps))`. */
  burst?: number;
  /** Most retries of one call; default 5. */
  maxRetries?: number;
  /** Deadline of each attempt of a non-watch request; default 2 minutes. */
  timeoutMs?: number;
  metrics?: ClientMetrics;
}

/** A call to the API. */
export interface ApiRequest {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Path without query, e.g. `/api/v1/namespaces/ns/configmaps`. */
  path: string;
  query?: Record<string, QueryValue>;
  /** A value to send as JSON, or text already encoded. */
  body?: unknown;
  /** Defaults to `application/json` when there is a body. */
  contentType?: string;
  /**
   * The `Accept` header; default `application/json`. Metadata-only reads ask for
   * `PartialObjectMetadata` this way (see `metadataAccept` in `paths.ts`).
   */
  accept?: string;
  /** What the call is, for messages and metrics. */
  describe: RequestDescription;
  /** Reads and server-side apply: safe to send again after an unclear failure. */
  replaySafe: boolean;
  signal?: AbortSignal;
  /** Overrides {@link RequesterOptions.timeoutMs} for this call. */
  timeoutMs?: number;
}

const connectPhaseCodes = new Set([
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "UND_ERR_CONNECT_TIMEOUT",
]);

const tlsTrustCodes = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_GET_ISSUER_CERT",
  "CERT_UNTRUSTED",
]);

function errorCode(err: unknown): string | undefined {
  let current: unknown = err;
  // undici wraps socket errors; the useful code may sit one or two causes down.
  for (let depth = 0; depth < 4 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && code !== "UND_ERR_SOCKET") return code;
    current = (current as { cause?: unknown }).cause;
  }
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * Turns a transport failure into a typed error with a useful message.
 * @internal exported for tests
 */
export function transportError(
  err: unknown,
  describe: RequestDescription,
  source: string,
): KubeError | CredentialError {
  if (err instanceof KubeError || err instanceof CredentialError) return err;
  const code = errorCode(err);
  const message = (err as Error)?.message ?? String(err);
  const server = describe.server ?? "the API server";
  if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT") {
    return new TimeoutError({
      request: describe,
      cause: err,
      detail: `no response from ${server} in time (${code})`,
    });
  }
  let detail = `cannot reach ${server}: ${message}${code && !message.includes(code) ? ` (${code})` : ""}`;
  if (code && tlsTrustCodes.has(code)) {
    detail += `; the server certificate is not trusted: set certificate-authority or certificate-authority-data for the cluster (${source})`;
  } else if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
    detail += `; the server certificate does not name this host: check the server URL or set tls-server-name (${source})`;
  } else if (code === "CERT_HAS_EXPIRED") {
    detail += "; the server certificate has expired";
  }
  return new ConnectionError({
    request: describe,
    cause: err,
    detail,
    ...(code ? { errorCode: code } : {}),
  });
}

/** Whether a transport failure surely happened before the request left this process. */
function failedBeforeSending(err: KubeError | CredentialError): boolean {
  return (
    err instanceof ConnectionError &&
    err.errorCode !== undefined &&
    connectPhaseCodes.has(err.errorCode)
  );
}

/**
 * How long to wait before retry number `attempt` (0-based) of a failed call, or `undefined`
 * when the failure should not be retried.
 * @internal exported for tests
 */
export function retryDelayMs(
  err: unknown,
  attempt: number,
  options: { replaySafe: boolean; maxRetries: number; random?: () => number },
): number | undefined {
  if (attempt >= options.maxRetries) return undefined;
  const random = options.random ?? Math.random;
  // Exponential backoff with jitter: 200 ms, 400 ms, ... up to 10 s.
  const backoff = Math.min(10_000, 200 * 2 ** attempt) * (0.5 + random() / 2);
  const honour = (seconds: number | undefined) =>
    seconds !== undefined && seconds > 0 ? Math.min(seconds, 60) * 1000 : backoff;
  if (err instanceof TooManyRequestsError) return honour(err.retryAfterSeconds);
  if (err instanceof ConnectionError) {
    if (options.replaySafe || failedBeforeSending(err)) return backoff;
    return undefined;
  }
  if (options.replaySafe && err instanceof KubeError && err.code >= 500) {
    const retryAfter = (err as ServerError).retryAfterSeconds;
    if (retryAfter !== undefined) return honour(retryAfter);
  }
  return undefined;
}

function isAbortError(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/**
 * Sends API calls over a {@link Connection} with admission control, retries and typed errors.
 * The verbs facade (`KubeClient`) and discovery are built on it.
 */
export class Requester {
  readonly connection: Connection;
  readonly metrics: ClientMetrics | undefined;
  readonly #inFlight: Semaphore;
  readonly #bucket: TokenBucket | undefined;
  readonly #maxRetries: number;
  readonly #timeoutMs: number;
  readonly #host: string;

  constructor(connection: Connection, options: RequesterOptions = {}) {
    this.connection = connection;
    this.metrics = options.metrics;
    this.#inFlight = new Semaphore(options.maxInFlight ?? 64);
    this.#bucket =
      options.qps !== undefined && options.qps > 0
        ? new TokenBucket({ qps: options.qps, ...(options.burst ? { burst: options.burst } : {}) })
        : undefined;
    this.#maxRetries = options.maxRetries ?? 5;
    this.#timeoutMs = options.timeoutMs ?? 120_000;
    this.#host = new URL(connection.origin).host;
  }

  /** Requests in flight and waiting for a slot. */
  get inFlight(): { active: number; waiting: number; limit: number } {
    return {
      active: this.#inFlight.active,
      waiting: this.#inFlight.waiting,
      limit: this.#inFlight.limit,
    };
  }

  #describe(request: ApiRequest): RequestDescription {
    return {
      ...request.describe,
      method: request.method,
      path: request.path,
      server: this.connection.cluster.server,
    };
  }

  #report(request: ApiRequest, code: number, started: number): void {
    const hook = this.metrics?.request;
    if (!hook) return;
    try {
      hook({
        verb: request.describe.verb,
        resource: request.describe.resource ?? "",
        group: request.describe.group ?? "",
        subresource: request.describe.subresource ?? "",
        method: request.method,
        host: this.#host,
        code,
        durationSeconds: (performance.now() - started) / 1000,
      });
    } catch {
      // A metrics hook must never fail a request.
    }
  }

  /** Runs `attempt` with retries; `attempt` returns a result or throws a typed error. */
  async #withRetries<T>(
    request: ApiRequest,
    attempt: (describe: RequestDescription, reauthenticated: boolean) => Promise<T>,
  ): Promise<T> {
    const describe = this.#describe(request);
    let reauthenticated = false;
    for (let retry = 0; ; retry++) {
      try {
        return await attempt(describe, reauthenticated);
      } catch (err) {
        if (err instanceof ReauthenticateSignal) {
          reauthenticated = true;
          retry--;
          continue;
        }
        if (isAbortError(request.signal)) throw request.signal!.reason ?? err;
        const delay = retryDelayMs(err, retry, {
          replaySafe: request.replaySafe,
          maxRetries: this.#maxRetries,
        });
        if (delay === undefined) throw err;
        await sleep(delay, request.signal);
      }
    }
  }

  async #exchange(
    request: ApiRequest,
    describe: RequestDescription,
    reauthenticated: boolean,
    options: {
      accept: string;
      gzip: boolean;
      signal: AbortSignal | undefined;
      headersTimeoutMs?: number;
      bodyTimeoutMs?: number;
    },
  ): Promise<{ result: SendResult; started: number }> {
    await this.#bucket?.take(request.signal);
    const headers: Record<string, string> = { accept: options.accept };
    if (options.gzip) headers["accept-encoding"] = "gzip";
    let body: string | Buffer | undefined;
    if (request.body !== undefined) {
      body =
        typeof request.body === "string" || Buffer.isBuffer(request.body)
          ? request.body
          : JSON.stringify(request.body);
      headers["content-type"] = request.contentType ?? "application/json";
    }
    const started = performance.now();
    let result: SendResult;
    try {
      result = await this.connection.send({
        method: request.method,
        path: request.path + queryString(request.query),
        headers,
        ...(body !== undefined ? { body } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.headersTimeoutMs !== undefined
          ? { headersTimeoutMs: options.headersTimeoutMs }
          : {}),
        ...(options.bodyTimeoutMs !== undefined ? { bodyTimeoutMs: options.bodyTimeoutMs } : {}),
        idempotent: request.method === "GET",
      });
    } catch (err) {
      this.#report(request, 0, started);
      throw err;
    }
    if (result.statusCode === 401 && !reauthenticated) {
      // Read the body (so the socket can be reused), then ask for fresh credentials.
      const text = (await readBody(result).catch(() => Buffer.alloc(0))).toString("utf8");
      this.#report(request, 401, started);
      if (await this.connection.cluster.auth.refresh(result.credentials).catch(() => false)) {
        throw new ReauthenticateSignal();
      }
      throw this.#responseError(401, text, describe, result);
    }
    return { result, started };
  }

  #responseError(
    code: number,
    text: string,
    describe: RequestDescription,
    result: SendResult,
  ): KubeError {
    const status = statusFromBody(code, text);
    if (code === 401) {
      // "Unauthorized" alone does not say which credentials to fix.
      return new UnauthorizedError({
        request: describe,
        code,
        status,
        detail: `${status.message ?? "Unauthorized"} (credentials: ${this.connection.cluster.auth.description})`,
      });
    }
    return errorFromStatus(status, describe, { retryAfter: result.headers["retry-after"] });
  }

  /**
   * The signal one attempt runs under: the caller's, plus the attempt's deadline. A plain timer
   * and listener, released by `dispose()` when the attempt ends: `AbortSignal.timeout` and
   * `AbortSignal.any` would keep a timer and a signal alive per request until the deadline.
   */
  #deadline(request: ApiRequest): {
    signal: AbortSignal;
    timedOut: () => boolean;
    ms: number;
    dispose: () => void;
  } {
    const ms = request.timeoutMs ?? this.#timeoutMs;
    const controller = new AbortController();
    let expired = false;
    const timer = setTimeout(() => {
      expired = true;
      controller.abort(new DOMException("the request timed out", "TimeoutError"));
    }, ms);
    timer.unref();
    const forward = () => controller.abort(request.signal?.reason);
    if (request.signal?.aborted) forward();
    else request.signal?.addEventListener("abort", forward, { once: true });
    return {
      signal: controller.signal,
      timedOut: () => expired && !request.signal?.aborted,
      ms,
      dispose: () => {
        clearTimeout(timer);
        request.signal?.removeEventListener("abort", forward);
      },
    };
  }

  /**
   * Sends a call and decodes the JSON response (undefined for an empty body).
   * Failures are typed {@link KubeError}s.
   */
  async json<T>(request: ApiRequest): Promise<T> {
    const gzip = !this.connection.cluster.disableCompression;
    return this.#withRetries(request, async (describe, reauthenticated) => {
      const release = await this.#inFlight.acquire(request.signal);
      const deadline = this.#deadline(request);
      let started = performance.now();
      try {
        const exchanged = await this.#exchange(request, describe, reauthenticated, {
          accept: request.accept ?? "application/json",
          gzip,
          signal: deadline.signal,
        });
        started = exchanged.started;
        const { result } = exchanged;
        let raw: Buffer;
        try {
          raw = await readBody(result);
        } catch (err) {
          this.#report(request, 0, started);
          throw err;
        }
        this.#report(request, result.statusCode, started);
        // undici hands a keep-alive socket back to the pool one event-loop turn after the
        // response ends; continuing before that makes the next request open a new socket.
        await new Promise((resolve) => setImmediate(resolve));
        const text = raw.toString("utf8");
        if (result.statusCode < 200 || result.statusCode >= 300) {
          throw this.#responseError(result.statusCode, text, describe, result);
        }
        if (text.length === 0) return undefined as T;
        try {
          return JSON.parse(text) as T;
        } catch (err) {
          throw new KubeError({
            request: describe,
            code: result.statusCode,
            cause: err,
            detail: `the response is not JSON: ${text.slice(0, 200)}`,
          });
        }
      } catch (err) {
        if (err instanceof ReauthenticateSignal || err instanceof KubeError) throw err;
        if (request.signal?.aborted) throw request.signal.reason ?? err;
        if (deadline.timedOut()) {
          throw new TimeoutError({
            request: describe,
            cause: err,
            detail: `no response within ${deadline.ms / 1000}s`,
          });
        }
        throw transportError(err, describe, this.connection.cluster.source);
      } finally {
        deadline.dispose();
        release();
      }
    });
  }

  /**
   * Opens a streaming response (a watch). Resolves once a 2xx response's headers arrive; the
   * body has no inactivity deadline, so a quiet but healthy watch is never cut. Not counted
   * against the in-flight limit, since a watch lasts for minutes.
   */
  async stream(request: ApiRequest): Promise<SendResult> {
    return this.#withRetries(request, async (describe, reauthenticated) => {
      let started = performance.now();
      try {
        const exchanged = await this.#exchange(request, describe, reauthenticated, {
          accept: request.accept ?? "application/json",
          gzip: false,
          signal: request.signal,
          headersTimeoutMs: request.timeoutMs ?? this.#timeoutMs,
          bodyTimeoutMs: 0,
        });
        started = exchanged.started;
        const { result } = exchanged;
        if (result.statusCode < 200 || result.statusCode >= 300) {
          const text = (await readBody(result)).toString("utf8");
          this.#report(request, result.statusCode, started);
          throw this.#responseError(result.statusCode, text, describe, result);
        }
        this.#report(request, result.statusCode, started);
        return result;
      } catch (err) {
        if (err instanceof ReauthenticateSignal || err instanceof KubeError) throw err;
        if (request.signal?.aborted) throw request.signal.reason ?? err;
        throw transportError(err, describe, this.connection.cluster.source);
      }
    });
  }
}

/** Internal: the attempt got a 401 and fresh credentials are available; run it again. */
class ReauthenticateSignal extends Error {}

async function readBody(result: SendResult): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of result.body) chunks.push(chunk as Buffer);
  const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  const encoding = result.headers["content-encoding"];
  if (encoding === "gzip") return gunzip(raw);
  return raw;
}
