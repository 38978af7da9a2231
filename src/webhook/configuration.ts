/**
 * `ValidatingWebhookConfiguration` and `MutatingWebhookConfiguration` objects built from webhook
 * declarations, and installing them through server-side apply.
 *
 * The server and the configurations read the same declarations, so the paths, rules and timeouts
 * the API server uses always match what the server serves.
 *
 * @module
 */
import { isNotFound, type KubeClient } from "../client/index.ts";
import {
  type MutatingWebhook,
  MutatingWebhookConfiguration,
  type ValidatingWebhook,
  ValidatingWebhookConfiguration,
  type WebhookBase,
  type WebhookClientConfig,
} from "../resources/admissionregistration.ts";
import { caBundle } from "./certificates.ts";
import type { Webhook } from "./webhook.ts";

/**
 * How the API server reaches the webhook server: a Service in the cluster, or a URL (a server
 * outside the cluster, or a local one in development and tests). Each webhook's path is appended.
 */
export type WebhookEndpoint =
  | { service: { namespace: string; name: string /** Default 443. */; port?: number } }
  | { /** `https://host:port`, without the webhook path. */ url: string };

/** Options of the configuration builders. */
export interface WebhookConfigurationOptions {
  /** `metadata.name` of the configuration(s), e.g. the operator's name. */
  name: string;
  webhooks: readonly Webhook[];
  endpoint: WebhookEndpoint;
  /**
   * PEM of the CA that signed the server's certificate, injected as `caBundle`. Leave it out when
   * something else injects it (e.g. cert-manager's CA injector): server-side apply then leaves
   * that field to its owner.
   */
  caCertificatePem?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

function clientConfig(options: WebhookConfigurationOptions, path: string): WebhookClientConfig {
  const endpoint = options.endpoint;
  const config: WebhookClientConfig =
    "service" in endpoint
      ? {
          service: {
            namespace: endpoint.service.namespace,
            name: endpoint.service.name,
            path,
            port: endpoint.service.port ?? 443,
          },
        }
      : { url: `${endpoint.url.replace(/\/+$/, "")}${path}` };
  if (options.caCertificatePem) config.caBundle = caBundle(options.caCertificatePem);
  return config;
}

function entry(options: WebhookConfigurationOptions, webhook: Webhook): WebhookBase {
  const out: WebhookBase = {
    name: webhook.name,
    clientConfig: clientConfig(options, webhook.path),
    rules: webhook.rules.map((rule) => structuredClone(rule)),
    failurePolicy: webhook.failurePolicy,
    sideEffects: webhook.sideEffects,
    timeoutSeconds: webhook.timeoutSeconds,
    admissionReviewVersions: ["v1"],
  };
  if (webhook.matchPolicy) out.matchPolicy = webhook.matchPolicy;
  if (webhook.namespaceSelector) out.namespaceSelector = structuredClone(webhook.namespaceSelector);
  if (webhook.objectSelector) out.objectSelector = structuredClone(webhook.objectSelector);
  if (webhook.matchConditions) out.matchConditions = webhook.matchConditions.map((c) => ({ ...c }));
  return out;
}

function metadata(options: WebhookConfigurationOptions) {
  const meta: {
    name: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  } = {
    name: options.name,
  };
  if (options.labels) meta.labels = { ...options.labels };
  if (options.annotations) meta.annotations = { ...options.annotations };
  return meta;
}

/**
 * The ValidatingWebhookConfiguration for the validating webhooks among `options.webhooks`.
 *
 * @example
 * const config = validatingWebhookConfiguration({
 *   name: "my-operator",
 *   webhooks: [requireOwner],
 *   endpoint: { service: { namespace: "operators", name: "my-operator-webhook" } },
 *   caCertificatePem: server.caCertificatePem,
 * });
 */
export function validatingWebhookConfiguration(
  options: WebhookConfigurationOptions,
): ValidatingWebhookConfiguration {
  const webhooks: ValidatingWebhook[] = options.webhooks
    .filter((webhook) => webhook.admission === "validating")
    .map((webhook) => entry(options, webhook));
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingWebhookConfiguration",
    metadata: metadata(options),
    webhooks,
  };
}

