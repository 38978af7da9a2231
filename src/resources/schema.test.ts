import assert from "node:assert/strict";
import { test } from "node:test";
import { FormatRegistry, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { K8s, quantityPattern } from "./index.ts";

test("the helpers are TypeBox schemas that TypeBox can check values against", () => {
  // TypeBox checks formats only once they are registered.
  if (!FormatRegistry.Has("date-time")) {
    FormatRegistry.Set("date-time", (value) => !Number.isNaN(Date.parse(value)));
  }
  const Spec = Type.Object({
    size: K8s.Enum(["small", "large"]),
    port: K8s.IntOrString(),
    memory: K8s.Quantity(),
    deadline: K8s.Nullable(Type.String()),
    labels: K8s.Map(Type.String()),
    endpoints: K8s.ListMap(Type.Object({ name: Type.String() }), ["name"]),
    zones: K8s.ListSet(Type.String()),
    values: K8s.Unknown(),
    template: K8s.Opaque(),
    config: K8s.Embedded(),
    selector: K8s.LabelSelector(),
    status: K8s.Status(),
  });
  const valid = {
    size: "small",
    port: 8080,
    memory: "1Gi",
    deadline: null,
    labels: { a: "b" },
    endpoints: [{ name: "a" }],
    zones: ["a"],
    values: [1, "x"],
    template: { spec: {} },
    config: { apiVersion: "v1", kind: "ConfigMap", metadata: {} },
    selector: { matchExpressions: [{ key: "a", operator: "In", values: ["b"] }] },
    status: {
      conditions: [
        {
          type: "Ready",
          status: "True",
          lastTransitionTime: "2024-01-01T00:00:00Z",
          reason: "Ok",
          message: "",
        },
      ],
    },
  };
  assert.equal(Value.Check(Spec, valid), true);
  assert.equal(Value.Check(Spec, { ...valid, size: "medium" }), false);
  assert.equal(Value.Check(Spec, { ...valid, port: 1.5 }), false);
  assert.equal(Value.Check(Spec, { ...valid, memory: "1 Gi" }), false);
});

test("the helpers carry the Kubernetes extensions", () => {
  assert.equal(K8s.IntOrString()["x-kubernetes-int-or-string"], true);
  assert.equal(K8s.Quantity().anyOf[1].pattern, quantityPattern);
  const bounded = K8s.IntOrString({ minimum: 1, maxLength: 5, description: "port" });
  assert.equal(bounded.description, "port");
  assert.equal(bounded.anyOf[0].minimum, 1);
  assert.equal(bounded.anyOf[1].maxLength, 5);
  assert.deepEqual(
    K8s.ListMap(Type.Object({ a: Type.String() }), ["a"])["x-kubernetes-list-map-keys"],
    ["a"],
  );
  assert.equal(K8s.ListSet(Type.String())["x-kubernetes-list-type"], "set");
  assert.equal(K8s.Map(Type.String(), { mapType: "atomic" })["x-kubernetes-map-type"], "atomic");
  assert.equal(K8s.Unknown()["x-kubernetes-preserve-unknown-fields"], true);
  assert.equal(K8s.Embedded()["x-kubernetes-embedded-resource"], true);
  assert.equal(K8s.Conditions()["x-kubernetes-list-type"], "map");
  assert.equal(K8s.DateTime().format, "date-time");
  assert.equal(K8s.Duration().format, "duration");
});

test("rule helpers add CEL rules without changing the schema", () => {
  const base = Type.Object({ a: Type.Optional(Type.String()), b: Type.Optional(Type.String()) });
  const one = K8s.ExactlyOneOf(base, ["a", "b"]);
  assert.deepEqual(one["x-kubernetes-validations"], [
    {
      rule: "[has(self.a), has(self.b)].exists_one(x, x)",
      message: "exactly one of a, b must be set",
    },
  ]);
  const most = K8s.AtMostOneOf(one, ["a", "b"]);
  assert.equal(most["x-kubernetes-validations"]?.length, 2);
  assert.equal(base["x-kubernetes-validations"], undefined, "the input is not modified");
  assert.deepEqual(K8s.Immutable(Type.String())["x-kubernetes-validations"], [
    { rule: "self == oldSelf", message: "is immutable" },
  ]);
  const validated = K8s.Validate(Type.String(), {
    rule: "self != ''",
    message: "must not be empty",
  });
  assert.equal(Value.Check(validated, "x"), true);
});

test("the quantity pattern accepts what the API server accepts", () => {
  const pattern = new RegExp(quantityPattern);
  for (const ok of ["1", "500m", "1Gi", "1.5", "+2Ki", "1e3", ".5", "10E"]) {
    assert.match(ok, pattern);
  }
  for (const bad of ["1 Gi", "Gi", "1GB", "", "1.2.3"]) {
    assert.doesNotMatch(bad, pattern);
  }
});
