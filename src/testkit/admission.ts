/**
 * Calling a webhook's handler in a unit test, with no server: build the AdmissionReview request
 * from plain objects, run the handler exactly as the server does (deadline, denials, errors,
 * JSON patch), and get back the decision and the object as the API server would store it.
 */
import { Buffer } from "node:buffer";
import type { KubeObject } from "../resources/object.ts";
import { groupOf, versionOf } from "../resources/object.ts";
import { admit } from "../webhook/handler.ts";
import { applyJsonPatch, type JsonPatchOperation } from "../webhook/json-patch.ts";
import type {
  AdmissionOperation,
  AdmissionRequest,
  CacheReader,
  FieldCause,
  UserInfo,
} from "../webhook/types.ts";
import type { MutatingWebhookDefinition, ValidatingWebhookDefinition } from "../webhook/webhook.ts";

/** The request to build; see {@link callWebhook}. */
export interface WebhookInput<T extends KubeObject> {
  /** Default `CREATE`, or `UPDATE` when both objects are given. */
  operation?: AdmissionOperation;
  /** The new object (CREATE, UPDATE). */
  object?: T;
  /** The stored object (UPDATE, DELETE). */
  oldObject?: T;
  /** Whether the request is a dry run (`kubectl apply --dry-run=server`); default false. */
  dryRun?: boolean;
  /** Default `{ username: "tester" }`. */
  userInfo?: UserInfo;
  /** What `ctx.cache` reads; without it, reads throw as they do outside a Manager. */
  cache?: CacheReader;
}

/** What the handler decided, as the API server would apply it. */
export interface WebhookOutcome<T extends KubeObject> {
  /** Whether the request goes on. */
  allowed: boolean;
  /** The message the client sees after `admission webhook "<name>" denied the request: `. */
  message?: string;
  /** The HTTP status code of a denial. */
  code?: number;
  /** The fields a denial is about. */
  causes: FieldCause[];
  /** Warnings the client is shown, whatever the decision. */
  warnings: string[];
  /** The JSON patch a mutating webhook answered with (empty when nothing changed). */
  patch: JsonPatchOperation[];
  /** The object with the patch applied: what the API server goes on with. */
  object: T | undefined;
}

/**
 * Runs a webhook's handler for one request built from plain objects.
 *
 * @example
 * const outcome = await callWebhook(validateGreeting, {
 *   object: { apiVersion: "example.com/v1", kind: "Greeting", metadata: { name: "w" }, spec: { name: "" } },
 * });
 * assert.equal(outcome.allowed, false);
 */
export async function callWebhook<T extends KubeObject>(
  webhook: ValidatingWebhookDefinition<T> | MutatingWebhookDefinition<T>,
  input: WebhookInput<T>,
): Promise<WebhookOutcome<T>> {
  const operation =
    input.operation ??
    (input.object && input.oldObject ? "UPDATE" : input.object ? "CREATE" : "DELETE");
  const object = input.object ?? input.oldObject;
  const apiVersion = webhook.type.apiVersion;
  const request: AdmissionRequest = {
    uid: "test",
    kind: { group: groupOf(apiVersion), version: versionOf(apiVersion), kind: webhook.type.kind },
    resource: {
      group: groupOf(apiVersion),
      version: versionOf(apiVersion),
      resource: webhook.type.plural ?? "",
    },
    name: object?.metadata.name ?? "",
    ...(object?.metadata.namespace ? { namespace: object.metadata.namespace } : {}),
    operation,
    userInfo: input.userInfo ?? { username: "tester" },
    object: input.object ?? null,
    oldObject: input.oldObject ?? null,
    dryRun: input.dryRun ?? false,
  };
  const response = await admit(
    webhook as never,
    request,
    input.cache ? { cache: input.cache } : {},
  );
  const patch = response.patch
    ? (JSON.parse(Buffer.from(response.patch, "base64").toString("utf8")) as JsonPatchOperation[])
    : [];
  return {
    allowed: response.allowed,
    ...(response.status?.message !== undefined ? { message: response.status.message } : {}),
    ...(response.status?.code !== undefined ? { code: response.status.code } : {}),
    causes: (response.status?.details?.causes ?? []).map((cause) => ({
      field: cause.field ?? "",
      message: cause.message ?? "",
      ...(cause.reason ? { reason: cause.reason } : {}),
    })),
    warnings: response.warnings ?? [],
    patch,
    object:
      input.object && patch.length > 0 ? (applyJsonPatch(input.object, patch) as T) : input.object,
  };
}
