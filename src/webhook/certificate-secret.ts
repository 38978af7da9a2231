/**
 * Serving certificates Operon manages itself, in a Secret: no cert-manager needed.
 *
 * The Secret holds a CA (`ca.crt`, the bundle the API server must trust, and `ca.key`) and a
 * serving certificate it issued (`tls.crt`, `tls.key`) for the webhook Service's DNS names.
 * - Every replica, at start, creates the Secret (or fills an empty one) when it holds no usable
 *   pair, then serves the pair and re-reads the Secret every 30 s, switching to a new pair when
 *   one appears ({@link SecretCertificateProvider}).
 * - The leader ({@link CertificateRotator}) injects the bundle as `caBundle` into the webhook
 *   configurations and the CRDs' conversion webhooks, and rotates before expiry without a moment
 *   in which the API server distrusts the certificate served: a CA due for renewal is first
 *   *added* to the bundle; only once the configurations already trusted the whole bundle at the
 *   previous check is the serving certificate re-issued from the new CA; expired CAs then leave
 *   the bundle. A serving certificate is re-issued when a third of its life remains, or when the
 *   DNS names it must cover changed.
 *
 * Writes use the resourceVersion read, so two replicas racing to create or fill the Secret
 * cannot overwrite each other: the loser reads the winner's pair.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { isAlreadyExists, isConflict, isNotFound, type KubeClient } from "../client/index.ts";
import { type Logger, silentLogger } from "../logger.ts";
import {
  MutatingWebhookConfiguration,
  ValidatingWebhookConfiguration,
} from "../resources/admissionregistration.ts";
import { CustomResourceDefinition } from "../resources/apiextensions.ts";
import { Secret } from "../resources/core.ts";
import {
  type CertificateAuthority,
  caBundle,
  checkServingCertificate,
  createCertificateAuthority,
  issueServingCertificate,
  type ServingCertificate,
} from "./certificates.ts";
import type { CertificateProvider } from "./server.ts";

const day = 86_400_000;
const defaultCaValidityMs = 3650 * day;
const defaultServingValidityMs = 365 * day;

/** Where the Secret is and what its serving certificate must cover. */
export interface ManagedCertificateOptions {
  client: Pick<KubeClient, "get" | "create" | "update" | "patch">;
  namespace: string;
  /** The Secret's name, e.g. `<operator>-webhook-certs`. */
  name: string;
  /** DNS names of the serving certificate, e.g. `serviceDnsNames(service, namespace)`. */
  dnsNames: string[];
  /** IP addresses of the serving certificate (rarely needed). */
  ipAddresses?: string[];
  /** Lifetime of a CA; default 10 years. */
  caValidityMs?: number;
  /** Lifetime of a serving certificate; default 1 year. */
  servingValidityMs?: number;
  logger?: Logger;
  /** The clock, for tests. */
  now?: () => number;
}

/** What a Secret holds, parsed and checked. */
export interface ManagedCertificates {
  /** The CAs to trust, newest first; the first one is the one whose key is kept. */
  authorities: X509Certificate[];
  /** The same, as the PEM blocks of the bundle. */
  authorityPems: string[];
  /** The newest CA with its key, to issue serving certificates. */
  authority: CertificateAuthority;
  serving: ServingCertificate;
  servingCertificate: X509Certificate;
  /** The Secret's resourceVersion, for writes. */
  resourceVersion: string | undefined;
}

/** The PEM blocks of a bundle, each with `\n` line endings and a final newline. */
export function splitPemBundle(bundle: string): string[] {
  return (bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []).map(
    (block) => `${normalizePem(block)}\n`,
  );
}

/** PEM with `\n` line endings (node-forge writes `\r\n`), so equal certificates are equal text. */
function normalizePem(pem: string): string {
  return pem.replace(/\r\n/g, "\n");
}

function decode(secret: Secret | undefined, key: string): string | undefined {
  const value = secret?.data?.[key];
  return value ? Buffer.from(value, "base64").toString("utf8") : undefined;
}

function encode(text: string): string {
  return Buffer.from(text, "utf8").toString("base64");
}

