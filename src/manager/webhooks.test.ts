import assert from "node:assert/strict";
import { test } from "node:test";
import { Agent, request } from "undici";
import type { KubeClient } from "../client/client.ts";
import { silentLogger } from "../logger.ts";
import { ConfigMap } from "../resources/core.ts";
import { noWebhookMetrics } from "../webhook/metrics.ts";
import { validatingWebhook } from "../webhook/webhook.ts";
import { type WebhookServerDependencies, WebhookServerRunnable } from "./webhooks.ts";

const check = validatingWebhook(ConfigMap, { validate: () => {} });

function dependencies(
  overrides: Partial<WebhookServerDependencies> = {},
): WebhookServerDependencies {
  return {
    webhooks: [check],
    conversions: [],
    settings: { bindAddress: "127.0.0.1:0" },
    client: () => {
      throw new Error("no client in this test");
    },
    logger: silentLogger,
    metrics: noWebhookMetrics,
    cache: { get: async () => undefined, list: async () => [] },
    defaultConfigurationName: "myapp",
    graceMs: 1_000,
    ...overrides,
  };
}

test("the webhook runnable is ready only while its server listens", async () => {
  const runnable = new WebhookServerRunnable(dependencies());
  assert.equal(runnable.needLeaderElection, false, "served on every replica");
  assert.equal(runnable.listening, false);
  await runnable.start();
  assert.equal(runnable.listening, true);
  const server = runnable.server!;
  const agent = new Agent({ connect: { ca: server.caCertificatePem! } });
  try {
    const response = await request(`${server.url}/healthz`, { dispatcher: agent });
    assert.equal(await response.body.text(), "ok\n");
  } finally {
    await agent.close();
  }
  await runnable.stop(0);
  assert.equal(runnable.listening, false);
});

test("settings are checked when the runnable is made", () => {
  assert.throws(
    () =>
      new WebhookServerRunnable(
        dependencies({ settings: { install: true }, defaultConfigurationName: undefined }),
      ),
    /configurationName is needed/,
  );
  assert.throws(
    () =>
      new WebhookServerRunnable(
        dependencies({
          settings: { install: true, certificates: { mode: "directory", directory: "/certs" } },
        }),
      ),
    /uses a development certificate/,
  );
  assert.throws(
    () => new WebhookServerRunnable(dependencies({ settings: { bindAddress: "9443" } })),
    /bind address "9443" is not valid/,
  );
  const secret = new WebhookServerRunnable(
    dependencies({
      settings: {
        certificates: {
          mode: "secret",
          secret: { name: "certs", namespace: "ops" },
          service: { name: "hooks", namespace: "ops" },
        },
      },
      client: () => ({}) as KubeClient,
    }),
  );
  assert.equal(secret.rotator()?.needLeaderElection, true, "the leader injects and rotates");
  assert.deepEqual(secret.caBundleTargets(), {
    validatingWebhookConfigurations: ["myapp"],
    mutatingWebhookConfigurations: [],
    customResourceDefinitions: [],
  });
  assert.equal(new WebhookServerRunnable(dependencies()).rotator(), undefined);
});
