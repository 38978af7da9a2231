/**
 * Admission webhooks against the real API server: the server runs on 127.0.0.1 with a development
 * certificate, and the configurations reach it by URL with the CA bundle injected. Every
 * configuration is scoped to its test's namespace, so other tests on the shared control plane
 * never meet these webhooks.
 */
import assert from "node:assert/strict";
import { after, before, type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Agent, request } from "undici";
import {
  isForbidden,
  isNotFound,
  KubeClient,
  type KubeError,
  loadKubeConfig,
} from "../client/index.ts";
import { ConfigMap } from "../resources/core.ts";
import { type ControlPlane, testControlPlane } from "../testkit/index.ts";
import {
  installWebhookConfigurations,
  uninstallWebhookConfigurations,
  webhookConfigurations,
} from "./configuration.ts";
import { Denied } from "./denied.ts";
import { WebhookServer } from "./server.ts";
import type { AdmissionContext } from "./types.ts";
import { mutatingWebhook, validatingWebhook, type Webhook } from "./webhook.ts";

let plane: ControlPlane;
let client: KubeClient;

before(async () => {
  plane = await testControlPlane();
  client = await KubeClient.fromKubeConfig({
    kubeconfig: plane.kubeconfigPath,
    fieldManager: "operon-webhook-test",
  });
});
after(() => client?.close());

const inNamespace = (namespace: string) => ({
  namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } },
});

/** Handlers answer `probe-*` objects at once, so a test can tell when its webhooks are live. */
class Probes {
  readonly #seen = new Set<string>();
  #count = 0;

  /** True (and recorded) when this call is a probe: the handler should return straight away. */
  hit(webhook: string, context: AdmissionContext<ConfigMap>): boolean {
    if (!context.name.startsWith("probe-")) return false;
    this.#seen.add(webhook);
    return true;
  }

  /**
   * Waits until every webhook has answered a probe. The API server picks configurations up
   * asynchronously; dry-run creates leave nothing behind while polling.
   */
  async waitFor(namespace: string, webhooks: readonly Webhook[]): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (!webhooks.every((webhook) => this.#seen.has(webhook.name))) {
      if (Date.now() > deadline) throw new Error("the webhooks did not become active within 30 s");
      const name = `probe-${++this.#count}`;
      await client
        .create(ConfigMap, { metadata: { name, namespace } }, { dryRun: true })
        .catch(() => undefined);
      await sleep(100);
    }
  }
}

/** Serves `webhooks`, registers them with the API server and waits until they are called. */
async function serve(t: TestContext, namespace: string, probes: Probes, webhooks: Webhook[]) {
  const server = new WebhookServer({
    webhooks,
    certificates: { mode: "development", ipAddresses: ["127.0.0.1"] },
    port: 0,
    host: "127.0.0.1",
  });
  await server.start();
  const configurations = webhookConfigurations({
    name: `operon-test-${namespace}`,
    webhooks,
    endpoint: { url: server.url },
    caCertificatePem: server.caCertificatePem!,
  });
  t.after(async () => {
    await uninstallWebhookConfigurations(client, configurations);
    await server.close({ graceMs: 1_000 });
  });
  const applied = await installWebhookConfigurations(client, configurations);
  assert.equal(applied.length, configurations.length);
  await probes.waitFor(namespace, webhooks);
  return server;
}

function configMap(namespace: string, name: string, data?: Record<string, string>) {
  return { metadata: { name, namespace }, ...(data ? { data } : {}) };
}

