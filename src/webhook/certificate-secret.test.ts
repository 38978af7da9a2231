/**
 * Operon-managed certificates against an in-memory API (objects by kind and name, resourceVersion
 * checks on updates and JSON-patch `test`s): creation and racing replicas, reload, CA injection,
 * and rotation in the order that keeps every step trusted, with lifetimes of seconds.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { describe, test } from "node:test";
import { AlreadyExistsError, ConflictError, NotFoundError } from "../client/errors.ts";
import type { KubeObject, ResourceType } from "../resources/object.ts";
import {
  CertificateRotator,
  coversNames,
  ensureManagedCertificates,
  injectCaBundle,
  readManagedCertificates,
  renewalDue,
  SecretCertificateProvider,
  splitPemBundle,
} from "./certificate-secret.ts";
import type { ServingCertificate } from "./certificates.ts";
import { caBundle, serviceDnsNames } from "./certificates.ts";
import { applyJsonPatch } from "./json-patch.ts";

/** Objects by `kind/namespace/name`, with a resourceVersion bumped on every write. */
class FakeApi {
  readonly objects = new Map<string, KubeObject>();
  writes = 0;
  #version = 1;
  /** Runs before a create or update lands, e.g. to simulate another replica. */
  beforeWrite: (() => void) | undefined;

  #key(type: ResourceType, name: string, namespace?: string) {
    return `${type.kind}/${namespace ?? ""}/${name}`;
  }

  put(object: KubeObject): KubeObject {
    const stored = structuredClone(object);
    stored.metadata.resourceVersion = String(++this.#version);
    this.objects.set(
      this.#key(object as never, stored.metadata.name!, stored.metadata.namespace),
      stored,
    );
    return structuredClone(stored);
  }

  async get<T extends KubeObject>(
    type: ResourceType<T>,
    name: string,
    options: { namespace?: string } = {},
  ): Promise<T> {
    const found = this.objects.get(this.#key(type, name, options.namespace));
    if (!found) throw new NotFoundError({ request: { verb: "get", name }, code: 404 });
    return structuredClone(found) as T;
  }

  async create<T extends KubeObject>(type: ResourceType<T>, object: unknown): Promise<T> {
    const input = {
      apiVersion: type.apiVersion,
      kind: type.kind,
      ...(object as object),
    } as KubeObject;
    this.beforeWrite?.();
    if (this.objects.has(this.#key(type, input.metadata.name!, input.metadata.namespace))) {
      throw new AlreadyExistsError({ request: { verb: "create" }, code: 409 });
    }
    this.writes++;
    return this.put(input) as T;
  }

  async update<T extends KubeObject>(type: ResourceType<T>, object: unknown): Promise<T> {
    const input = object as KubeObject;
    this.beforeWrite?.();
    const current = this.objects.get(
      this.#key(type, input.metadata.name!, input.metadata.namespace),
    );
    if (!current || current.metadata.resourceVersion !== input.metadata.resourceVersion) {
      throw new ConflictError({ request: { verb: "update" }, code: 409 });
    }
    this.writes++;
    return this.put(input) as T;
  }

  async patch<T extends KubeObject>(
    type: ResourceType<T>,
    name: string,
    patch: unknown,
  ): Promise<T> {
    const current = await this.get(type, name);
    let patched: KubeObject;
    try {
      patched = applyJsonPatch(current, patch as never) as KubeObject;
    } catch {
      throw new ConflictError({ request: { verb: "patch" }, code: 409 });
    }
    this.writes++;
    return this.put(patched) as T;
  }
}

const namespace = "ops";
const dnsNames = serviceDnsNames("myapp-webhook", namespace);
const secretKey = `Secret/${namespace}/myapp-webhook-certs`;

function options(api: FakeApi, extra: Record<string, unknown> = {}) {
  return { client: api, namespace, name: "myapp-webhook-certs", dnsNames, ...extra };
}

function configuration(kind: string, caBundleValue?: string): KubeObject {
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind,
    metadata: { name: "myapp" },
    webhooks: [
      {
        name: "vmyapp-v1.apps.example.com",
        clientConfig: {
          service: { namespace, name: "myapp-webhook" },
          ...(caBundleValue ? { caBundle: caBundleValue } : {}),
        },
      },
      {
        name: "other.apps.example.com",
        clientConfig: { service: { namespace, name: "myapp-webhook" } },
      },
    ],
  } as KubeObject;
}

function crd(strategy: "None" | "Webhook"): KubeObject {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "cronjobs.batch.example.com" },
    spec: {
      conversion:
        strategy === "None"
          ? { strategy }
          : {
              strategy,
              webhook: {
                clientConfig: { service: { namespace, name: "myapp-webhook", path: "/convert" } },
                conversionReviewVersions: ["v1"],
              },
            },
    },
  } as KubeObject;
}

