import assert from "node:assert/strict";
import { test } from "node:test";
import { callSync } from "kube-operon/testkit";
import greeter from "./greeting.ts";

test("sync greets by name, with no server", async () => {
  const result = await callSync(greeter, {
    parent: {
      apiVersion: "example.com/v1",
      kind: "Greeting",
      metadata: { name: "world", namespace: "default" },
      spec: { name: "World", excited: true },
    },
  });
  assert.equal(result.status?.message, "Hello, World!");
  assert.equal(result.children?.[0]?.metadata.name, "world-greeting");
});
