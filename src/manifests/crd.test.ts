import assert from "node:assert/strict";
import { test } from "node:test";
import { Type } from "@sinclair/typebox";
import {
  type CustomResourceDefinition,
  type CustomResourceType,
  defineResource,
  type JSONSchemaProps,
  K8s,
  type ResourceDefinition,
} from "../resources/index.ts";
import { CrdGenerationError, customResourceDefinition } from "./crd.ts";

const spec = Type.Object({
  replicas: Type.Integer({ minimum: 0, default: 1 }),
  image: Type.String({ description: "The image." }),
});
const status = K8s.Status({ replicas: Type.Optional(Type.Integer()) });

function widget(overrides: Record<string, unknown> = {}): CustomResourceType {
  return defineResource({
    group: "example.com",
    version: "v1",
    kind: "Widget",
    plural: "widgets",
    scope: "Namespaced",
    spec,
    ...overrides,
  } as ResourceDefinition) as unknown as CustomResourceType;
}

function crdOf(overrides: Record<string, unknown> = {}): CustomResourceDefinition {
  return customResourceDefinition(widget(overrides));
}

function root(crd: CustomResourceDefinition, index = 0): JSONSchemaProps {
  const schema = crd.spec.versions[index]?.schema?.openAPIV3Schema;
  assert.ok(schema);
  return schema;
}

function fails(overrides: Record<string, unknown>, path: string, message: RegExp): void {
  assert.throws(
    () => crdOf(overrides),
    (error: unknown) => {
      assert.ok(error instanceof CrdGenerationError, String(error));
      assert.equal(error.path, path);
      assert.match(error.message, message);
      assert.match(error.message, /^CustomResourceDefinition for Widget: /);
      return true;
    },
  );
}

test("the CRD has the names, scope and one storage version", () => {
  const crd = crdOf({ shortNames: ["wd"], categories: ["all"], description: "A widget." });
  assert.equal(crd.apiVersion, "apiextensions.k8s.io/v1");
  assert.equal(crd.kind, "CustomResourceDefinition");
  assert.deepEqual(crd.metadata, { name: "widgets.example.com" });
  assert.deepEqual(crd.spec.names, {
    kind: "Widget",
    listKind: "WidgetList",
    plural: "widgets",
    singular: "widget",
    shortNames: ["wd"],
    categories: ["all"],
  });
  assert.equal(crd.spec.group, "example.com");
  assert.equal(crd.spec.scope, "Namespaced");
  assert.equal(crd.spec.conversion, undefined);
  assert.deepEqual(
    crd.spec.versions.map(({ name, served, storage }) => ({ name, served, storage })),
    [{ name: "v1", served: true, storage: true }],
  );
  assert.deepEqual(JSON.parse(JSON.stringify(crd)), crd, "plain JSON, no symbols or undefined");
});

test("the root schema has apiVersion, kind, metadata, spec and status, with descriptions", () => {
  const schema = root(crdOf({ status, description: "A widget." }));
  assert.equal(schema.type, "object");
  assert.equal(schema.description, "A widget.");
  assert.deepEqual(Object.keys(schema.properties ?? {}), [
    "apiVersion",
    "kind",
    "metadata",
    "spec",
    "status",
  ]);
  assert.equal(schema.properties?.apiVersion?.type, "string");
  assert.match(schema.properties?.apiVersion?.description ?? "", /versioned schema/);
  assert.equal(schema.properties?.kind?.type, "string");
  assert.deepEqual(schema.properties?.metadata, { type: "object" });
  assert.equal(schema.properties?.spec?.properties?.image?.description, "The image.");
  assert.equal(
    schema.properties?.status?.properties?.conditions?.["x-kubernetes-list-type"],
    "map",
  );
});

