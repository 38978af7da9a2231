/**
 * Every `K8s.*` schema helper against the real API server: one kind uses each of them, its
 * generated CRD is installed, and a valid object is created and read back with every value kept.
 * A helper added to `K8s` without a field here fails the first test, so none ships untried.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { Type } from "@sinclair/typebox";
import { KubeClient } from "../client/client.ts";
import { installCustomResources } from "../manager/install.ts";
import type { ConfigMap } from "../resources/core.ts";
import {
  CustomResourceDefinition,
  defineResource,
  K8s,
  type ObjectOf,
  type PersistentVolumeClaim,
  type PodTemplateSpec,
} from "../resources/index.ts";
import { testControlPlane } from "../testkit/shared.ts";
import { customResourceDefinition } from "./crd.ts";

const group = `helpers-${randomBytes(3).toString("hex")}.operon.example.com`;

/** The helper each field of the spec or status exercises. */
const covered: Record<keyof typeof K8s, string> = {
  IntOrString: "spec.port",
  Quantity: "spec.memory",
  Enum: "spec.size",
  Nullable: "spec.deadline",
  Map: "spec.labels",
  ListMap: "spec.endpoints",
  ListSet: "spec.zones",
  Unknown: "spec.values",
  Opaque: "spec.template",
  OpaqueList: "spec.volumeClaimTemplates",
  PreserveUnknownFields: "spec.extra",
  Embedded: "spec.config",
  DateTime: "spec.since",
  Duration: "spec.interval",
  LabelSelector: "spec.selector",
  Condition: "status.lastCondition",
  Conditions: "status.conditions",
  ObservedGeneration: "status.observedGeneration",
  Status: "status",
  Validate: "spec.range",
  Immutable: "spec.storageClass",
  ExactlyOneOf: "spec.source",
  AtMostOneOf: "spec.auth",
};

const Everything = defineResource({
  group,
  version: "v1",
  kind: "Everything",
  plural: "everythings",
  scope: "Namespaced",
  spec: Type.Object({
    port: K8s.IntOrString(),
    memory: K8s.Quantity(),
    size: K8s.Enum(["small", "large"]),
    deadline: K8s.Nullable(Type.String()),
    labels: K8s.Map(Type.String()),
    endpoints: K8s.ListMap(Type.Object({ name: Type.String(), url: Type.String() }), ["name"]),
    zones: K8s.ListSet(Type.String()),
    values: K8s.Unknown(),
    template: K8s.Opaque<PodTemplateSpec>(),
    volumeClaimTemplates: K8s.OpaqueList<PersistentVolumeClaim>(),
    extra: K8s.PreserveUnknownFields(Type.Object({ version: Type.String() })),
    config: K8s.Embedded<ConfigMap>(),
    since: K8s.DateTime(),
    interval: K8s.Duration(),
    selector: K8s.LabelSelector(),
    range: K8s.Validate(Type.Object({ min: Type.Integer(), max: Type.Integer() }), {
      rule: "self.min <= self.max",
      message: "min must not exceed max",
    }),
    storageClass: K8s.Immutable(Type.String()),
    source: K8s.ExactlyOneOf(
      Type.Object({ git: Type.Optional(Type.String()), image: Type.Optional(Type.String()) }),
      ["git", "image"],
    ),
    auth: K8s.AtMostOneOf(
      Type.Object({
        token: Type.Optional(Type.String()),
        password: Type.Optional(Type.String()),
      }),
      ["token", "password"],
    ),
  }),
  status: K8s.Status({ lastCondition: Type.Optional(K8s.Condition()) }),
});
type Everything = ObjectOf<typeof Everything>;

const condition = {
  type: "Ready",
  status: "True" as const,
  observedGeneration: 1,
  lastTransitionTime: "2030-01-01T00:00:00Z",
  reason: "Done",
  message: "all good",
};

