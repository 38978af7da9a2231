/**
 * Runs one webhook's handler for one admission request and turns whatever happens into an
 * `AdmissionResponse`: a decision, a denial (also for a handler that throws), or a JSON patch for
 * a mutation. Has no HTTP in it, so every outcome is unit-tested directly.
 *
 * A handler that outlives its deadline is abandoned (`AdmissionAbandoned`) rather than denied: the
 * server then answers with an HTTP error, which the API server treats as a failed call, so the
 * webhook's `failurePolicy` decides, as it would had the API server timed out first.
 *
 * @module
 */

import { isRecord } from "../common/json.ts";
import { type Logger, silentLogger } from "../logger.ts";
import { groupOf, type KubeObject, versionOf } from "../resources/object.ts";
import { isDenied } from "./denied.ts";
import { createJsonPatch } from "./json-patch.ts";
import type { WebhookFailureReason } from "./metrics.ts";
import { allowedResponse, deniedResponse } from "./review.ts";
import type {
  AdmissionContext,
  AdmissionContextBase,
  AdmissionRequest,
  AdmissionResponse,
  CacheReader,
  FieldCause,
} from "./types.ts";
import type { Webhook } from "./webhook.ts";

/** Options of {@link admit}. */
export interface AdmitOptions {
  /** Cancels the call from outside (the client hung up, the server is closing). */
  signal?: AbortSignal;
  /** Deadline for the handler; default the webhook's `timeoutSeconds`. */
  timeoutMs?: number;
  logger?: Logger;
  /** What `ctx.cache` reads from; without it, `ctx.cache` throws. */
  cache?: CacheReader;
  /** Told when the request is not answered with the handler's decision (for metrics). */
  onFailure?: (reason: WebhookFailureReason) => void;
}

/** The cache of a webhook served without one: every read says how to get one. */
const noCache: CacheReader = {
  get: () => Promise.reject(new Error(noCacheMessage)),
  list: () => Promise.reject(new Error(noCacheMessage)),
};
const noCacheMessage =
  "this webhook is served without a cache: serve it with a Manager (manager.add(webhook)) or give the WebhookServer a cache";

/**
 * The handler did not produce an answer that is still wanted: it outlived its deadline, or the
 * call was cancelled. Not a decision: the server answers with `httpStatus` and the API server
 * applies the webhook's failure policy.
 */
export class AdmissionAbandoned extends Error {
  readonly httpStatus: number;

