/**
 * The manager's webhook server: the admission webhooks and conversions added to the manager,
 * served over HTTPS on every replica (a runnable that needs no leadership), with its
 * certificate from one of four sources, and, for Operon-managed certificates, the leader's
 * rotator that injects the CA bundle and renews before expiry.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import type { KubeClient } from "../client/client.ts";
import type { OperatorLogger } from "../operator/reconciler.ts";
import {
  type CaBundleTargets,
  CertificateRotator,
  SecretCertificateProvider,
} from "../webhook/certificate-secret.ts";
import { serviceDnsNames } from "../webhook/certificates.ts";
import type { ConversionDefinition } from "../webhook/conversion.ts";
import { type DevelopmentInstallation, installForDevelopment } from "../webhook/development.ts";
import type { WebhookMetrics } from "../webhook/metrics.ts";
import { type CertificateSource, WebhookServer } from "../webhook/server.ts";
import type { CacheReader } from "../webhook/types.ts";
import type { Webhook } from "../webhook/webhook.ts";
import type { Runnable } from "./runnable.ts";
import { AddressInUseError, parseBindAddress } from "./servers.ts";

/** Where a pod finds its own namespace. */
const serviceAccountNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/** The pod's namespace, when running in one. */
export function inClusterNamespace(): string | undefined {
  try {
    return readFileSync(serviceAccountNamespaceFile, "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/** A namespaced name; the namespace defaults to the pod's. */
export interface NamespacedName {
  name: string;
  /** Default: the pod's namespace. */
  namespace?: string;
}

/**
 * Certificates Operon manages itself in a Secret (no cert-manager): created at the first start,
 * the CA injected into the webhook configurations and the CRDs' conversion webhooks by the
 * leader, renewed before expiry.
 */
export interface ManagedCertificateSettings {
  mode: "secret";
  /** The Secret, e.g. `{ name: "myapp-webhook-certs" }`. */
  secret: NamespacedName;
  /** The Service in front of the webhook server: the certificate is for its DNS names. */
  service: NamespacedName;
  /** Inject the CA into the configurations and CRDs. Default true. */
  injectCaBundle?: boolean;
  /** How often the leader checks the certificates and the caBundles; default 1 minute. */
  checkIntervalMs?: number;
  /** Lifetime of a serving certificate; default 1 year (renewed with a third left). */
  servingValidityMs?: number;
  /** Lifetime of a CA; default 10 years. */
  caValidityMs?: number;
  /** The cluster's DNS domain; default `cluster.local`. */
  clusterDomain?: string;
}

/** Settings of the manager's webhook server; see {@link ManagerOptions.webhookServer}. */
export interface WebhookServerSettings {
  /** Where it listens: `:9443` (default, controller-runtime's), `127.0.0.1:9443`, `:0`. */
  bindAddress?: string;
  /**
   * Its certificate:
   * - `{ mode: "development" }` (default): a throw-away CA made at start, for `localhost`,
   *   `127.0.0.1` and `::1` (and the host of `install.url`);
   * - `{ mode: "directory", directory }`: `tls.crt` / `tls.key` of a mounted Secret (e.g.
   *   cert-manager's), reloaded when it changes;
   * - `{ mode: "secret", secret, service }`: managed by Operon, see {@link ManagedCertificateSettings};
   * - `{ mode: "static", certificatePem, privateKeyPem }`.
   */
  certificates?: CertificateSource | ManagedCertificateSettings;
  /**
   * `metadata.name` of the webhook configurations: what the leader injects the CA into, and
   * what a development install creates. Default: the first operator's name.
   */
  configurationName?: string;
  /**
   * For development: install the webhook configurations pointing at this process (and point the
   * conversions' CRDs at it) with the development CA, and remove them when it stops. `url` is
   * how the API server reaches the process; default the server's own loopback URL, which the
   * local control plane reaches.
   */
  install?: boolean | { url?: string };
  /** Largest request body accepted; default 16 MiB. */
  maxRequestBytes?: number;
}

/** What the webhook runnable needs from the manager. */
export interface WebhookServerDependencies {
  webhooks: readonly Webhook[];
  conversions: readonly ConversionDefinition[];
  settings: WebhookServerSettings;
  client: () => KubeClient;
  logger: OperatorLogger;
  metrics: WebhookMetrics;
  cache: CacheReader;
  /** The configurations' name when the settings give none. */
  defaultConfigurationName: string | undefined;
  /** How long in-flight reviews may take when the server stops. */
  graceMs: number;
}

function namespaceOf(name: NamespacedName, what: string): string {
  const namespace = name.namespace ?? inClusterNamespace();
  if (!namespace) {
    throw new Error(`give the namespace of the ${what} ${name.name}: not running in a pod`);
  }
  return namespace;
}

/** The webhook server as a runnable: on every replica, ready once it listens. */
export class WebhookServerRunnable implements Runnable {
  readonly name = "webhook server";
  readonly needLeaderElection = false;
  readonly #deps: WebhookServerDependencies;
  #server: WebhookServer | undefined;
  #installation: DevelopmentInstallation | undefined;

  constructor(deps: WebhookServerDependencies) {
    this.#deps = deps;
    // Fail on bad settings when the manager is built, not once it runs.
    parseBindAddress(deps.settings.bindAddress ?? ":9443");
    const certificates = deps.settings.certificates;
    if ((deps.settings.install || certificates?.mode === "secret") && !this.configurationName) {
      throw new TypeError(
        "webhookServer.configurationName is needed to name the webhook configurations (there is no operator to name them after)",
      );
    }
    if (deps.settings.install && certificates && certificates.mode !== "development") {
      throw new TypeError(
        "installing webhooks for development uses a development certificate; leave out webhookServer.certificates",
      );
    }
  }

  get configurationName(): string | undefined {
    return this.#deps.settings.configurationName ?? this.#deps.defaultConfigurationName;
  }

  /** The server, once started. */
  get server(): WebhookServer | undefined {
    return this.#server;
  }

  /** True while the server listens: the `webhook` readiness check. */
  get listening(): boolean {
    return this.#server?.listening ?? false;
  }

  /** Where the leader injects the CA bundle. */
  caBundleTargets(): CaBundleTargets {
    const name = this.configurationName!;
    const { webhooks, conversions } = this.#deps;
    return {
      validatingWebhookConfigurations: webhooks.some((w) => w.admission === "validating")
        ? [name]
        : [],
      mutatingWebhookConfigurations: webhooks.some((w) => w.admission === "mutating") ? [name] : [],
      customResourceDefinitions: conversions.map((conversion) => conversion.crdName),
    };
  }

  /**
   * The leader's certificate rotator, for Operon-managed certificates that inject their CA;
   * undefined otherwise.
   */
  rotator(): Runnable | undefined {
    const certificates = this.#deps.settings.certificates;
    if (certificates?.mode !== "secret" || certificates.injectCaBundle === false) return undefined;
    const deps = this.#deps;
    return {
      name: "webhook certificate rotator",
      needLeaderElection: true,
      start: (signal) => {
        const rotator = new CertificateRotator({
          ...this.#managedOptions(certificates),
          targets: this.caBundleTargets(),
          ...(certificates.checkIntervalMs ? { intervalMs: certificates.checkIntervalMs } : {}),
        });
        rotator.run(signal).catch((error: unknown) => {
          deps.logger.error({ err: error }, "the webhook certificate rotator stopped");
        });
      },
    };
  }

  #managedOptions(certificates: ManagedCertificateSettings) {
    const secretNamespace = namespaceOf(certificates.secret, "Secret");
    const serviceNamespace = namespaceOf(certificates.service, "Service");
    return {
      client: this.#deps.client(),
      namespace: secretNamespace,
      name: certificates.secret.name,
      dnsNames: serviceDnsNames(
        certificates.service.name,
        serviceNamespace,
        certificates.clusterDomain,
      ),
      ...(certificates.servingValidityMs
        ? { servingValidityMs: certificates.servingValidityMs }
        : {}),
      ...(certificates.caValidityMs ? { caValidityMs: certificates.caValidityMs } : {}),
      logger: this.#deps.logger,
    };
  }

  #installUrl(): string | undefined {
    const install = this.#deps.settings.install;
    return typeof install === "object" ? install.url : undefined;
  }

  #certificateSource(): CertificateSource {
    const certificates = this.#deps.settings.certificates;
    if (certificates?.mode === "secret") {
      return {
        mode: "provider",
        provider: new SecretCertificateProvider(this.#managedOptions(certificates)),
      };
    }
    if (certificates && certificates.mode !== "development") return certificates;
    const dnsNames = [...(certificates?.dnsNames ?? ["localhost"])];
    const ipAddresses = [...(certificates?.ipAddresses ?? ["127.0.0.1", "::1"])];
    const url = this.#installUrl();
    if (url) {
      const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
      if (isIP(host)) {
        if (!ipAddresses.includes(host)) ipAddresses.push(host);
      } else if (!dnsNames.includes(host)) {
        dnsNames.push(host);
      }
    }
    return { mode: "development", dnsNames, ipAddresses };
  }

  async start(): Promise<void> {
    const { settings } = this.#deps;
    const address = parseBindAddress(settings.bindAddress ?? ":9443");
    if (!address) throw new Error("the webhook server's bind address is off (0)");
    const server = new WebhookServer({
      webhooks: this.#deps.webhooks,
      conversions: this.#deps.conversions,
      certificates: this.#certificateSource(),
      port: address.port,
      ...(address.host ? { host: address.host } : {}),
      logger: this.#deps.logger,
      metrics: this.#deps.metrics,
      cache: this.#deps.cache,
      ...(settings.maxRequestBytes ? { maxRequestBytes: settings.maxRequestBytes } : {}),
    });
    try {
      await server.start();
    } catch (error) {
      if ((error as { code?: unknown }).code === "EADDRINUSE") {
        throw new AddressInUseError("webhooks", (settings.bindAddress ?? ":9443").trim(), [
          "webhookServer.bindAddress",
        ]);
      }
      throw error;
    }
    this.#server = server;
    if (settings.install) {
      try {
        this.#installation = await installForDevelopment(this.#deps.client(), {
          name: this.configurationName!,
          webhooks: this.#deps.webhooks,
          conversions: this.#deps.conversions,
          url: this.#installUrl() ?? server.url,
          caCertificatePem: server.caCertificatePem!,
          logger: this.#deps.logger,
        });
      } catch (error) {
        await server.close({ graceMs: 0 });
        throw error;
      }
    }
  }

  async stop(graceMs?: number): Promise<void> {
    // The API server stops calling first; then running reviews get the grace period.
    const installation = this.#installation;
    this.#installation = undefined;
    if (installation) {
      await installation.uninstall().catch((error: unknown) => {
        this.#deps.logger.warn({ err: error }, "removing the development webhooks failed");
      });
    }
    await this.#server?.close({ graceMs: graceMs ?? this.#deps.graceMs });
  }
}