function spec(namespace: string): Everything["spec"] {
  return {
    port: "http",
    memory: "512Mi",
    size: "large",
    deadline: null,
    labels: { team: "a" },
    endpoints: [{ name: "a", url: "https://a.example.com" }],
    zones: ["a", "b"],
    values: [1, "two", { three: true }],
    template: {
      metadata: { labels: { app: "db" } },
      spec: { containers: [{ name: "db", image: "postgres:17" }] },
    },
    volumeClaimTemplates: [
      {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: { name: "data" },
        spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
      },
    ],
    extra: { version: "1", other: { kept: true } } as Everything["spec"]["extra"],
    config: {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "c", namespace },
      data: { a: "b" },
    },
    since: "2030-01-01T00:00:00Z",
    interval: "1h30m",
    selector: {
      matchLabels: { app: "db" },
      matchExpressions: [{ key: "tier", operator: "In", values: ["backend"] }],
    },
    range: { min: 1, max: 2 },
    storageClass: "fast",
    source: { image: "postgres:17" },
    auth: {},
  };
}

describe("every K8s helper on a real API server", () => {
  let client: KubeClient;
  let namespace: string;

  before(async () => {
    const plane = await testControlPlane();
    namespace = await plane.createNamespace("helpers");
    client = await KubeClient.fromKubeConfig({
      kubeconfig: plane.kubeconfigPath,
      fieldManager: "test",
    });
    await installCustomResources(client, [Everything]);
  });

  after(async () => {
    if (!client) return;
    await client
      .delete(CustomResourceDefinition, customResourceDefinition(Everything).metadata.name!)
      .catch(() => {});
    await client.close();
  });

  test("the kind uses every helper", () => {
    const crd = JSON.stringify(customResourceDefinition(Everything));
    for (const [helper, path] of Object.entries(covered)) {
      const field = path.split(".").at(-1)!;
      assert.ok(crd.includes(`"${field}"`), `${helper} is exercised by ${path}`);
    }
    assert.deepEqual(Object.keys(covered).sort(), Object.keys(K8s).sort());
  });

  test("a valid object is created, and every value reads back as written", async () => {
    const written = spec(namespace);
    const created = await client.create(Everything, {
      metadata: { name: "all", namespace },
      spec: written,
    });
    assert.deepEqual(created.spec, written);
    const stored = await client.get(Everything, "all", { namespace });
    assert.deepEqual(stored.spec.volumeClaimTemplates, written.volumeClaimTemplates);
    assert.deepEqual(stored.spec.template, written.template);
    assert.deepEqual(stored.spec.extra, written.extra, "unknown fields beside declared ones kept");

    await client.applyStatus(Everything, {
      apiVersion: Everything.apiVersion,
      kind: "Everything",
      metadata: { name: "all", namespace },
      status: { observedGeneration: 1, conditions: [condition], lastCondition: condition },
    });
    const withStatus = await client.get(Everything, "all", { namespace });
    assert.deepEqual(withStatus.status, {
      observedGeneration: 1,
      conditions: [condition],
      lastCondition: condition,
    });
  });

  test("the rules the helpers carry are enforced", async () => {
    const refused = async (name: string, change: Partial<Everything["spec"]>, pattern: RegExp) => {
      await assert.rejects(
        client.create(Everything, {
          metadata: { name, namespace },
          spec: { ...spec(namespace), ...change },
        }),
        pattern,
      );
    };
    await refused("range", { range: { min: 3, max: 2 } }, /min must not exceed max/);
    await refused("source", { source: {} }, /exactly one of git, image must be set/);
    await refused(
      "auth",
      { auth: { token: "t", password: "p" } },
      /at most one of token, password may be set/,
    );
    await refused("zones", { zones: ["a", "a"] }, /Duplicate value/);
    await refused(
      "claims",
      { volumeClaimTemplates: [1] as unknown as PersistentVolumeClaim[] },
      /volumeClaimTemplates\[0\].*must be of type object/,
    );
    await assert.rejects(
      client.patch(Everything, "all", { spec: { storageClass: "slow" } }, { namespace }),
      /is immutable/,
    );
  });
});
