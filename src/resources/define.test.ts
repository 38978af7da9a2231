import assert from "node:assert/strict";
import { test } from "node:test";
import { Type } from "@sinclair/typebox";
import {
  type CustomResourceType,
  defineResource,
  isCustomResourceType,
  K8s,
  Pod,
  type ResourceDefinition,
  ResourceDefinitionError,
} from "./index.ts";

const spec = Type.Object({ replicas: Type.Integer() });

function define(overrides: Record<string, unknown>): CustomResourceType {
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

test("a single-version kind is a ResourceType for that version", () => {
  const Widget = defineResource({
    group: "example.com",
    version: "v1",
    kind: "Widget",
    plural: "widgets",
    shortNames: ["wd"],
    categories: ["all"],
    scope: "Namespaced",
    description: "A widget.",
    spec,
    status: K8s.Status(),
  });
  assert.equal(Widget.apiVersion, "example.com/v1");
  assert.equal(Widget.kind, "Widget");
  assert.equal(Widget.plural, "widgets");
  assert.equal(Widget.namespaced, true);
  assert.equal(Widget.group, "example.com");
  assert.equal(Widget.version, "v1");
  assert.equal(Widget.versions.v1, Widget);
  assert.ok(isCustomResourceType(Widget));
  assert.ok(!isCustomResourceType(Pod));
  assert.deepEqual(Widget.definition.names, {
    kind: "Widget",
    plural: "widgets",
    singular: "widget",
    listKind: "WidgetList",
    shortNames: ["wd"],
    categories: ["all"],
  });
  const [version] = Widget.definition.versions;
  assert.equal(version?.name, "v1");
  assert.equal(version?.storage, true);
  assert.equal(version?.served, true);
  assert.equal(version?.description, "A widget.");
  assert.equal(version?.spec, spec);
  assert.ok(version?.status);
  assert.ok(Object.isFrozen(Widget));
  assert.ok(Object.isFrozen(Widget.definition));
});

test("a cluster-scoped kind is not namespaced", () => {
  assert.equal(define({ scope: "Cluster" }).namespaced, false);
});

test("several versions: the storage version is returned, each version has its own type", () => {
  const Gadget = defineResource({
    group: "example.com",
    kind: "Gadget",
    plural: "gadgets",
    scope: "Cluster",
    description: "A gadget.",
    versions: {
      v1alpha1: { spec, served: false, deprecationWarning: "use v1" },
      v1beta1: { spec, description: "A gadget (beta)." },
      v1: { spec, storage: true },
    },
  });
  assert.equal(Gadget.apiVersion, "example.com/v1");
  assert.equal(Gadget.versions.v1alpha1.apiVersion, "example.com/v1alpha1");
  assert.equal(Gadget.versions.v1beta1.version, "v1beta1");
  assert.equal(Gadget.versions.v1alpha1.versions, Gadget.versions);
  assert.deepEqual(
    Gadget.definition.versions.map((v) => [v.name, v.served, v.storage, v.deprecated ?? false]),
    [
      ["v1alpha1", false, false, true],
      ["v1beta1", true, false, false],
      ["v1", true, true, false],
    ],
  );
  assert.deepEqual(
    Gadget.definition.versions.map((v) => v.description),
    ["A gadget.", "A gadget (beta).", "A gadget."],
  );
});

test("exactly one storage version is required at run time too", () => {
  for (const versions of [
    { v1: { spec }, v2: { spec } },
    { v1: { spec, storage: true }, v2: { spec, storage: true } },
  ]) {
    assert.throws(
      () =>
        defineResource({
          group: "example.com",
          kind: "Gadget",
          plural: "gadgets",
          scope: "Cluster",
          versions,
        } as ResourceDefinition),
      /exactly one version must set storage: true/,
    );
  }
  assert.throws(() => define({ storage: false }), /the only version must be the storage version/);
});

test("names are validated like the API server does, with the offending value", () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ group: "example" }, /group "example" must be a lowercase domain with at least one dot/],
    [{ group: "Example.com" }, /group "Example.com"/],
    [{ group: "apps.k8s.io" }, /reserved for Kubernetes community APIs/],
    [{ group: "x.kubernetes.io" }, /reserved/],
    [{ kind: "widget" }, /kind "widget" must be CamelCase/],
    [{ plural: "Widgets" }, /plural "Widgets" must be a lowercase DNS label/],
    [{ singular: "my_widget" }, /singular "my_widget"/],
    [{ shortNames: ["w d"] }, /short name "w d"/],
    [{ categories: ["All"] }, /category "All"/],
    [{ version: "V1" }, /version "V1"/],
    [{ listKind: "Widget" }, /listKind must differ from kind/],
    [{ scope: "Global" }, /scope must be "Namespaced" or "Cluster"/],
    [{ deprecationWarning: "" }, /deprecationWarning must be 1 to 256 characters/],
    [{ spec: undefined }, /needs a spec schema/],
  ];
  for (const [overrides, message] of cases) {
    assert.throws(
      () => define(overrides),
      (error: unknown) => {
        assert.ok(error instanceof ResourceDefinitionError);
        assert.match(error.message, message);
        assert.match(error.message, /^defineResource\(/);
        return true;
      },
    );
  }
});

test("a deprecation warning implies deprecated", () => {
  const Widget = define({ deprecationWarning: "use example.com/v2" });
  assert.equal(Widget.definition.versions[0]?.deprecated, true);
  assert.equal(Widget.definition.versions[0]?.deprecationWarning, "use example.com/v2");
});
