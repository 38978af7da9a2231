/**
 * Webhooks served by a Manager, in process, against the real API server: a manager with nothing
 * but a webhook and runnables of its own, installing its configuration for development, ready only
 * once the webhook server serves, a handler reading the informer cache, and everything removed
 * and stopped in order on `stop()`. The webhook is scoped to the test's namespace.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { KubeClient, type KubeError } from "../client/index.ts";
import { silentLogger } from "../logger.ts";
import { ValidatingWebhookConfiguration } from "../resources/admissionregistration.ts";
import { ConfigMap } from "../resources/core.ts";
import { type ControlPlane, testControlPlane } from "../testkit/index.ts";
import { eventually, getOrUndefined } from "../testkit/operator-harness.ts";
import { validatingWebhook } from "../webhook/webhook.ts";
import { Manager } from "./manager.ts";
import type { Runnable } from "./runnable.ts";

let plane: ControlPlane;
let client: KubeClient;

before(async () => {
  plane = await testControlPlane();
  client = await KubeClient.fromKubeConfig({
    kubeconfig: plane.kubeconfigPath,
    fieldManager: "operon-test",
  });
});
after(() => client?.close());

test("a manager serves a webhook that reads its cache, ready once serving, and cleans up on stop", async () => {
  const namespace = await plane.createNamespace("manager-webhook");
  const configurationName = `operon-test-${namespace}`;
  const events: string[] = [];
  const runnable = (name: string, needLeaderElection: boolean): Runnable => ({
    name,
    needLeaderElection,
    start: (signal) => {
      events.push(`start ${name}`);
      signal.addEventListener("abort", () => events.push(`aborted ${name}`));
    },
    stop: () => {
      events.push(`stop ${name}`);
    },
  });
  // One owner per team: a ConfigMap naming a team another ConfigMap names already is refused.
  const uniqueTeam = validatingWebhook(ConfigMap, {
    name: `team.${namespace}.operon.test`,
    namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } },
    validate: async ({ object, cache }) => {
      const team = object?.data?.team;
      if (!object || !team) return;
      const taken = (await cache.list(ConfigMap, { namespace: object.metadata.namespace })).find(
        (other) => other.data?.team === team && other.metadata.name !== object.metadata.name,
      );
      if (taken) {
        return {
          allowed: false,
          reason: `team ${team} belongs to ConfigMap ${taken.metadata.name}`,
          causes: [{ field: "data.team", message: "is taken" }],
        };
      }
    },
  });
  const manager = new Manager({
    client,
    logger: silentLogger,
    healthProbeBindAddress: "127.0.0.1:0",
    metricsBindAddress: "127.0.0.1:0",
    webhookServer: { bindAddress: "127.0.0.1:0", install: true, configurationName },
  });
  manager.add(uniqueTeam, runnable("everywhere", false), runnable("leader-only", true));
  await manager.start();
  try {
    assert.deepEqual(
      manager.runnables.map((r) => r.name),
      ["metrics server", "probe server", "webhook server", "everywhere", "leader-only"],
    );
    assert.deepEqual(events, ["start everywhere", "start leader-only"]);
    const readyz = await fetch(`${manager.healthProbeUrl}/readyz?verbose`);
    assert.equal(readyz.status, 200);
    assert.match(await readyz.text(), /\[\+\]webhook ok/);
    const installed = await client.get(ValidatingWebhookConfiguration, configurationName);
    assert.equal(
      installed.webhooks?.[0]?.clientConfig.url?.startsWith(manager.webhookServer!.url),
      true,
    );

    await client.create(ConfigMap, { metadata: { name: "first", namespace }, data: { team: "a" } });
    // The API server calls the webhook soon after it is installed; until then creates pass.
    const refused = await eventually(async () => {
      const attempt = await client
        .create(
          ConfigMap,
          { metadata: { name: "second", namespace }, data: { team: "a" } },
          { dryRun: true },
        )
        .catch((error: KubeError) => error);
      return attempt instanceof Error ? attempt : undefined;
    });
    assert.equal(refused.code, 403);
    assert.match(
      refused.serverMessage ?? "",
      new RegExp(
        `admission webhook "team\\.${namespace}\\.operon\\.test" denied the request: team a belongs to ConfigMap first: data\\.team: is taken`,
      ),
    );
    await client.create(ConfigMap, { metadata: { name: "other", namespace }, data: { team: "b" } });
    const metrics = await (await fetch(`${manager.metricsUrl}/metrics`)).text();
    assert.match(
      metrics,
      /^controller_runtime_webhook_requests_total\{webhook="\/validate--v1-configmap",code="200"\} [1-9]/m,
    );
  } finally {
    await manager.stop();
  }
  assert.deepEqual(events.slice(2), [
    "stop leader-only",
    "aborted leader-only",
    "stop everywhere",
    "aborted everywhere",
  ]);
  assert.equal(
    await getOrUndefined(client, ValidatingWebhookConfiguration, configurationName),
    undefined,
  );
  // Without the webhook, the API server admits what it refused (it may take a moment to notice).
  await eventually(async () => {
    const attempt = await client
      .create(
        ConfigMap,
        { metadata: { name: "second", namespace }, data: { team: "a" } },
        { dryRun: true },
      )
      .catch(() => undefined);
    if (!attempt) await sleep(200);
    return attempt;
  });
});