describe("the Secret", () => {
  test("is created with a CA and a serving certificate for the Service's names", async () => {
    const api = new FakeApi();
    const managed = await ensureManagedCertificates(options(api));
    const secret = api.objects.get(secretKey) as unknown as { type?: string; data: object };
    assert.equal(secret.type, "Opaque");
    assert.deepEqual(Object.keys(secret.data).sort(), ["ca.crt", "ca.key", "tls.crt", "tls.key"]);
    assert.ok(coversNames(managed.servingCertificate, dnsNames));
    assert.ok(managed.servingCertificate.checkIssued(managed.authorities[0]!));
    assert.ok(managed.servingCertificate.verify(managed.authorities[0]!.publicKey));
    // A second call reads what is there.
    const again = await ensureManagedCertificates(options(api));
    assert.equal(again.serving.certificatePem, managed.serving.certificatePem);
    assert.equal(api.writes, 1);
  });

  test("an empty Secret (as generated) is filled; a replica that loses the race reads the winner's", async () => {
    const api = new FakeApi();
    api.put({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "myapp-webhook-certs", namespace },
    });
    // Another replica fills the Secret between this one's read and write.
    let raced = false;
    const winner = await ensureManagedCertificates(options(new FakeApi()));
    api.beforeWrite = () => {
      if (raced) return;
      raced = true;
      const secret = api.objects.get(secretKey)!;
      api.put({
        ...secret,
        data: {
          "ca.crt": Buffer.from(winner.authority.certificatePem).toString("base64"),
          "ca.key": Buffer.from(winner.authority.privateKeyPem).toString("base64"),
          "tls.crt": Buffer.from(winner.serving.certificatePem).toString("base64"),
          "tls.key": Buffer.from(winner.serving.privateKeyPem).toString("base64"),
        },
      } as KubeObject);
    };
    const managed = await ensureManagedCertificates(options(api));
    assert.equal(managed.serving.certificatePem, winner.serving.certificatePem);
  });

  test("a Secret whose certificate and key do not match is not used", async () => {
    const api = new FakeApi();
    const a = await ensureManagedCertificates(options(api));
    const b = await ensureManagedCertificates(options(new FakeApi()));
    const secret = api.objects.get(secretKey) as KubeObject & { data: Record<string, string> };
    secret.data["tls.key"] = Buffer.from(b.serving.privateKeyPem).toString("base64");
    assert.equal(readManagedCertificates(secret as never), undefined);
    assert.ok(a);
  });

  test("the provider reports a rotated pair once, and keeps the current one when the Secret breaks", async () => {
    const api = new FakeApi();
    const provider = new SecretCertificateProvider({ ...options(api), pollIntervalMs: 60_000 });
    const seen: ServingCertificate[] = [];
    const first = await provider.start((pair) => seen.push(pair));
    await provider.reload((pair) => seen.push(pair));
    assert.equal(seen.length, 0, "nothing changed");
    const rotated = await ensureManagedCertificates(options(new FakeApi()));
    const secret = api.objects.get(secretKey)!;
    api.put({
      ...secret,
      data: {
        "ca.crt": Buffer.from(rotated.authority.certificatePem).toString("base64"),
        "ca.key": Buffer.from(rotated.authority.privateKeyPem).toString("base64"),
        "tls.crt": Buffer.from(rotated.serving.certificatePem).toString("base64"),
        "tls.key": Buffer.from(rotated.serving.privateKeyPem).toString("base64"),
      },
    } as KubeObject);
    await provider.reload((pair) => seen.push(pair));
    await provider.reload((pair) => seen.push(pair));
    assert.equal(seen.length, 1);
    assert.notEqual(seen[0]!.certificatePem, first.certificatePem);
    api.put({ ...api.objects.get(secretKey)!, data: {} } as KubeObject);
    await provider.reload((pair) => seen.push(pair));
    assert.equal(seen.length, 1);
    assert.equal(provider.current?.certificatePem, seen[0]!.certificatePem);
    provider.close();
  });
});

describe("CA injection", () => {
  test("sets caBundle where it differs, on configurations and Webhook-converting CRDs only", async () => {
    const api = new FakeApi();
    api.put(configuration("ValidatingWebhookConfiguration"));
    api.put(configuration("MutatingWebhookConfiguration", caBundle("old")));
    api.put(crd("Webhook"));
    api.put({ ...crd("None"), metadata: { name: "plain.batch.example.com" } } as KubeObject);
    const targets = {
      validatingWebhookConfigurations: ["myapp"],
      mutatingWebhookConfigurations: ["myapp", "missing"],
      customResourceDefinitions: ["cronjobs.batch.example.com", "plain.batch.example.com"],
    };
    assert.equal(await injectCaBundle(api, targets, "PEM"), 3);
    const encoded = caBundle("PEM");
    for (const kind of ["ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"]) {
      const config = api.objects.get(`${kind}//myapp`) as unknown as {
        webhooks: { clientConfig: { caBundle?: string; service?: unknown } }[];
      };
      assert.deepEqual(
        config.webhooks.map((w) => w.clientConfig.caBundle),
        [encoded, encoded],
      );
      assert.ok(config.webhooks[0]!.clientConfig.service, "the rest of clientConfig is kept");
    }
    const converted = api.objects.get(
      "CustomResourceDefinition//cronjobs.batch.example.com",
    ) as never as {
      spec: { conversion: { webhook: { clientConfig: { caBundle: string } } } };
    };
    assert.equal(converted.spec.conversion.webhook.clientConfig.caBundle, encoded);
    assert.deepEqual(
      (
        api.objects.get("CustomResourceDefinition//plain.batch.example.com") as never as {
          spec: unknown;
        }
      ).spec,
      { conversion: { strategy: "None" } },
    );
    const writes = api.writes;
    assert.equal(await injectCaBundle(api, targets, "PEM"), 0, "nothing to change: no writes");
    assert.equal(api.writes, writes);
  });
});

