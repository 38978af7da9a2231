/**
 * Webhook declarations: a kind, a handler and how the API server should call it. A declaration is
 * plain data plus a function; the server serves it and `configuration.ts` turns it into the
 * `*WebhookConfiguration` objects, so both always agree on paths and rules.
 *
 * @module
 */
import type { MatchCondition, RuleWithOperations } from "../resources/admissionregistration.ts";
import type { LabelSelector } from "../resources/meta.ts";
import { groupOf, type KubeObject, type ResourceType, versionOf } from "../resources/object.ts";
import type {
  AdmissionContext,
  AdmissionOperation,
  MutateFunction,
  ValidateFunction,
  ValidationResult,
} from "./types.ts";

/** Options shared by validating and mutating webhooks. */
export interface WebhookOptions {
  /**
   * The webhook's name in its configuration: a domain name with at least three segments, unique
   * among the configuration's webhooks. Default, in kubebuilder's style,
   * `v<kind>-<version>.<group>` (`m...` when mutating), e.g. `vmyapp-v1.apps.example.com`;
   * built-in groups get `.k8s.io` (`vpod-v1.core.k8s.io`).
   */
  name?: string;
  /** URL path the server serves this webhook at; default `/validate-<group>-<version>-<kind>` (or `/mutate-...`). */
  path?: string;
  /** Operations the webhook is called for; default `["CREATE", "UPDATE"]`. */
  operations?: (AdmissionOperation | "*")[];
  /**
   * Resources matched, default the kind's plural. Add subresources explicitly, e.g.
   * `["widgets", "widgets/status"]`.
   */
  resources?: string[];
  /** `Namespaced`, `Cluster` or `*` (the API server's default). */
  scope?: "Cluster" | "Namespaced" | "*";
  /** What the API server does when the webhook errors or times out; default `Fail`. */
  failurePolicy?: "Fail" | "Ignore";
  /** Default `None`; `NoneOnDryRun` when the handler skips its side effects on dry runs. */
  sideEffects?: "None" | "NoneOnDryRun";
  /** Seconds the API server waits (1 to 30); default 10. The handler's signal aborts then too. */
  timeoutSeconds?: number;
  /** `Equivalent` (the API server's default) also sends requests made through other versions. */
  matchPolicy?: "Exact" | "Equivalent";
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
  matchConditions?: MatchCondition[];
}

/** Options of {@link validatingWebhook}. */
export interface ValidatingWebhookOptions<T extends KubeObject> extends WebhookOptions {
  validate: ValidateFunction<T>;
}

/** Options of {@link mutatingWebhook}. */
export interface MutatingWebhookOptions<T extends KubeObject> extends WebhookOptions {
  mutate: MutateFunction<T>;
  /** `IfNeeded` calls the webhook again when a later mutating webhook changed the object; default `Never`. */
  reinvocationPolicy?: "Never" | "IfNeeded";
}

/** What every declared webhook carries, defaults resolved. */
export interface WebhookDefinitionBase<T extends KubeObject> {
  readonly type: ResourceType<T>;
  readonly name: string;
  readonly path: string;
  readonly rules: readonly RuleWithOperations[];
  readonly failurePolicy: "Fail" | "Ignore";
  readonly sideEffects: "None" | "NoneOnDryRun";
  readonly timeoutSeconds: number;
  readonly matchPolicy: "Exact" | "Equivalent" | undefined;
  readonly namespaceSelector: LabelSelector | undefined;
  readonly objectSelector: LabelSelector | undefined;
  readonly matchConditions: readonly MatchCondition[] | undefined;
}

/** A declared validating webhook. */
export interface ValidatingWebhookDefinition<T extends KubeObject = KubeObject>
  extends WebhookDefinitionBase<T> {
  readonly admission: "validating";
  // Method syntax keeps a ConfigMap webhook assignable to the `Webhook` union.
  validate(
    context: AdmissionContext<T>,
    // biome-ignore lint/suspicious/noConfusingVoidType: returning nothing means "allowed"
  ): ValidationResult | void | Promise<ValidationResult | void>;
}

/** A declared mutating webhook. */
export interface MutatingWebhookDefinition<T extends KubeObject = KubeObject>
  extends WebhookDefinitionBase<T> {
  readonly admission: "mutating";
  readonly reinvocationPolicy: "Never" | "IfNeeded";
  // biome-ignore lint/suspicious/noConfusingVoidType: returning nothing means "the copy as changed"
  mutate(context: AdmissionContext<T>): T | void | Promise<T | void>;
}

/** Any declared webhook, as the server and the configuration builders take them. */
export type Webhook = ValidatingWebhookDefinition | MutatingWebhookDefinition;

const label = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const qualifiedName = new RegExp(`^${label}(\\.${label}){2,}$`);

/**
 * The default name of a webhook: `v<kind>-<version>.<group>` (`m` for mutating), with `.k8s.io`
 * after a built-in group (`core` for the core group) so that every name has three segments.
 *
 * @example
 * defaultWebhookName("validate", MyApp); // "vmyapp-v1.apps.example.com"
 * defaultWebhookName("mutate", Pod);     // "mpod-v1.core.k8s.io"
 */
export function defaultWebhookName(admission: "validate" | "mutate", type: ResourceType): string {
  const group = groupOf(type.apiVersion);
  const domain = group.includes(".") ? group : `${group || "core"}.k8s.io`;
  return `${admission === "validate" ? "v" : "m"}${type.kind.toLowerCase()}-${versionOf(type.apiVersion)}.${domain}`;
}

