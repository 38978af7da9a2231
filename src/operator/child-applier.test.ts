import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeClient } from "../client/client.ts";
import { InvalidError } from "../client/errors.ts";
import { ConfigMap } from "../resources/core.ts";
import type { KubeObject, ManagedFieldsEntry } from "../resources/object.ts";
import { handOverCreatedFields } from "./child-applier.ts";

// A ConfigMap created with {a, b} and applied since with {a} by the same manager (shapes as
// kube-apiserver returns them): `b` must move to the apply entry to be removed.
const managedFields: ManagedFieldsEntry[] = [
  {
    manager: "op",
    operation: "Update",
    apiVersion: "v1",
    fieldsType: "FieldsV1",
    fieldsV1: { "f:data": { ".": {}, "f:a": {}, "f:b": {} } },
  },
  {
    manager: "op",
    operation: "Apply",
    apiVersion: "v1",
    fieldsType: "FieldsV1",
    fieldsV1: { "f:data": { "f:a": {} } },
  },
];

function configMap(resourceVersion: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "c", namespace: "ns", uid: "u", resourceVersion, managedFields },
  };
}

test("a hand-over that loses the race with another writer is recomputed and retried", async () => {
  const patches: unknown[] = [];
  const current = "2"; // someone wrote the object after Operon's apply answered with "1"
  const client = {
    async patch(_type: unknown, _name: string, operations: { op: string; value?: unknown }[]) {
      patches.push(operations[0]!.value);
      if (operations[0]!.value !== current) {
        throw new InvalidError({ request: { verb: "patch", resource: "configmaps" }, code: 422 });
      }
      return configMap(current);
    },
    async get() {
      return configMap(current);
    },
  } as unknown as Pick<KubeClient, "get" | "patch">;
  let reapplied = 0;
  const result = await handOverCreatedFields(
    client,
    { type: ConfigMap, name: "c", namespace: "ns" },
    configMap("1"),
    "op",
    async () => {
      reapplied++;
      return configMap("3");
    },
  );
  assert.deepEqual(patches, ["1", "2"], "tried with the stale version, then the fresh one");
  assert.equal(reapplied, 1);
  assert.equal(result.writes, 2);
  assert.equal(result.object.metadata.resourceVersion, "3");
});

test("nothing to hand over: no write", async () => {
  const client = {} as Pick<KubeClient, "get" | "patch">;
  const applied: KubeObject = { ...configMap("1"), metadata: { name: "c", managedFields: [] } };
  const result = await handOverCreatedFields(
    client,
    { type: ConfigMap, name: "c", namespace: "ns" },
    applied,
    "op",
    async () => assert.fail("no second apply"),
  );
  assert.equal(result.writes, 0);
});