test("a denied create is refused with the handler's reason; allowed and UPDATE checks work", async (t) => {
  const namespace = await plane.createNamespace("webhook-deny");
  const probes = new Probes();
  const name = `owner.${namespace}.operon.test`;
  const requireOwner = validatingWebhook(ConfigMap, {
    name,
    ...inNamespace(namespace),
    validate: (ctx) => {
      if (probes.hit(name, ctx)) return;
      if (!ctx.object?.data?.owner) return { allowed: false, reason: "data.owner is required" };
      if (ctx.operation === "UPDATE" && ctx.oldObject.data?.owner !== ctx.object.data.owner) {
        throw new Denied(`the owner cannot change from ${ctx.oldObject.data?.owner}`, {
          code: 422,
        });
      }
      return { allowed: true };
    },
  });
  await serve(t, namespace, probes, [requireOwner]);

  const refused = await client
    .create(ConfigMap, configMap(namespace, "no-owner"))
    .catch((error: KubeError) => error);
  assert.ok(isForbidden(refused), `expected 403, got ${refused}`);
  assert.match(
    refused.serverMessage ?? "",
    new RegExp(
      `admission webhook "${name.replaceAll(".", "\\.")}" denied the request: data\\.owner is required`,
    ),
  );
  assert.match(refused.message, /data\.owner is required/);
  await assert.rejects(client.get(ConfigMap, "no-owner", { namespace }), isNotFound);

  const created = await client.create(ConfigMap, configMap(namespace, "owned", { owner: "alice" }));
  assert.equal(created.data?.owner, "alice");

  const changed = await client
    .update(ConfigMap, { ...created, data: { owner: "bob" } })
    .catch((error: KubeError) => error);
  assert.equal((changed as KubeError).code, 422);
  assert.match((changed as KubeError).serverMessage ?? "", /the owner cannot change from alice/);
});

test("warnings reach the client as Warning response headers", async (t) => {
  const namespace = await plane.createNamespace("webhook-warn");
  const probes = new Probes();
  const name = `warn.${namespace}.operon.test`;
  const warner = validatingWebhook(ConfigMap, {
    name,
    ...inNamespace(namespace),
    validate: (ctx) => {
      if (probes.hit(name, ctx)) return;
      ctx.warn("data.legacy is deprecated");
      return { allowed: true, warnings: ["second warning"] };
    },
  });
  await serve(t, namespace, probes, [warner]);

  // The client does not surface warnings, so this request is made by hand with the admin identity.
  const cluster = await loadKubeConfig({ kubeconfig: plane.kubeconfigPath });
  const agent = new Agent({
    connect: { ca: cluster.tls.ca, cert: cluster.tls.cert, key: cluster.tls.key },
  });
  try {
    const response = await request(`${cluster.server}/api/v1/namespaces/${namespace}/configmaps`, {
      method: "POST",
      dispatcher: agent,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        apiVersion: "v1",
        kind: "ConfigMap",
        ...configMap(namespace, "warned", { legacy: "1" }),
      }),
    });
    await response.body.text();
    assert.equal(response.statusCode, 201);
    const header = response.headers.warning;
    const warnings = Array.isArray(header) ? header : String(header ?? "").split(/,\s*(?=\d{3} )/);
    assert.deepEqual(warnings, ['299 - "data.legacy is deprecated"', '299 - "second warning"']);
  } finally {
    await agent.close();
  }
});

test("a mutation is applied: the stored object has the patched fields", async (t) => {
  const namespace = await plane.createNamespace("webhook-mutate");
  const probes = new Probes();
  const name = `defaults.${namespace}.operon.test`;
  const defaults = mutatingWebhook(ConfigMap, {
    name,
    operations: ["CREATE"],
    ...inNamespace(namespace),
    mutate: (ctx) => {
      if (probes.hit(name, ctx) || !ctx.object) return;
      const object = ctx.object;
      object.metadata.labels = { ...object.metadata.labels, "example.com/managed": "true" };
      object.metadata.annotations =
        ctx.name === "tilde" ? { "example.com/odd~key": "x" } : { "example.com/note": "a/b~c" };
      object.data = { ...object.data, defaulted: "yes" };
      delete object.data.remove;
      return object;
    },
  });
  await serve(t, namespace, probes, [defaults]);

  const created = await client.create(ConfigMap, {
    metadata: { name: "mutated", namespace, labels: { app: "web" } },
    data: { keep: "1", remove: "me" },
  });
  const stored = await client.get(ConfigMap, "mutated", { namespace });
  for (const object of [created, stored]) {
    assert.deepEqual(object.metadata.labels, { app: "web", "example.com/managed": "true" });
    assert.deepEqual(object.metadata.annotations, { "example.com/note": "a/b~c" });
    assert.deepEqual(object.data, { keep: "1", defaulted: "yes" });
  }
  // No ConfigMap field may hold "~" in a key, but the API server's validation error names the key
  // it got after applying the patch: "~0" in the patch path arrived as "~".
  const tilde = await client
    .create(ConfigMap, configMap(namespace, "tilde"))
    .catch((error: KubeError) => error);
  assert.equal((tilde as KubeError).code, 422);
  assert.match(
    (tilde as KubeError).serverMessage ?? "",
    /metadata\.annotations: Invalid value: "example\.com\/odd~key"/,
  );
});