test("spec is required when it has a required field without a default, else it defaults to {}", () => {
  const required = root(crdOf());
  assert.deepEqual(required.required, ["spec"]);
  assert.equal(required.properties?.spec?.default, undefined);

  const optional = root(
    crdOf({
      spec: Type.Object({
        replicas: Type.Integer({ default: 1 }),
        a: Type.Optional(Type.String()),
      }),
    }),
  );
  assert.equal(optional.required, undefined);
  assert.deepEqual(optional.properties?.spec?.default, {});
  assert.deepEqual(Object.keys(optional.properties?.spec ?? {}).slice(0, 2), ["type", "default"]);
});

test("the status subresource exists exactly when there is a status schema", () => {
  assert.equal(crdOf().spec.versions[0]?.subresources, undefined);
  assert.deepEqual(crdOf({ status }).spec.versions[0]?.subresources, { status: {} });
  assert.equal(root(crdOf()).properties?.status, undefined);
});

test("the scale subresource is checked against the schema", () => {
  const scale = { specReplicasPath: ".spec.replicas", statusReplicasPath: ".status.replicas" };
  assert.deepEqual(crdOf({ status, scale }).spec.versions[0]?.subresources, { status: {}, scale });
  fails({ scale }, "versions.v1.scale", /needs a status schema/);
  fails(
    { status, scale: { ...scale, specReplicasPath: ".spec.count" } },
    "versions.v1.scale.specReplicasPath",
    /"\.spec\.count" is not a field/,
  );
  fails(
    { status, scale: { ...scale, specReplicasPath: ".spec.image" } },
    "versions.v1.scale.specReplicasPath",
    /must be integer \(it is string\)/,
  );
  fails(
    { status, scale: { ...scale, statusReplicasPath: ".spec.replicas" } },
    "versions.v1.scale.statusReplicasPath",
    /under \.status/,
  );
  fails(
    { status, scale: { ...scale, labelSelectorPath: ".status.replicas" } },
    "versions.v1.scale.labelSelectorPath",
    /must be string .*label selector in string form/,
  );
});