/**
 * Parses the certificates of a Secret, or undefined when it holds no complete, consistent set:
 * the serving certificate and key must match, the CA key must belong to the first CA, and the
 * serving certificate must have been issued by one of the CAs.
 */
export function readManagedCertificates(
  secret: Secret | undefined,
): ManagedCertificates | undefined {
  const bundle = decode(secret, "ca.crt");
  const caKeyPem = decode(secret, "ca.key");
  const certificatePem = decode(secret, "tls.crt");
  const privateKeyPem = decode(secret, "tls.key");
  if (!bundle || !caKeyPem || !certificatePem || !privateKeyPem) return undefined;
  try {
    const authorityPems = splitPemBundle(bundle);
    const authorities = authorityPems.map((pem) => new X509Certificate(pem));
    const newest = authorities[0];
    if (!newest?.checkPrivateKey(createPrivateKey(caKeyPem))) return undefined;
    const servingCertificate = checkServingCertificate({ certificatePem, privateKeyPem });
    if (
      !authorities.some(
        (ca) => servingCertificate.checkIssued(ca) && servingCertificate.verify(ca.publicKey),
      )
    ) {
      return undefined;
    }
    return {
      authorities,
      authorityPems,
      authority: { certificatePem: authorityPems[0]!, privateKeyPem: caKeyPem },
      serving: { certificatePem, privateKeyPem, caCertificatePem: bundle },
      servingCertificate,
      resourceVersion: secret?.metadata.resourceVersion,
    };
  } catch {
    return undefined;
  }
}

function secretData(
  authorities: readonly string[],
  caKeyPem: string,
  serving: ServingCertificate,
): Record<string, string> {
  return {
    "ca.crt": encode(authorities.map(normalizePem).join("")),
    "ca.key": encode(normalizePem(caKeyPem)),
    "tls.crt": encode(normalizePem(serving.certificatePem)),
    "tls.key": encode(normalizePem(serving.privateKeyPem)),
  };
}

/**
 * True when less than a third of `lifetimeMs` (the lifetime certificates are issued with) remains
 * at `now`. The lifetime is given rather than read from the certificate, whose validity starts a
 * few minutes early for clock skew.
 */
export function renewalDue(certificate: X509Certificate, now: number, lifetimeMs: number): boolean {
  return now >= Date.parse(certificate.validTo) - lifetimeMs / 3;
}

/** True when the certificate covers every DNS name and IP address given. */
export function coversNames(
  certificate: X509Certificate,
  dnsNames: readonly string[],
  ipAddresses: readonly string[] = [],
): boolean {
  const names = new Set(
    (certificate.subjectAltName ?? "")
      .split(/,\s*/)
      .map((entry) => entry.replace(/^(DNS|IP Address):/, "")),
  );
  return [...dnsNames, ...ipAddresses].every((name) => names.has(name));
}

async function freshCertificates(options: ManagedCertificateOptions) {
  const authority = await createCertificateAuthority({
    validMs: options.caValidityMs ?? defaultCaValidityMs,
    ...(options.now ? { now: options.now() } : {}),
  });
  const serving = await issueServingCertificate(authority, {
    dnsNames: options.dnsNames,
    ipAddresses: options.ipAddresses ?? [],
    validMs: options.servingValidityMs ?? defaultServingValidityMs,
    ...(options.now ? { now: options.now() } : {}),
  });
  return { authority, serving };
}

