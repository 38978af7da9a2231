/**
 * Webhooks in development: installs the configurations of a running process's webhooks (and
 * points the CRDs of its conversions at it) by URL with its development CA, and undoes it all
 * when the process stops, so a webhook can be tried with no image, no Service and no cert-manager.
 *
 * @module
 */
import { isNotFound, type KubeClient } from "../client/index.ts";
import { type Logger, silentLogger } from "../logger.ts";
import {
  type CustomResourceConversion,
  CustomResourceDefinition,
} from "../resources/apiextensions.ts";
import { caBundle } from "./certificates.ts";
import {
  installWebhookConfigurations,
  uninstallWebhookConfigurations,
  webhookConfigurations,
} from "./configuration.ts";
import { type ConversionDefinition, conversionPath } from "./conversion.ts";
import type { Webhook } from "./webhook.ts";

/** Options of {@link installForDevelopment}. */
export interface DevelopmentInstallOptions {
  /** `metadata.name` of the configurations. */
  name: string;
  webhooks: readonly Webhook[];
  conversions?: readonly ConversionDefinition[];
  /** `https://host:port` where the API server reaches the process, e.g. `https://127.0.0.1:9443`. */
  url: string;
  /** The CA of the process's serving certificate. */
  caCertificatePem: string;
  logger?: Logger;
  signal?: AbortSignal;
}

/** What {@link installForDevelopment} installed, and how to remove it. */
export interface DevelopmentInstallation {
  /** Deletes the configurations and gives the CRDs back their former conversion. */
  uninstall(): Promise<void>;
}

/**
 * Installs `ValidatingWebhookConfiguration` / `MutatingWebhookConfiguration` objects pointing at
 * `url`, and sets each conversion's CRD to convert through `url` + `/convert`, all trusting
 * `caCertificatePem`. The CRDs must exist (`operon install`). `uninstall()` restores everything.
 *
 * @example
 * const installed = await installForDevelopment(client, {
 *   name: "myapp-dev", webhooks: server.webhooks, conversions: server.conversions,
 *   url: server.url, caCertificatePem: server.caCertificatePem!,
 * });
 * // ... later
 * await installed.uninstall();
 */
export async function installForDevelopment(
  client: Pick<KubeClient, "apply" | "delete" | "get" | "patch"> & { fieldManager?: string },
  options: DevelopmentInstallOptions,
): Promise<DevelopmentInstallation> {
  const logger = options.logger ?? silentLogger;
  const signal = options.signal ? { signal: options.signal } : {};
  const configurations = webhookConfigurations({
    name: options.name,
    webhooks: options.webhooks,
    endpoint: { url: options.url },
    caCertificatePem: options.caCertificatePem,
    labels: { "app.kubernetes.io/managed-by": "operon-run" },
  });
  const restore: { name: string; conversion: CustomResourceConversion }[] = [];
  const uninstall = async () => {
    await uninstallWebhookConfigurations(client, configurations);
    for (const { name, conversion } of restore) {
      try {
        await client.patch(
          CustomResourceDefinition,
          name,
          [{ op: "add", path: "/spec/conversion", value: conversion }] as never,
          { type: "json" },
        );
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    logger.info(
      { configurations: configurations.length, crds: restore.length },
      "webhooks uninstalled",
    );
  };

  try {
    if (configurations.length > 0) {
      await installWebhookConfigurations(client, configurations, {
        fieldManager: "operon-run",
        ...signal,
      });
    }
    for (const conversion of options.conversions ?? []) {
      let crd: CustomResourceDefinition;
      try {
        crd = await client.get(CustomResourceDefinition, conversion.crdName, signal);
      } catch (error) {
        if (isNotFound(error)) {
          throw new Error(
            `the CRD ${conversion.crdName} is not installed; install it first (operon install <module>)`,
          );
        }
        throw error;
      }
      // A conversion by URL is what an earlier development run left behind when it was killed:
      // restoring it would point the CRD at a process that is gone.
      const found = crd.spec.conversion;
      const previous: CustomResourceConversion =
        found && !found.webhook?.clientConfig?.url ? found : { strategy: "None" };
      const webhook: CustomResourceConversion = {
        strategy: "Webhook",
        webhook: {
          clientConfig: {
            url: `${options.url.replace(/\/+$/, "")}${conversionPath}`,
            caBundle: caBundle(options.caCertificatePem),
          },
          conversionReviewVersions: ["v1"],
        },
      };
      await client.patch(
        CustomResourceDefinition,
        conversion.crdName,
        [{ op: "add", path: "/spec/conversion", value: webhook }] as never,
        { type: "json", ...signal },
      );
      restore.push({ name: conversion.crdName, conversion: previous });
    }
  } catch (error) {
    await uninstall().catch(() => {});
    throw error;
  }
  logger.info(
    {
      url: options.url,
      configurations: configurations.map((c) => `${c.kind}/${c.metadata.name}`),
      conversions: restore.map((r) => r.name),
    },
    "webhooks installed, pointing at this process; they are removed when it stops",
  );
  return { uninstall };
}