/** The MutatingWebhookConfiguration for the mutating webhooks among `options.webhooks`. */
export function mutatingWebhookConfiguration(
  options: WebhookConfigurationOptions,
): MutatingWebhookConfiguration {
  const webhooks: MutatingWebhook[] = options.webhooks.flatMap((webhook) =>
    webhook.admission === "mutating"
      ? [{ ...entry(options, webhook), reinvocationPolicy: webhook.reinvocationPolicy }]
      : [],
  );
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "MutatingWebhookConfiguration",
    metadata: metadata(options),
    webhooks,
  };
}

/** The configurations a set of webhooks needs: each kind only when it has webhooks. */
export type WebhookConfigurations = (
  | ValidatingWebhookConfiguration
  | MutatingWebhookConfiguration
)[];

/**
 * Both configurations for `options.webhooks`, leaving out a kind with no webhooks (an empty
 * configuration is legal but pointless).
 *
 * @example
 * const configs = webhookConfigurations({
 *   name: "my-operator",
 *   webhooks: server.webhooks,
 *   endpoint: { url: server.url },
 *   caCertificatePem: server.caCertificatePem,
 * });
 */
export function webhookConfigurations(options: WebhookConfigurationOptions): WebhookConfigurations {
  const out: WebhookConfigurations = [];
  const validating = validatingWebhookConfiguration(options);
  if (validating.webhooks?.length) out.push(validating);
  const mutating = mutatingWebhookConfiguration(options);
  if (mutating.webhooks?.length) out.push(mutating);
  return out;
}

/** What installing needs of the client: `KubeClient` fits. */
export type WebhookConfigurationClient = Pick<KubeClient, "apply" | "delete"> & {
  readonly fieldManager?: string | undefined;
};

/** Options of {@link installWebhookConfigurations}. */
export interface InstallOptions {
  /** Field manager of the apply; default the client's, else `operon-webhook`. */
  fieldManager?: string;
  /** Take over fields another manager set (default true: the declarations are the truth). */
  force?: boolean;
  signal?: AbortSignal;
}

/**
 * Creates or updates the configurations through server-side apply. Webhooks removed from the
 * declarations since the last apply by the same field manager are removed from the configuration.
 * The API server starts calling the webhooks shortly after (its view of configurations is
 * refreshed asynchronously, typically within a second).
 *
 * @example
 * const client = await KubeClient.fromKubeConfig({ fieldManager: "my-operator" });
 * await installWebhookConfigurations(client, webhookConfigurations({ ... }));
 */
export async function installWebhookConfigurations(
  client: WebhookConfigurationClient,
  configurations: WebhookConfigurations,
  options: InstallOptions = {},
): Promise<WebhookConfigurations> {
  const fieldManager = options.fieldManager ?? client.fieldManager ?? "operon-webhook";
  const applied: WebhookConfigurations = [];
  const applyOptions = {
    fieldManager,
    force: options.force ?? true,
    ...(options.signal ? { signal: options.signal } : {}),
  };
  for (const config of configurations) {
    const name = config.metadata.name;
    if (!name) throw new TypeError(`a ${config.kind} to install has no metadata.name`);
    const metadata = { ...config.metadata, name };
    if (config.kind === "ValidatingWebhookConfiguration") {
      applied.push(
        await client.apply(ValidatingWebhookConfiguration, { ...config, metadata }, applyOptions),
      );
    } else {
      applied.push(
        await client.apply(MutatingWebhookConfiguration, { ...config, metadata }, applyOptions),
      );
    }
  }
  return applied;
}

/**
 * Deletes the configurations (those already gone are skipped): for uninstalling, and for tests
 * that must leave the shared API server as they found it.
 */
export async function uninstallWebhookConfigurations(
  client: WebhookConfigurationClient,
  configurations: WebhookConfigurations,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  for (const config of configurations) {
    const name = config.metadata.name;
    if (!name) continue;
    const deleteOptions = options.signal ? { signal: options.signal } : {};
    try {
      if (config.kind === "ValidatingWebhookConfiguration") {
        await client.delete(ValidatingWebhookConfiguration, name, deleteOptions);
      } else {
        await client.delete(MutatingWebhookConfiguration, name, deleteOptions);
      }
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}