async function slowWebhookTest(t: TestContext, failurePolicy: "Fail" | "Ignore") {
  const namespace = await plane.createNamespace(`webhook-${failurePolicy.toLowerCase()}`);
  const probes = new Probes();
  const name = `slow.${namespace}.operon.test`;
  const outcomes: string[] = [];
  const slow = validatingWebhook(ConfigMap, {
    name,
    timeoutSeconds: 1,
    failurePolicy,
    ...inNamespace(namespace),
    validate: async (ctx) => {
      if (probes.hit(name, ctx)) return;
      try {
        await sleep(3_000, undefined, { signal: ctx.signal });
        outcomes.push("finished");
      } catch {
        outcomes.push("aborted");
      }
      return { allowed: false, reason: "too late to matter" };
    },
  });
  await serve(t, namespace, probes, [slow]);
  const result = await client
    .create(ConfigMap, configMap(namespace, "slow", { a: "1" }))
    .catch((error: KubeError) => error);
  // The handler's work is cancelled at the deadline, not left running for the full 3 s.
  const deadline = Date.now() + 2_500;
  while (outcomes.length === 0 && Date.now() < deadline) await sleep(50);
  assert.deepEqual(outcomes, ["aborted"]);
  return { namespace, result };
}

test("a webhook that times out with failurePolicy Fail rejects the request", async (t) => {
  const { namespace, result } = await slowWebhookTest(t, "Fail");
  assert.ok(result instanceof Error, "the create must fail");
  const error = result as KubeError;
  assert.match(error.serverMessage ?? error.message, /failed calling webhook/);
  assert.match(error.serverMessage ?? error.message, /deadline exceeded|timeout|Timeout/);
  await assert.rejects(client.get(ConfigMap, "slow", { namespace }), isNotFound);
});

test("a webhook that times out with failurePolicy Ignore lets the request through", async (t) => {
  const { namespace, result } = await slowWebhookTest(t, "Ignore");
  assert.ok(!(result instanceof Error), `the create must succeed, got ${result}`);
  assert.equal((await client.get(ConfigMap, "slow", { namespace })).data?.a, "1");
});

test("dry-run requests reach the handler with dryRun true and are not persisted", async (t) => {
  const namespace = await plane.createNamespace("webhook-dryrun");
  const probes = new Probes();
  const seen = new Map<string, boolean>();
  const name = `dryrun.${namespace}.operon.test`;
  const recorder = validatingWebhook(ConfigMap, {
    name,
    ...inNamespace(namespace),
    validate: (ctx) => {
      if (probes.hit(name, ctx)) return;
      seen.set(ctx.name, ctx.dryRun);
    },
  });
  const mutatorName = `dryrun-mutate.${namespace}.operon.test`;
  const mutator = mutatingWebhook(ConfigMap, {
    name: mutatorName,
    ...inNamespace(namespace),
    mutate: (ctx) => {
      if (probes.hit(mutatorName, ctx) || !ctx.object) return;
      ctx.object.data = { ...ctx.object.data, dryRun: String(ctx.dryRun) };
    },
  });
  await serve(t, namespace, probes, [recorder, mutator]);

  const dry = await client.create(ConfigMap, configMap(namespace, "dry"), { dryRun: true });
  assert.equal(dry.data?.dryRun, "true", "the dry-run answer carries the mutation");
  await assert.rejects(client.get(ConfigMap, "dry", { namespace }), isNotFound);
  await client.create(ConfigMap, configMap(namespace, "wet"));
  assert.equal((await client.get(ConfigMap, "wet", { namespace })).data?.dryRun, "false");
  assert.deepEqual(Object.fromEntries(seen), { dry: true, wet: false });
});
