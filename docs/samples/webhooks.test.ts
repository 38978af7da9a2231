import assert from "node:assert/strict";
import { test } from "node:test";
import { callWebhook } from "kube-operon/testkit";
import { type VolumeV1, volumeConversion } from "./conversion.ts";
import { defaultGreeting, requireTeam, validateGreeting } from "./webhooks.ts";

const greeting = (name: string, excited: boolean) => ({
  apiVersion: "example.com/v1" as const,
  kind: "Greeting" as const,
  metadata: { name: "hello", namespace: "default" },
  spec: { name, excited },
});

test("the validating webhook refuses what the schema cannot, with the field at fault", async () => {
  const shouting = await callWebhook(validateGreeting, { object: greeting("WORLD", true) });
  assert.equal(shouting.allowed, false);
  assert.equal(
    shouting.message,
    "Greeting hello is invalid: spec.excited: a name in capitals is excited already",
  );
  const renamed = await callWebhook(validateGreeting, {
    oldObject: greeting("World", false),
    object: greeting("Moon", false),
  });
  assert.equal(renamed.message, "spec.name cannot change (it was World)");
  const long = await callWebhook(validateGreeting, { object: greeting("x".repeat(41), false) });
  assert.equal(long.allowed, true);
  assert.deepEqual(long.warnings, ["names over 40 characters are cut in the ConfigMap"]);
});

test("the mutating webhook's patch gives the object its label", async () => {
  const outcome = await callWebhook(defaultGreeting, { object: greeting("World", true) });
  assert.deepEqual(outcome.object?.metadata.labels, { "example.com/tone": "excited" });
});

test("a lookup in the cache, with a cache made of plain objects", async () => {
  const pod = {
    apiVersion: "v1" as const,
    kind: "Pod" as const,
    metadata: { name: "p", namespace: "shop", labels: { team: "payments" } },
  };
  const teams = new Set(["shop/team-payments"]);
  const cache = {
    get: async <T>(_type: unknown, name: string, namespace?: string) =>
      (teams.has(`${namespace}/${name}`) ? { metadata: { name } } : undefined) as T | undefined,
    list: async () => [],
  };
  assert.equal((await callWebhook(requireTeam, { object: pod, cache })).allowed, true);
  teams.clear();
  const refused = await callWebhook(requireTeam, { object: pod, cache });
  assert.equal(refused.message, "there is no team payments in shop");
});

test("conversions run as plain functions", () => {
  const v1: VolumeV1 = {
    apiVersion: "example.com/v1",
    kind: "Volume",
    metadata: { name: "data" },
    spec: { size: "10Gi" },
  };
  const v2 = volumeConversion.convert(v1, "v2");
  assert.deepEqual((v2 as unknown as { spec: unknown }).spec, { amount: 10, unit: "Gi" });
  assert.deepEqual(volumeConversion.convert(v2, "v1"), v1);
  assert.throws(
    () => volumeConversion.convert({ ...v1, spec: { size: "lots" } }, "v2"),
    /size "lots" is not a number of Mi or Gi/,
  );
});