async function getSecret(options: ManagedCertificateOptions): Promise<Secret | undefined> {
  try {
    return await options.client.get(Secret, options.name, { namespace: options.namespace });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * Reads the Secret's certificates, creating the Secret (or filling it, when it exists without a
 * usable set) the first time. Two replicas racing here both end up with the winner's set.
 *
 * @example
 * const managed = await ensureManagedCertificates({
 *   client, namespace: "myapp-system", name: "myapp-webhook-certs",
 *   dnsNames: serviceDnsNames("myapp-webhook-service", "myapp-system"),
 * });
 * managed.serving; // serve this
 */
export async function ensureManagedCertificates(
  options: ManagedCertificateOptions,
): Promise<ManagedCertificates> {
  const logger = options.logger ?? silentLogger;
  const where = { secret: `${options.namespace}/${options.name}` };
  for (let attempt = 0; attempt < 5; attempt++) {
    const secret = await getSecret(options);
    const current = readManagedCertificates(secret);
    if (current) return current;
    const { authority, serving } = await freshCertificates(options);
    const data = secretData([authority.certificatePem], authority.privateKeyPem, serving);
    try {
      if (!secret) {
        await options.client.create(Secret, {
          metadata: {
            name: options.name,
            namespace: options.namespace,
            labels: { "app.kubernetes.io/managed-by": "operon" },
          },
          type: "Opaque",
          data,
        });
        logger.info(where, "created the webhook serving certificate and its CA");
      } else {
        await options.client.update(Secret, { ...secret, data });
        logger.info(where, "wrote a new webhook serving certificate and CA into the Secret");
      }
    } catch (error) {
      // Another replica got there first: read what it wrote.
      if (isAlreadyExists(error) || isConflict(error)) continue;
      throw error;
    }
  }
  throw new Error(
    `the Secret ${options.namespace}/${options.name} kept changing while its certificates were being written`,
  );
}

/** Options of {@link SecretCertificateProvider}. */
export interface SecretCertificateProviderOptions extends ManagedCertificateOptions {
  /** How often the Secret is re-read for a rotated pair; default 30 s. */
  pollIntervalMs?: number;
}

/**
 * Serving certificates from an Operon-managed Secret, for `WebhookServer`'s `provider` mode:
 * creates the Secret when needed, then re-reads it and reports each new pair.
 *
 * @example
 * const server = new WebhookServer({
 *   webhooks,
 *   certificates: { mode: "provider", provider: new SecretCertificateProvider({ client, namespace, name, dnsNames }) },
 * });
 */
export class SecretCertificateProvider implements CertificateProvider {
  readonly #options: SecretCertificateProviderOptions;
  readonly #logger: Logger;
  #current: ServingCertificate | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #reading = false;

  constructor(options: SecretCertificateProviderOptions) {
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
  }

  /** The pair in use. */
  get current(): ServingCertificate | undefined {
    return this.#current;
  }

  async start(onChange: (pair: ServingCertificate) => void): Promise<ServingCertificate> {
    const managed = await ensureManagedCertificates(this.#options);
    this.#current = managed.serving;
    this.#timer = setInterval(() => {
      void this.#reload(onChange);
    }, this.#options.pollIntervalMs ?? 30_000);
    this.#timer.unref();
    return managed.serving;
  }

  /** Re-reads the Secret now; resolves once done. */
  async reload(onChange: (pair: ServingCertificate) => void): Promise<void> {
    await this.#reload(onChange);
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
  }

  async #reload(onChange: (pair: ServingCertificate) => void): Promise<void> {
    if (this.#closed || this.#reading) return;
    this.#reading = true;
    try {
      const managed = readManagedCertificates(await getSecret(this.#options));
      if (!managed || this.#closed) return;
      const pair = managed.serving;
      const current = this.#current;
      if (
        current &&
        current.certificatePem === pair.certificatePem &&
        current.privateKeyPem === pair.privateKeyPem &&
        current.caCertificatePem === pair.caCertificatePem
      ) {
        return;
      }
      this.#current = pair;
      this.#logger.info(
        { secret: `${this.#options.namespace}/${this.#options.name}` },
        "serving certificate reloaded from the Secret",
      );
      onChange(pair);
    } catch (error) {
      this.#logger.warn(
        { secret: `${this.#options.namespace}/${this.#options.name}`, err: error },
        "reading the certificate Secret failed; keeping the current certificate",
      );
    } finally {
      this.#reading = false;
    }
  }
}

/** The objects whose `caBundle` the leader keeps equal to the Secret's CA bundle. */
export interface CaBundleTargets {
  validatingWebhookConfigurations?: readonly string[];
  mutatingWebhookConfigurations?: readonly string[];
  /** CRDs (by name, `<plural>.<group>`) whose conversion webhook is Operon's. */
  customResourceDefinitions?: readonly string[];
}

type JsonPatch = { op: "test" | "add" | "replace"; path: string; value: unknown }[];

/**
 * Sets `caBundle` (base64 of `bundlePem`) on every webhook of the named configurations and on the
 * conversion webhook of the named CRDs, where it differs. Objects that do not exist yet are
 * skipped. A JSON patch guarded by the resourceVersion read, so a webhook list that changed in
 * between is never patched by a stale index. Returns how many objects were patched.
 *
 * @example
 * await injectCaBundle(client, { validatingWebhookConfigurations: ["myapp"] }, managed.serving.caCertificatePem!);
 */
export async function injectCaBundle(
  client: Pick<KubeClient, "get" | "patch">,
  targets: CaBundleTargets,
  bundlePem: string,
  logger: Logger = silentLogger,
): Promise<number> {
  const encoded = caBundle(bundlePem);
  let patched = 0;
  const read = async <T>(get: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await get();
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  };
  const guard = (resourceVersion: string | undefined): JsonPatch =>
    resourceVersion
      ? [{ op: "test", path: "/metadata/resourceVersion", value: resourceVersion }]
      : [];

  for (const [type, names] of [
    [ValidatingWebhookConfiguration, targets.validatingWebhookConfigurations ?? []],
    [MutatingWebhookConfiguration, targets.mutatingWebhookConfigurations ?? []],
  ] as const) {
    for (const name of names) {
      const config = await read(() =>
        client.get(type as typeof ValidatingWebhookConfiguration, name),
      );
      if (!config) {
        logger.debug({ [type.kind]: name }, "not there yet; its caBundle is set once it is");
        continue;
      }
      const operations: JsonPatch = [];
      (config.webhooks ?? []).forEach((webhook, index) => {
        if (webhook.clientConfig?.caBundle === encoded) return;
        // "add" replaces an existing member too (RFC 6902).
        operations.push(
          webhook.clientConfig
            ? { op: "add", path: `/webhooks/${index}/clientConfig/caBundle`, value: encoded }
            : { op: "add", path: `/webhooks/${index}/clientConfig`, value: { caBundle: encoded } },
        );
      });
      if (operations.length === 0) continue;
      await client.patch(
        type as typeof ValidatingWebhookConfiguration,
        name,
        [...guard(config.metadata.resourceVersion), ...operations] as never,
        { type: "json" },
      );
      logger.info({ [type.kind]: name }, "injected the CA bundle");
      patched++;
    }
  }
  for (const name of targets.customResourceDefinitions ?? []) {
    const crd = await read(() => client.get(CustomResourceDefinition, name));
    if (!crd) continue;
    const conversion = crd.spec.conversion;
    if (conversion?.strategy !== "Webhook" || !conversion.webhook) {
      logger.warn(
        { crd: name },
        "the CRD does not convert through a webhook; its conversion is left alone",
      );
      continue;
    }
    if (conversion.webhook.clientConfig?.caBundle === encoded) continue;
    const operation: JsonPatch[number] = conversion.webhook.clientConfig
      ? { op: "add", path: "/spec/conversion/webhook/clientConfig/caBundle", value: encoded }
      : { op: "add", path: "/spec/conversion/webhook/clientConfig", value: { caBundle: encoded } };
    await client.patch(
      CustomResourceDefinition,
      name,
      [...guard(crd.metadata.resourceVersion), operation] as never,
      { type: "json" },
    );
    logger.info({ crd: name }, "injected the CA bundle into the conversion webhook");
    patched++;
  }
  return patched;
}

/** Options of {@link CertificateRotator}. */
export interface CertificateRotatorOptions extends ManagedCertificateOptions {
  targets: CaBundleTargets;
  /** How often the Secret and the targets are checked; default 1 minute. */
  intervalMs?: number;
}

/** What one {@link CertificateRotator.check} did. */
export interface RotationStep {
  /** A new CA was added to the bundle. */
  caAdded: boolean;
  /** The serving certificate was re-issued. */
  servingRenewed: boolean;
  /** Expired CAs were dropped from the bundle. */
  casDropped: number;
  /** Objects whose caBundle was patched. */
  injected: number;
}

/**
 * The leader's side of Operon-managed certificates: keeps the targets' `caBundle` current and
 * rotates the CA and the serving certificate before they expire (see the module's description
 * for the order that keeps every step trusted).
 *
 * @example
 * const rotator = new CertificateRotator({ client, namespace, name, dnsNames, targets: { validatingWebhookConfigurations: ["myapp"] } });
 * await rotator.run(signal); // checks now and every minute until the signal aborts
 */
export class CertificateRotator {
  readonly #options: CertificateRotatorOptions;
  readonly #logger: Logger;

  constructor(options: CertificateRotatorOptions) {
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
  }

  /** One check: rotate what is due, inject the bundle where it differs. */
  async check(): Promise<RotationStep> {
    const options = this.#options;
    const now = (options.now ?? Date.now)();
    const step: RotationStep = {
      caAdded: false,
      servingRenewed: false,
      casDropped: 0,
      injected: 0,
    };
    let managed = await ensureManagedCertificates(options);
    const where = { secret: `${options.namespace}/${options.name}` };
    const write = async (
      authorities: readonly string[],
      caKeyPem: string,
      serving: ServingCertificate,
    ) => {
      const secret = await getSecret(options);
      if (!secret || secret.metadata.resourceVersion !== managed.resourceVersion) {
        // Changed since read: the next check starts from what is there now.
        throw new RotationConflict();
      }
      await options.client.update(Secret, {
        ...secret,
        data: secretData(authorities, caKeyPem, serving),
      });
      managed = await ensureManagedCertificates(options);
    };

    try {
      // 1. A CA due for renewal gets a successor, trusted beside it before anything uses it.
      const newest = managed.authorities[0]!;
      const caLifetime = options.caValidityMs ?? defaultCaValidityMs;
      if (renewalDue(newest, now, caLifetime)) {
        const authority = await createCertificateAuthority({ validMs: caLifetime, now });
        await write(
          [authority.certificatePem, ...managed.authorityPems],
          authority.privateKeyPem,
          managed.serving,
        );
        step.caAdded = true;
        this.#logger.info(where, "added a new CA to the bundle; the old one expires soon");
      }

      // 2. The targets trust the bundle.
      const bundle = managed.serving.caCertificatePem!;
      step.injected = await injectCaBundle(options.client, options.targets, bundle, this.#logger);

      // 3. The serving certificate, from the newest CA, once the targets trusted the bundle
      //    before this check (the API server picks configurations up asynchronously).
      const serving = managed.servingCertificate;
      const issuedByNewest = serving.checkIssued(managed.authorities[0]!);
      const servingLifetime = options.servingValidityMs ?? defaultServingValidityMs;
      const due =
        renewalDue(serving, now, servingLifetime) ||
        !issuedByNewest ||
        !coversNames(serving, options.dnsNames, options.ipAddresses);
      if (due && step.injected === 0 && !step.caAdded) {
        const renewed = await issueServingCertificate(managed.authority, {
          dnsNames: options.dnsNames,
          ipAddresses: options.ipAddresses ?? [],
          validMs: servingLifetime,
          now,
        });
        await write(managed.authorityPems, managed.authority.privateKeyPem, renewed);
        step.servingRenewed = true;
        this.#logger.info(where, "renewed the webhook serving certificate");
      }

      // 4. Expired CAs leave the bundle (never the newest, which holds the key).
      const kept = managed.authorityPems.filter(
        (_pem, index) => index === 0 || Date.parse(managed.authorities[index]!.validTo) > now,
      );
      if (kept.length < managed.authorities.length) {
        step.casDropped = managed.authorities.length - kept.length;
        await write(kept, managed.authority.privateKeyPem, managed.serving);
      }
    } catch (error) {
      if (!(error instanceof RotationConflict) && !isConflict(error)) throw error;
      this.#logger.debug(where, "the Secret changed during the check; checking again next time");
    }
    return step;
  }

  /** Checks now and every `intervalMs` until `signal` aborts; failures are logged and retried. */
  async run(signal: AbortSignal): Promise<void> {
    const interval = this.#options.intervalMs ?? 60_000;
    while (!signal.aborted) {
      try {
        await this.check();
      } catch (error) {
        if (signal.aborted) break;
        this.#logger.warn(
          { secret: `${this.#options.namespace}/${this.#options.name}`, err: error },
          "checking the webhook certificates failed; retrying",
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, interval);
        signal.addEventListener(
          "abort",
          () => {
            clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      });
    }
  }
}

class RotationConflict extends Error {}
