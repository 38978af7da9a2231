import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeClient, Secret } from "kube-operon";
import { callSync } from "kube-operon/testkit";
import operator from "./imperative.ts";

const greeting = {
  apiVersion: "example.com/v1" as const,
  kind: "Greeting" as const,
  metadata: { name: "world", namespace: "default", uid: "u1", generation: 1 },
  spec: { name: "world", excited: false },
};

test("the imperative step is repeated safely, with a client given to callSync", async () => {
  const token: Secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "registry-token" } };
  // Only what sync calls: a stand-in for the client.
  const client = { get: async () => token } as unknown as KubeClient;
  const first = await callSync(operator, { parent: greeting, client });
  const again = await callSync(operator, { parent: greeting, client });
  assert.equal(first.status?.message, "registered as world-1");
  assert.deepEqual(again.status, first.status);
});
