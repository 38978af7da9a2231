/**
 * The `AdmissionReview` v1 envelope: checking what the API server sent and building what goes
 * back. Kept apart from the HTTP server so the wire format is tested without sockets.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { isRecord } from "../common/json.ts";
import type { JsonPatchOperation } from "./json-patch.ts";
import type {
  AdmissionOperation,
  AdmissionRequest,
  AdmissionResponse,
  AdmissionReview,
  FieldCause,
} from "./types.ts";

/** The only `AdmissionReview` version this server speaks. */
export const admissionReviewApiVersion = "admission.k8s.io/v1";

/** A body that is not a usable AdmissionReview request: answered with HTTP 400. */
export class InvalidAdmissionReview extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidAdmissionReview";
  }
}

const operations: ReadonlySet<string> = new Set(["CREATE", "UPDATE", "DELETE", "CONNECT"]);

/**
 * Checks a parsed request body and returns its `request`. Throws {@link InvalidAdmissionReview}
 * naming what is wrong; only the fields the handlers rely on are checked, the rest is passed
 * through as sent.
 *
 * @example
 * const request = decodeAdmissionReview(JSON.parse(body));
 * request.uid; // echo in the response
 */
export function decodeAdmissionReview(body: unknown): AdmissionRequest {
  if (!isRecord(body)) throw new InvalidAdmissionReview("the body is not a JSON object");
  if (body.kind !== "AdmissionReview") {
    throw new InvalidAdmissionReview(
      `expected kind AdmissionReview, got ${JSON.stringify(body.kind)}`,
    );
  }
  if (body.apiVersion !== admissionReviewApiVersion) {
    // A configuration listing only v1 never gets another version; v1beta1 means a stale config.
    throw new InvalidAdmissionReview(
      `unsupported AdmissionReview version ${JSON.stringify(body.apiVersion)}; this server speaks ${admissionReviewApiVersion} (set admissionReviewVersions: ["v1"])`,
    );
  }
  const request = body.request;
  if (!isRecord(request)) throw new InvalidAdmissionReview("the AdmissionReview has no request");
  if (typeof request.uid !== "string" || request.uid === "") {
    throw new InvalidAdmissionReview("the AdmissionReview request has no uid");
  }
  if (typeof request.operation !== "string" || !operations.has(request.operation)) {
    throw new InvalidAdmissionReview(
      `unknown admission operation ${JSON.stringify(request.operation)}`,
    );
  }
  if (!isRecord(request.kind) || typeof request.kind.kind !== "string") {
    throw new InvalidAdmissionReview("the AdmissionReview request has no kind");
  }
  return {
    ...(request as unknown as AdmissionRequest),
    operation: request.operation as AdmissionOperation,
    userInfo: isRecord(request.userInfo) ? (request.userInfo as AdmissionRequest["userInfo"]) : {},
  };
}

/**
 * Wraps a response in its AdmissionReview envelope.
 *
 * @example
 * encodeAdmissionReview({ uid: request.uid, allowed: true });
 * // { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response: { uid, allowed: true } }
 */
export function encodeAdmissionReview(response: AdmissionResponse): AdmissionReview {
  return { apiVersion: admissionReviewApiVersion, kind: "AdmissionReview", response };
}

/** The CamelCase `metav1.StatusReason` for the codes a denial commonly uses. */
const statusReasons: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  405: "MethodNotAllowed",
  409: "Conflict",
  410: "Gone",
  422: "Invalid",
  429: "TooManyRequests",
  500: "InternalError",
  503: "ServiceUnavailable",
  504: "Timeout",
};

function withWarnings(response: AdmissionResponse, warnings: readonly string[]): AdmissionResponse {
  if (warnings.length > 0) response.warnings = [...warnings];
  return response;
}

/** An allowing response, with a JSON patch when `patch` has operations. */
export function allowedResponse(
  uid: string,
  options: { warnings?: readonly string[]; patch?: readonly JsonPatchOperation[] } = {},
): AdmissionResponse {
  const response: AdmissionResponse = { uid, allowed: true };
  if (options.patch && options.patch.length > 0) {
    response.patchType = "JSONPatch";
    response.patch = Buffer.from(JSON.stringify(options.patch)).toString("base64");
  }
  return withWarnings(response, options.warnings ?? []);
}

/**
 * The message a client sees for a denial: the reason, then each field at fault, as the API
 * server words its own validation errors (`spec.replicas: must be at most 10`).
 */
export function denialMessage(reason: string, causes: readonly FieldCause[] = []): string {
  if (causes.length === 0) return reason;
  const fields = causes.map((cause) => `${cause.field}: ${cause.message}`).join(", ");
  return reason ? `${reason}: ${fields}` : fields;
}

/**
 * A refusing response. The API server shows `message` to the client after
 * `admission webhook "<name>" denied the request: ` and answers with `code` (default 403); the
 * causes are listed in the message and sent as the Status' details. (With 422, Invalid, kubectl
 * would print only the causes and drop the message: 403 keeps what the webhook said in view.)
 */
export function deniedResponse(
  uid: string,
  message: string,
  options: { code?: number; warnings?: readonly string[]; causes?: readonly FieldCause[] } = {},
): AdmissionResponse {
  const causes = options.causes ?? [];
  const code = options.code ?? 403;
  const status: AdmissionResponse["status"] = {
    status: "Failure",
    code,
    message: denialMessage(message, causes),
  };
  const reason = statusReasons[code];
  if (reason) status.reason = reason;
  if (causes.length > 0) {
    status.details = {
      causes: causes.map((cause) => ({
        reason: cause.reason ?? "FieldValueInvalid",
        message: cause.message,
        field: cause.field,
      })),
    };
  }
  return withWarnings({ uid, allowed: false, status }, options.warnings ?? []);
}