describe("rotation", () => {
  const second = 1_000;

  test("a serving certificate with a third of its life left is renewed from the same CA", async () => {
    const api = new FakeApi();
    let now = Date.now();
    const rotator = new CertificateRotator({
      ...options(api),
      servingValidityMs: 30 * second,
      targets: {},
      now: () => now,
    });
    const first = await rotator.check();
    assert.deepEqual(first, { caAdded: false, servingRenewed: false, casDropped: 0, injected: 0 });
    const before = readManagedCertificates(api.objects.get(secretKey) as never)!;
    // Certificates are backdated 5 minutes; 30 s of life minus the last third.
    now = Date.parse(before.servingCertificate.validTo) - 9 * second;
    assert.ok(renewalDue(before.servingCertificate, now, 30 * second));
    const step = await rotator.check();
    assert.equal(step.servingRenewed, true);
    const after = readManagedCertificates(api.objects.get(secretKey) as never)!;
    assert.notEqual(after.serving.certificatePem, before.serving.certificatePem);
    assert.equal(after.authority.certificatePem, before.authority.certificatePem, "same CA");
    assert.equal(after.serving.caCertificatePem, before.serving.caCertificatePem, "same bundle");
  });

  test("a new CA is trusted first; the serving certificate moves to it only once the targets trusted it", async () => {
    const api = new FakeApi();
    api.put(configuration("ValidatingWebhookConfiguration"));
    let now = Date.now();
    const rotator = new CertificateRotator({
      ...options(api),
      caValidityMs: 30 * second,
      servingValidityMs: 3600 * second,
      targets: { validatingWebhookConfigurations: ["myapp"] },
      now: () => now,
    });
    const first = await rotator.check();
    assert.equal(first.injected, 1);
    const original = readManagedCertificates(api.objects.get(secretKey) as never)!;
    now = Date.parse(original.authorities[0]!.validTo) - 5 * second;

    // 1. A second CA joins the bundle and the bundle is injected; the old serving certificate stays.
    const adding = await rotator.check();
    assert.equal(adding.caAdded, true);
    assert.equal(adding.injected, 1);
    assert.equal(adding.servingRenewed, false);
    const both = readManagedCertificates(api.objects.get(secretKey) as never)!;
    assert.equal(both.authorities.length, 2);
    assert.equal(both.authorities[1]!.fingerprint256, original.authorities[0]!.fingerprint256);
    assert.equal(both.serving.certificatePem, original.serving.certificatePem);
    const injected = (
      api.objects.get("ValidatingWebhookConfiguration//myapp") as never as {
        webhooks: { clientConfig: { caBundle: string } }[];
      }
    ).webhooks[0]!.clientConfig.caBundle;
    assert.equal(splitPemBundle(Buffer.from(injected, "base64").toString()).length, 2);

    // 2. The targets trusted both at the previous check: the serving certificate moves.
    const moving = await rotator.check();
    assert.equal(moving.injected, 0);
    assert.equal(moving.servingRenewed, true);
    const moved = readManagedCertificates(api.objects.get(secretKey) as never)!;
    assert.ok(moved.servingCertificate.checkIssued(moved.authorities[0]!));

    // 3. Once the old CA has expired, it leaves the bundle (and the targets follow).
    now = Date.parse(original.authorities[0]!.validTo) + second;
    const dropping = await rotator.check();
    assert.equal(dropping.casDropped, 1);
    const last = await rotator.check();
    assert.equal(last.injected, 1);
    const final = readManagedCertificates(api.objects.get(secretKey) as never)!;
    assert.equal(final.authorities.length, 1);
    assert.equal(
      new X509Certificate(final.authority.certificatePem).fingerprint256,
      moved.authorities[0]!.fingerprint256,
    );
  });

  test("a serving certificate that no longer covers the Service's names is re-issued", async () => {
    const api = new FakeApi();
    await ensureManagedCertificates(options(api));
    const renamed = serviceDnsNames("renamed-webhook", namespace);
    const rotator = new CertificateRotator({ ...options(api), dnsNames: renamed, targets: {} });
    const step = await rotator.check();
    assert.equal(step.servingRenewed, true);
    const managed = readManagedCertificates(api.objects.get(secretKey) as never)!;
    assert.ok(coversNames(managed.servingCertificate, renamed));
  });
});