/**
 * The default path of a webhook, in the convention kubebuilder users know:
 * `/validate-<group with dots as dashes>-<version>-<lowercase kind>`. The core group is empty, hence
 * the double dash in `/validate--v1-configmap`.
 */
export function defaultWebhookPath(admission: "validate" | "mutate", type: ResourceType): string {
  const group = groupOf(type.apiVersion).replaceAll(".", "-");
  return `/${admission}-${group}-${versionOf(type.apiVersion)}-${type.kind.toLowerCase()}`;
}

function resolve<T extends KubeObject>(
  admission: "validate" | "mutate",
  type: ResourceType<T>,
  options: WebhookOptions,
): WebhookDefinitionBase<T> {
  const name = options.name ?? defaultWebhookName(admission, type);
  const where = `${admission === "validate" ? "validating" : "mutating"} webhook ${JSON.stringify(name)}`;
  // The API server would reject these too, but only once the configuration is applied, far from
  // the code that declared them.
  if (typeof name !== "string" || name.length > 253 || !qualifiedName.test(name)) {
    throw new TypeError(
      `${where}: the name must be a lowercase domain name with at least three segments, e.g. "${type.kind.toLowerCase()}s.${admission}.example.com"`,
    );
  }
  const path = options.path ?? defaultWebhookPath(admission, type);
  if (!path.startsWith("/") || /[?#\s]/.test(path)) {
    throw new TypeError(
      `${where}: the path must start with "/" and hold no query, fragment or spaces`,
    );
  }
  const timeoutSeconds = options.timeoutSeconds ?? 10;
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > 30) {
    throw new TypeError(`${where}: timeoutSeconds must be a whole number from 1 to 30`);
  }
  const resources = options.resources ?? (type.plural ? [type.plural] : undefined);
  if (!resources || resources.length === 0) {
    throw new TypeError(
      `${where}: the ResourceType of ${type.kind} has no plural; give the resources explicitly`,
    );
  }
  const operations = options.operations ?? ["CREATE", "UPDATE"];
  if (operations.length === 0) throw new TypeError(`${where}: operations must not be empty`);
  const rule: RuleWithOperations = {
    operations: [...operations],
    apiGroups: [groupOf(type.apiVersion)],
    apiVersions: [versionOf(type.apiVersion)],
    resources: [...resources],
  };
  if (options.scope) rule.scope = options.scope;
  return {
    type,
    name,
    path,
    rules: [rule],
    failurePolicy: options.failurePolicy ?? "Fail",
    sideEffects: options.sideEffects ?? "None",
    timeoutSeconds,
    matchPolicy: options.matchPolicy,
    namespaceSelector: options.namespaceSelector,
    objectSelector: options.objectSelector,
    matchConditions: options.matchConditions,
  };
}

/**
 * Declares a validating webhook for objects of `type`. The handler allows by returning nothing or
 * `{ allowed: true }`, refuses by returning `{ allowed: false, reason }` or throwing `Denied`.
 *
 * @example
 * const requireOwner = validatingWebhook(ConfigMap, {
 *   name: "configmaps.validate.example.com",
 *   operations: ["CREATE", "UPDATE"],
 *   validate: ({ object, warn }) => {
 *     if (!object?.data?.owner) return { allowed: false, reason: "data.owner is required" };
 *     if (object.data.owner === "nobody") warn("owner 'nobody' is deprecated");
 *   },
 * });
 */
export function validatingWebhook<T extends KubeObject>(
  type: ResourceType<T>,
  options: ValidatingWebhookOptions<T>,
): ValidatingWebhookDefinition<T> {
  if (typeof options.validate !== "function") {
    throw new TypeError(
      `validating webhook ${JSON.stringify(options.name ?? defaultWebhookName("validate", type))}: validate must be a function`,
    );
  }
  const validate = options.validate;
  return Object.freeze({
    ...resolve("validate", type, options),
    admission: "validating" as const,
    validate: (context: AdmissionContext<T>) => validate(context),
  });
}

/**
 * Declares a mutating webhook for objects of `type`. The handler gets a deep copy of the object to
 * change and return; Operon answers with the JSON patch from the original to the result.
 *
 * @example
 * const defaults = mutatingWebhook(ConfigMap, {
 *   name: "configmaps.mutate.example.com",
 *   operations: ["CREATE"],
 *   mutate: (ctx) => {
 *     if (ctx.operation !== "CREATE") return;
 *     const labels = ctx.object.metadata.labels ?? {};
 *     ctx.object.metadata.labels = { ...labels, "example.com/managed": "true" };
 *     return ctx.object;
 *   },
 * });
 */
export function mutatingWebhook<T extends KubeObject>(
  type: ResourceType<T>,
  options: MutatingWebhookOptions<T>,
): MutatingWebhookDefinition<T> {
  if (typeof options.mutate !== "function") {
    throw new TypeError(
      `mutating webhook ${JSON.stringify(options.name ?? defaultWebhookName("mutate", type))}: mutate must be a function`,
    );
  }
  const mutate = options.mutate;
  return Object.freeze({
    ...resolve("mutate", type, options),
    admission: "mutating" as const,
    reinvocationPolicy: options.reinvocationPolicy ?? "Never",
    mutate: (context: AdmissionContext<T>) => mutate(context),
  });
}

/**
 * True for a webhook declared with {@link validatingWebhook} or {@link mutatingWebhook}: how
 * `operon run` and `operon generate` find the webhooks a module exports.
 */
export function isWebhook(value: unknown): value is Webhook {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as { admission?: unknown; validate?: unknown; mutate?: unknown };
  return (
    (candidate.admission === "validating" && typeof candidate.validate === "function") ||
    (candidate.admission === "mutating" && typeof candidate.mutate === "function")
  );
}
