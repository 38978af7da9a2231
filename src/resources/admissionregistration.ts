/**
 * Kinds of the `admissionregistration.k8s.io/v1` group: ValidatingWebhookConfiguration and
 * MutatingWebhookConfiguration.
 */
import type { LabelSelector } from "./meta.ts";
import { type ObjectMeta, resourceType } from "./object.ts";

/** How the API server reaches a webhook: a URL, or a Service in the cluster. */
export interface WebhookClientConfig {
  url?: string;
  service?: { namespace: string; name: string; path?: string; port?: number };
  /** PEM CA bundle, base64-encoded, to verify the webhook's serving certificate. */
  caBundle?: string;
}

/** The operations and resources a webhook is called for. */
export interface RuleWithOperations {
  operations?: ("CREATE" | "UPDATE" | "DELETE" | "CONNECT" | "*")[];
  apiGroups?: string[];
  apiVersions?: string[];
  /** e.g. `widgets`, `widgets/status`, `*`. */
  resources?: string[];
  scope?: "Cluster" | "Namespaced" | "*";
}

/** A CEL condition a request must meet for the webhook to be called. */
export interface MatchCondition {
  name: string;
  expression: string;
}

/** What a validating and a mutating webhook have in common. */
export interface WebhookBase {
  /** A fully qualified name, e.g. `widgets.example.com`. */
  name: string;
  clientConfig: WebhookClientConfig;
  rules?: RuleWithOperations[];
  failurePolicy?: "Ignore" | "Fail";
  matchPolicy?: "Exact" | "Equivalent";
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
  sideEffects: "None" | "NoneOnDryRun" | "Some" | "Unknown";
  timeoutSeconds?: number;
  admissionReviewVersions: string[];
  matchConditions?: MatchCondition[];
}

/** A webhook that may reject requests. */
export type ValidatingWebhook = WebhookBase;

/** A webhook that may modify objects before they are stored. */
export interface MutatingWebhook extends WebhookBase {
  reinvocationPolicy?: "Never" | "IfNeeded";
}

/**
 * A ValidatingWebhookConfiguration (`admissionregistration.k8s.io/v1`).
 *
 * @example
 * const config: ValidatingWebhookConfiguration = {
 *   apiVersion: "admissionregistration.k8s.io/v1",
 *   kind: "ValidatingWebhookConfiguration",
 *   metadata: { name: "widgets.example.com" },
 *   webhooks: [{
 *     name: "widgets.example.com",
 *     clientConfig: { service: { namespace: "operators", name: "widget-webhook", path: "/validate" } },
 *     rules: [{ operations: ["CREATE", "UPDATE"], apiGroups: ["example.com"], apiVersions: ["v1"], resources: ["widgets"] }],
 *     sideEffects: "None",
 *     admissionReviewVersions: ["v1"],
 *   }],
 * };
 */
export type ValidatingWebhookConfiguration = {
  apiVersion: "admissionregistration.k8s.io/v1";
  kind: "ValidatingWebhookConfiguration";
  metadata: ObjectMeta;
  webhooks?: ValidatingWebhook[];
};
/** The `ValidatingWebhookConfiguration` kind: `admissionregistration.k8s.io/v1`, cluster-scoped. */
export const ValidatingWebhookConfiguration = resourceType<ValidatingWebhookConfiguration>(
  "admissionregistration.k8s.io/v1",
  "ValidatingWebhookConfiguration",
  "validatingwebhookconfigurations",
  false,
);

/** A MutatingWebhookConfiguration (`admissionregistration.k8s.io/v1`). */
export type MutatingWebhookConfiguration = {
  apiVersion: "admissionregistration.k8s.io/v1";
  kind: "MutatingWebhookConfiguration";
  metadata: ObjectMeta;
  webhooks?: MutatingWebhook[];
};
/** The `MutatingWebhookConfiguration` kind: `admissionregistration.k8s.io/v1`, cluster-scoped. */
export const MutatingWebhookConfiguration = resourceType<MutatingWebhookConfiguration>(
  "admissionregistration.k8s.io/v1",
  "MutatingWebhookConfiguration",
  "mutatingwebhookconfigurations",
  false,
);