test("printer columns: checked, with an Age column appended unless disabled", () => {
  const columns = crdOf({
    status,
    printerColumns: [
      { name: "Replicas", type: "integer", jsonPath: ".spec.replicas", priority: 0 },
      { name: "Ready", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    ],
  }).spec.versions[0]?.additionalPrinterColumns;
  assert.deepEqual(columns, [
    { name: "Replicas", type: "integer", jsonPath: ".spec.replicas", priority: 0 },
    { name: "Ready", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
  ]);
  assert.deepEqual(crdOf().spec.versions[0]?.additionalPrinterColumns, [
    { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
  ]);
  assert.equal(crdOf({ ageColumn: false }).spec.versions[0]?.additionalPrinterColumns, undefined);
  const own = crdOf({
    printerColumns: [
      { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp", priority: 1 },
    ],
  });
  assert.equal(own.spec.versions[0]?.additionalPrinterColumns?.length, 1);
  fails(
    { printerColumns: [{ name: "X", type: "string", jsonPath: ".spec.imag" }] },
    "versions.v1.printerColumns[0]",
    /"\.spec\.imag" is not a field/,
  );
  fails(
    { printerColumns: [{ name: "X", type: "text", jsonPath: ".spec.image" }] },
    "versions.v1.printerColumns[0]",
    /type "text" must be one of/,
  );
  fails(
    { printerColumns: [{ name: "X", type: "string", jsonPath: "spec.image" }] },
    "versions.v1.printerColumns[0]",
    /must start with a dot/,
  );
});

test("selectable fields must be scalar fields", () => {
  const crd = crdOf({ selectableFields: [".spec.image"] });
  assert.deepEqual(crd.spec.versions[0]?.selectableFields, [{ jsonPath: ".spec.image" }]);
  fails({ selectableFields: [".spec.nope"] }, "versions.v1.selectableFields[0]", /not a field/);
  fails(
    { status, selectableFields: [".status.conditions"] },
    "versions.v1.selectableFields[0]",
    /string, integer or boolean/,
  );
});

test("root CEL rules sit at the root; metadata may constrain only name and generateName", () => {
  const rules = [{ rule: "self.metadata.name.size() <= 20", message: "name too long" }];
  const schema = root(
    crdOf({
      validations: rules,
      metadata: Type.Object({ name: Type.String({ maxLength: 40, description: "x" }) }),
    }),
  );
  assert.deepEqual(schema["x-kubernetes-validations"], rules);
  assert.deepEqual(schema.properties?.metadata, {
    type: "object",
    properties: { name: { description: "x", type: "string", maxLength: 40 } },
  });
  fails(
    { metadata: Type.Object({ labels: Type.Record(Type.String(), Type.String()) }) },
    "versions.v1.metadata.labels",
    /only constrain metadata\.name and metadata\.generateName/,
  );
  fails(
    { metadata: Type.Object({ name: Type.String({ default: "x" }) }) },
    "versions.v1.metadata.name",
    /cannot have defaults/,
  );
  fails({ validations: [{ rule: "" }] }, "versions.v1.validations", /has no rule/);
});

test("schema errors name the version and field", () => {
  fails(
    { spec: Type.Object({ at: Type.Date() }) },
    "versions.v1.spec.at",
    /Type\.Date has no JSON form.*K8s\.DateTime\(\)/,
  );
  fails({ spec: Type.String() }, "versions.v1.spec", /spec must be an object/);
  fails({ status: Type.Array(Type.String()) }, "versions.v1.status", /status must be an object/);
});

test("several versions: flags, per-version schemas and columns", () => {
  const Gadget = defineResource({
    group: "example.com",
    kind: "Gadget",
    plural: "gadgets",
    scope: "Cluster",
    description: "A gadget.",
    versions: {
      v1alpha1: {
        spec: Type.Object({ size: Type.String() }),
        served: false,
        deprecationWarning: "use v1",
        ageColumn: false,
      },
      v1: {
        spec: Type.Object({ size: Type.Integer() }),
        status: K8s.Status(),
        storage: true,
        printerColumns: [{ name: "Size", type: "integer", jsonPath: ".spec.size" }],
      },
    },
  });
  const crd = customResourceDefinition(Gadget);
  assert.equal(crd.spec.scope, "Cluster");
  const [alpha, v1] = crd.spec.versions;
  assert.deepEqual(
    {
      name: alpha?.name,
      served: alpha?.served,
      storage: alpha?.storage,
      deprecated: alpha?.deprecated,
      warning: alpha?.deprecationWarning,
    },
    { name: "v1alpha1", served: false, storage: false, deprecated: true, warning: "use v1" },
  );
  assert.equal(v1?.storage, true);
  assert.equal(alpha?.schema?.openAPIV3Schema?.properties?.spec?.properties?.size?.type, "string");
  assert.equal(v1?.schema?.openAPIV3Schema?.properties?.spec?.properties?.size?.type, "integer");
  assert.equal(alpha?.schema?.openAPIV3Schema?.description, "A gadget.");
  assert.equal(alpha?.subresources, undefined);
  assert.deepEqual(v1?.subresources, { status: {} });
  assert.equal(alpha?.additionalPrinterColumns, undefined);
  assert.deepEqual(
    v1?.additionalPrinterColumns?.map((c) => c.name),
    ["Size", "Age"],
  );
  assert.deepEqual(
    customResourceDefinition(Gadget.versions.v1alpha1),
    crd,
    "any version gives the same CRD",
  );
});

test("options: labels, annotations and a conversion webhook", () => {
  const crd = customResourceDefinition(widget(), {
    labels: { app: "widget-operator" },
    annotations: { "cert-manager.io/inject-ca-from": "ops/webhook" },
    conversion: {
      strategy: "Webhook",
      webhook: {
        clientConfig: { service: { namespace: "ops", name: "webhook", path: "/convert" } },
        conversionReviewVersions: ["v1"],
      },
    },
  });
  assert.deepEqual(crd.metadata.labels, { app: "widget-operator" });
  assert.deepEqual(crd.metadata.annotations, { "cert-manager.io/inject-ca-from": "ops/webhook" });
  assert.equal(crd.spec.conversion?.strategy, "Webhook");
});
