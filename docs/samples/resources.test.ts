import assert from "node:assert/strict";
import { test } from "node:test";
import { callSync } from "kube-operon/testkit";
import { customResourceDefinition } from "../../src/manifests/crd.ts";
import certificates from "./foreign-kind.ts";
import { Database } from "./resources.ts";

test("the Database kind of docs/resources.md makes a CRD with the helpers' shapes", () => {
  const crd = customResourceDefinition(Database);
  const spec = crd.spec.versions[0]?.schema?.openAPIV3Schema?.properties?.spec;
  const fields = spec?.properties ?? {};
  assert.deepEqual(fields.volumeClaimTemplates, {
    type: "array",
    items: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
  });
  assert.equal(fields.template?.type, "object");
  assert.equal(fields.port?.["x-kubernetes-int-or-string"], true);
  assert.equal(fields.users?.["x-kubernetes-list-type"], "map");
  assert.ok(spec?.required?.includes("source"), "a field without Type.Optional is required");
  assert.ok(!spec?.required?.includes("settings"), "Type.Optional fields are not");
});

test("a kind Operon does not ship is a child like any other", async () => {
  const result = await callSync(certificates, {
    parent: {
      apiVersion: "example.com/v1",
      kind: "Greeting",
      metadata: { name: "web", namespace: "default" },
      spec: { name: "Web", excited: false },
    },
  });
  assert.equal(result.children?.[0]?.kind, "Certificate");
  assert.equal(result.status?.message, "waiting for the certificate");
});