  constructor(message: string, httpStatus: number) {
    super(message);
    this.name = "AdmissionAbandoned";
    this.httpStatus = httpStatus;
  }
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

/** A JSON value as it will be sent: drops `undefined` members, turns Dates into strings. */
function asSent(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}

function causesOf(value: unknown): FieldCause[] {
  if (!Array.isArray(value)) return [];
  return value.filter(isRecord).map((cause) => ({
    field: String(cause.field ?? ""),
    message: String(cause.message ?? ""),
    ...(typeof cause.reason === "string" ? { reason: cause.reason } : {}),
  }));
}

/**
 * Why the webhook must not judge this request, or undefined when it may: the object is of a kind
 * it was not declared for (a configuration whose rules are wider than the declaration, or a
 * request routed to the wrong path). Subresources and CONNECT carry other kinds (`Scale`,
 * `PodExecOptions`) by design and are not checked.
 */
export function unexpectedKind(webhook: Webhook, request: AdmissionRequest): string | undefined {
  if (request.subResource || request.operation === "CONNECT") return undefined;
  const expected = {
    group: groupOf(webhook.type.apiVersion),
    version: versionOf(webhook.type.apiVersion),
    kind: webhook.type.kind,
  };
  const got = request.kind;
  if (
    got?.group === expected.group &&
    got.version === expected.version &&
    got.kind === expected.kind
  ) {
    return undefined;
  }
  const show = (k: { group?: string; version?: string; kind?: string } | undefined) =>
    `${k?.group ? `${k.group}/` : ""}${k?.version ?? "?"} ${k?.kind ?? "?"}`;
  return `webhook "${webhook.name}" handles ${show(expected)}, but the request is for ${show(got)}; check the rules of its configuration`;
}

function buildContext(
  request: AdmissionRequest,
  object: unknown,
  signal: AbortSignal,
  warnings: string[],
  cache: CacheReader,
): AdmissionContext<KubeObject> {
  const operation = request.operation;
  const base: AdmissionContextBase = {
    userInfo: request.userInfo ?? {},
    dryRun: request.dryRun === true,
    name: request.name ?? "",
    namespace: request.namespace || undefined,
    request,
    signal,
    warn: (message) => {
      warnings.push(String(message));
    },
    cache,
  };
  const hasObject = operation === "CREATE" || operation === "UPDATE";
  const hasOldObject = operation === "UPDATE" || operation === "DELETE";
  // The API server sends `null` for absent objects; handlers see `undefined` only.
  return {
    ...base,
    operation,
    object: hasObject ? (object ?? undefined) : undefined,
    oldObject: hasOldObject ? (request.oldObject ?? undefined) : undefined,
  } as AdmissionContext<KubeObject>;
}

async function decide(
  webhook: Webhook,
  request: AdmissionRequest,
  signal: AbortSignal,
  warnings: string[],
  cache: CacheReader,
): Promise<AdmissionResponse> {
  if (webhook.admission === "validating") {
    const context = buildContext(request, request.object, signal, warnings, cache);
    const result: unknown = await webhook.validate(context);
    if (result === undefined) return allowedResponse(request.uid, { warnings });
    if (!isRecord(result) || typeof result.allowed !== "boolean") {
      throw new TypeError(
        `validate returned ${JSON.stringify(result)}; expected nothing, { allowed: true } or { allowed: false, reason }`,
      );
    }
    if (Array.isArray(result.warnings)) warnings.push(...result.warnings.map(String));
    if (result.allowed) return allowedResponse(request.uid, { warnings });
    const reason =
      typeof result.reason === "string" && result.reason
        ? result.reason
        : "denied without a reason";
    const code = typeof result.code === "number" ? result.code : undefined;
    return deniedResponse(request.uid, reason, { code, warnings, causes: causesOf(result.causes) });
  }

  // Mutating: the handler works on its own copy; the original is kept to diff against.
  const original = request.object;
  const copy = isRecord(original) ? structuredClone(original) : undefined;
  const context = buildContext(request, copy, signal, warnings, cache);
  const result: unknown = await webhook.mutate(context);
  // DELETE and CONNECT carry no object to patch; the handler ran only to refuse or warn.
  if (context.object === undefined) return allowedResponse(request.uid, { warnings });
  const mutated = result === undefined ? copy : result;
  if (!isRecord(mutated)) {
    throw new TypeError(`mutate returned ${JSON.stringify(result)}; expected the (changed) object`);
  }
  const patch = createJsonPatch(original, asSent(mutated));
  return allowedResponse(request.uid, { warnings, patch });
}

/**
 * Runs `webhook`'s handler for `request` and returns the response to send:
 * - the handler's decision, with its warnings (and a JSON patch for a mutation);
 * - a denial with the handler's reason and code when it throws `Denied`;
 * - a denial with code 500 naming the webhook and the error when it throws anything else (logged),
 *   or, with `failurePolicy: "Ignore"`, an allowed response with that message as a warning;
 * - a denial with code 400 when the object is not of the webhook's kind (the handler is not run);
 *
 * and throws {@link AdmissionAbandoned} when the deadline passes or `signal` aborts first. The
 * handler's own `signal` aborts then, and also once the answer is sent, so work it started and
 * tied to the signal never outlives the request.
 *
 * @example
 * const response = await admit(requireOwner, request, { timeoutMs: 5_000 });
 * // { uid: request.uid, allowed: false, status: { code: 403, message: "data.owner is required", ... } }
 */
export async function admit(
  webhook: Webhook,
  request: AdmissionRequest,
  options: AdmitOptions = {},
): Promise<AdmissionResponse> {
  const logger = options.logger ?? silentLogger;
  const timeoutMs = options.timeoutMs ?? webhook.timeoutSeconds * 1000;
  const fields = {
    webhook: webhook.name,
    uid: request.uid,
    operation: request.operation,
    kind: request.kind?.kind,
    namespace: request.namespace,
    name: request.name,
    dryRun: request.dryRun === true,
  };

  const failed = options.onFailure ?? (() => {});
  const external = options.signal;
  if (external?.aborted) {
    failed("cancelled");
    throw new AdmissionAbandoned(`webhook "${webhook.name}": the request was cancelled`, 503);
  }
  const wrongKind = unexpectedKind(webhook, request);
  if (wrongKind) {
    failed("unknown_kind");
    logger.warn(fields, wrongKind);
    return deniedResponse(request.uid, wrongKind, { code: 400 });
  }
  const controller = new AbortController();
  const cancel = () => controller.abort(external?.reason);
  external?.addEventListener("abort", cancel, { once: true });

  let timer: NodeJS.Timeout | undefined;
  const stopped = new Promise<never>((_, reject) => {
    const abandon = () =>
      reject(new AdmissionAbandoned(`webhook "${webhook.name}": the request was cancelled`, 503));
    controller.signal.addEventListener("abort", abandon, { once: true });
    timer = setTimeout(() => {
      reject(
        new AdmissionAbandoned(
          `webhook "${webhook.name}" did not answer within ${timeoutMs / 1000}s`,
          504,
        ),
      );
      controller.abort(new DOMException("the webhook's deadline passed", "TimeoutError"));
    }, timeoutMs);
  });

  const warnings: string[] = [];
  try {
    const response = await Promise.race([
      decide(webhook, request, controller.signal, warnings, options.cache ?? noCache),
      stopped,
    ]);
    logger.debug(
      { ...fields, allowed: response.allowed, patched: Boolean(response.patch) },
      "admission decided",
    );
    return response;
  } catch (error) {
    if (error instanceof AdmissionAbandoned) {
      failed(error.httpStatus === 504 ? "timeout" : "cancelled");
      logger.warn({ ...fields, timeoutMs }, error.message);
      throw error;
    }
    if (isDenied(error)) {
      warnings.push(...error.warnings);
      logger.debug({ ...fields, reason: error.reason }, "admission denied");
      return deniedResponse(request.uid, error.reason, {
        code: error.code,
        warnings,
        causes: causesOf(error.causes),
      });
    }
    failed("handler_error");
    const message = `internal error in webhook "${webhook.name}": ${errorMessage(error)}`;
    if (webhook.failurePolicy === "Ignore") {
      // The webhook asked to be ignored when it fails, as the API server does when it cannot be
      // called: let the request through, and tell the client why nothing was checked.
      logger.error(
        { ...fields, err: error },
        "webhook handler failed; allowed (failurePolicy Ignore)",
      );
      return allowedResponse(request.uid, {
        warnings: [...warnings, `${message} (ignored: failurePolicy is Ignore)`],
      });
    }
    logger.error({ ...fields, err: error }, "webhook handler failed");
    return deniedResponse(request.uid, message, { code: 500, warnings });
  } finally {
    clearTimeout(timer);
    external?.removeEventListener("abort", cancel);
    if (!controller.signal.aborted) {
      controller.abort(new DOMException("the admission request is finished", "AbortError"));
    }
  }
}
