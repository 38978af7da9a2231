/**
 * Type-level tests: the types of custom objects flow from their schemas, built-in kinds carry
 * their object types, and misuse does not compile. `tsc --noEmit` (part of `npm test`) enforces
 * them; the runtime test only makes the file a test.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type Static, Type } from "@sinclair/typebox";
import {
  type Condition,
  type ConfigMap,
  type CustomResourceType,
  Deployment,
  defineResource,
  Event,
  K8s,
  type KubeObject,
  type LabelSelector,
  Lease,
  type ObjectMeta,
  type ObjectOf,
  type PersistentVolumeClaim,
  Pod,
  type PodTemplateSpec,
  type ResourceType,
  resourceType,
  Secret,
  type SpecOf,
  type StatusOf,
} from "./index.ts";

/** True when A and B are the same type. */
type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<_ extends true>(): void {}

/** A stand-in for a typed client call: the object type comes from the ResourceType. */
function get<T extends KubeObject>(_type: ResourceType<T>, _name: string): T {
  return {} as T;
}

// ---------------------------------------------------------------------------------------------
// A custom kind: the type is inferred from the schema.
// ---------------------------------------------------------------------------------------------

const Widget = defineResource({
  group: "example.com",
  version: "v1",
  kind: "Widget",
  plural: "widgets",
  scope: "Namespaced",
  spec: Type.Object({
    replicas: Type.Integer({ minimum: 0, default: 1 }),
    size: K8s.Enum(["small", "large"]),
    port: K8s.IntOrString(),
    memory: Type.Optional(K8s.Quantity()),
    deadline: K8s.Nullable(Type.String()),
    labels: Type.Optional(K8s.Map(Type.String())),
    endpoints: Type.Optional(
      K8s.ListMap(Type.Object({ name: Type.String(), url: Type.String() }), ["name"]),
    ),
    zones: Type.Optional(K8s.ListSet(Type.String())),
    values: Type.Optional(K8s.Unknown()),
    template: Type.Optional(K8s.Opaque<PodTemplateSpec>()),
    config: Type.Optional(K8s.Embedded<ConfigMap>()),
    extra: Type.Optional(K8s.PreserveUnknownFields(Type.Object({ version: Type.String() }))),
    selector: Type.Optional(K8s.LabelSelector()),
    interval: Type.Optional(K8s.Duration()),
    claims: Type.Optional(K8s.OpaqueList<PersistentVolumeClaim>()),
  }),
  status: K8s.Status({ readyReplicas: Type.Optional(Type.Integer()) }),
});
type Widget = ObjectOf<typeof Widget>;

expectType<Equal<Widget["apiVersion"], "example.com/v1">>();
expectType<Equal<Widget["kind"], "Widget">>();
expectType<Equal<Widget["metadata"], ObjectMeta>>();
expectType<Equal<Widget["spec"]["replicas"], number>>();
expectType<Equal<Widget["spec"]["size"], "small" | "large">>();
expectType<Equal<Widget["spec"]["port"], number | string>>();
expectType<Equal<Widget["spec"]["memory"], number | string | undefined>>();
expectType<Equal<Widget["spec"]["deadline"], string | null>>();
expectType<Equal<Widget["spec"]["labels"], Record<string, string> | undefined>>();
expectType<Equal<NonNullable<Widget["spec"]["endpoints"]>, { name: string; url: string }[]>>();
expectType<Equal<Widget["spec"]["zones"], string[] | undefined>>();
expectType<Equal<Widget["spec"]["values"], unknown>>();
expectType<Equal<Widget["spec"]["template"], PodTemplateSpec | undefined>>();
expectType<Equal<Widget["spec"]["config"], ConfigMap | undefined>>();
expectType<Equal<NonNullable<Widget["spec"]["extra"]>["version"], string>>();
expectType<Equal<NonNullable<Widget["spec"]["extra"]>["other"], unknown>>();
expectType<Equal<Widget["spec"]["selector"], LabelSelector | undefined>>();
expectType<Equal<Widget["spec"]["interval"], string | undefined>>();
expectType<Equal<Widget["spec"]["claims"], PersistentVolumeClaim[] | undefined>>();

// An opaque field is an object in the CRD, so its type must be one: a list is K8s.OpaqueList.
// @ts-expect-error K8s.Opaque<T> is for objects: for a list, use K8s.OpaqueList<Item>()
K8s.Opaque<PersistentVolumeClaim[]>();
// @ts-expect-error K8s.Opaque<T> is for objects: for a list, use K8s.OpaqueList<Item>()
K8s.Opaque<PersistentVolumeClaim[]>({ description: "claims" });
// @ts-expect-error a string is not an object
K8s.Opaque<string>();

// status is optional and carries the standard fields.
type WidgetStatus = NonNullable<Widget["status"]>;
expectType<Equal<WidgetStatus["observedGeneration"], number | undefined>>();
expectType<Equal<WidgetStatus["readyReplicas"], number | undefined>>();
expectType<
  Equal<NonNullable<WidgetStatus["conditions"]>[number], Static<ReturnType<typeof K8s.Condition>>>
>();
// The condition schema infers exactly the Condition type.
const fromSchema: Static<ReturnType<typeof K8s.Condition>> = {} as Condition;
const toSchema: Condition = {} as Static<ReturnType<typeof K8s.Condition>>;
expectType<Equal<keyof Condition, keyof Static<ReturnType<typeof K8s.Condition>>>>();
expectType<Equal<Condition["status"], Static<ReturnType<typeof K8s.Condition>>["status"]>>();

// SpecOf / StatusOf name the parts.
expectType<Equal<SpecOf<typeof Widget>, Widget["spec"]>>();
expectType<Equal<StatusOf<typeof Widget>, WidgetStatus>>();

// The ResourceType carries the object type through generic APIs.
const widget = get(Widget, "a");
expectType<Equal<typeof widget, Widget>>();
expectType<Equal<typeof Widget.apiVersion, "example.com/v1">>();
const asResourceType: ResourceType = Widget;
const asKubeObject: KubeObject = widget;

// A kind without status has no status field.
const Plain = defineResource({
  group: "example.com",
  version: "v1beta1",
  kind: "Plain",
  plural: "plains",
  scope: "Cluster",
  spec: Type.Object({ a: Type.String() }),
});
type Plain = ObjectOf<typeof Plain>;
expectType<Equal<keyof Plain, "apiVersion" | "kind" | "metadata" | "spec">>();

// Objects are checked against the inferred type.
const good: Widget = {
  apiVersion: "example.com/v1",
  kind: "Widget",
  metadata: { name: "w" },
  spec: { replicas: 1, size: "small", port: "http", deadline: null },
};
const wrongSize: Widget = {
  apiVersion: "example.com/v1",
  kind: "Widget",
  metadata: {},
  // @ts-expect-error "medium" is not one of the enum's values
  spec: { replicas: 1, size: "medium", port: 80, deadline: null },
};
const wrongVersion: Widget = {
  // @ts-expect-error apiVersion must be the kind's
  apiVersion: "example.com/v2",
  kind: "Widget",
  metadata: {},
  spec: { replicas: 1, size: "small", port: 80, deadline: null },
};
const missingField: Widget = {
  apiVersion: "example.com/v1",
  kind: "Widget",
  metadata: {},
  // @ts-expect-error replicas is required (not Type.Optional)
  spec: { size: "small", port: 80, deadline: null },
};

// List map keys must be fields of the item.
// @ts-expect-error "id" is not a field of the item
K8s.ListMap(Type.Object({ name: Type.String() }), ["id"]);
// ExactlyOneOf names fields of the object.
K8s.ExactlyOneOf(
  Type.Object({ a: Type.Optional(Type.String()), b: Type.Optional(Type.String()) }),
  [
    "a",
    // @ts-expect-error "c" is not a field
    "c",
  ],
);
// Kubernetes schema options are typed.
// @ts-expect-error "sett" is not a list type
Type.Array(Type.String(), { "x-kubernetes-list-type": "sett" });
Type.Array(Type.String(), { "x-kubernetes-list-type": "set" });
// CEL rules are typed.
// @ts-expect-error reason must be one of the API server's error types
K8s.Validate(Type.String(), { rule: "self != ''", reason: "Bad" });

// ---------------------------------------------------------------------------------------------
// Several versions: each typed from its own schema; exactly one storage version.
// ---------------------------------------------------------------------------------------------

const Gadget = defineResource({
  group: "example.com",
  kind: "Gadget",
  plural: "gadgets",
  scope: "Namespaced",
  versions: {
    v1alpha1: { spec: Type.Object({ size: Type.String() }), deprecated: true },
    v1: {
      spec: Type.Object({ size: Type.Integer() }),
      status: K8s.Status(),
      storage: true,
    },
  },
});
type Gadget = ObjectOf<typeof Gadget>;
type GadgetV1alpha1 = ObjectOf<typeof Gadget.versions.v1alpha1>;
expectType<Equal<Gadget["apiVersion"], "example.com/v1">>();
expectType<Equal<Gadget["spec"], { size: number }>>();
expectType<Equal<GadgetV1alpha1["apiVersion"], "example.com/v1alpha1">>();
expectType<Equal<GadgetV1alpha1["spec"], { size: string }>>();
expectType<Equal<keyof GadgetV1alpha1, "apiVersion" | "kind" | "metadata" | "spec">>();
expectType<Equal<ObjectOf<typeof Gadget.versions.v1>, Gadget>>();
const gadgetType: CustomResourceType<Gadget> = Gadget;

function noStorageVersion(): void {
  // @ts-expect-error exactly one version must set storage: true
  defineResource({
    group: "example.com",
    kind: "Gadget",
    plural: "gadgets",
    scope: "Namespaced",
    versions: {
      v1alpha1: { spec: Type.Object({}) },
      v1: { spec: Type.Object({}) },
    },
  });
}
function twoStorageVersions(): void {
  // @ts-expect-error exactly one version must set storage: true
  defineResource({
    group: "example.com",
    kind: "Gadget",
    plural: "gadgets",
    scope: "Namespaced",
    versions: {
      v1alpha1: { spec: Type.Object({}), storage: true },
      v1: { spec: Type.Object({}), storage: true },
    },
  });
}
function versionAndVersions(): void {
  // @ts-expect-error give version or versions, not both
  defineResource({
    group: "example.com",
    kind: "Gadget",
    plural: "gadgets",
    scope: "Namespaced",
    version: "v1",
    spec: Type.Object({}),
    versions: { v1: { spec: Type.Object({}), storage: true } },
  });
}
function badScope(): void {
  defineResource({
    group: "example.com",
    version: "v1",
    kind: "Gadget",
    plural: "gadgets",
    // @ts-expect-error scope is Namespaced or Cluster
    scope: "Global",
    spec: Type.Object({}),
  });
}

// ---------------------------------------------------------------------------------------------
// Built-in kinds: one name for the type and its ResourceType.
// ---------------------------------------------------------------------------------------------

expectType<Equal<ObjectOf<typeof Deployment>, Deployment>>();
expectType<Equal<ObjectOf<typeof Pod>, Pod>>();
expectType<Equal<typeof Lease, ResourceType<Lease>>>();
const deployment = get(Deployment, "web");
expectType<Equal<typeof deployment, Deployment>>();
expectType<Equal<NonNullable<Deployment["spec"]>["template"]["spec"], PodTemplateSpec["spec"]>>();
const replicas: number | undefined = deployment.spec?.replicas;
const builtins: ResourceType[] = [Deployment, Pod, Secret, Event, Lease];

const web: Deployment = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web" },
  spec: {
    selector: { matchLabels: { app: "web" } },
    template: {
      metadata: { labels: { app: "web" } },
      spec: {
        containers: [
          {
            name: "web",
            image: "nginx",
            ports: [{ containerPort: 80, protocol: "TCP" }],
            env: [{ name: "A", valueFrom: { secretKeyRef: { name: "s", key: "k" } } }],
            resources: { limits: { cpu: "1", memory: "1Gi" } },
            readinessProbe: { httpGet: { path: "/", port: "http" } },
          },
        ],
      },
    },
  },
};
const typo: Deployment = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: {},
  // @ts-expect-error misspelled field
  sepc: {},
};
const wrongGroup: Deployment = {
  // @ts-expect-error Deployments are apps/v1
  apiVersion: "extensions/v1beta1",
  kind: "Deployment",
  metadata: {},
};
const badPolicy: Pod = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: {},
  // @ts-expect-error not a restart policy
  spec: { containers: [], restartPolicy: "Sometimes" },
};

// resourceType() types a kind declared elsewhere.
type Certificate = {
  apiVersion: "cert-manager.io/v1";
  kind: "Certificate";
  metadata: ObjectMeta;
  spec: { secretName: string };
};
const Certificate = resourceType<Certificate>(
  "cert-manager.io/v1",
  "Certificate",
  "certificates",
  true,
);
expectType<Equal<ObjectOf<typeof Certificate>, Certificate>>();
// @ts-expect-error the apiVersion must match the type's
resourceType<Certificate>("cert-manager.io/v2", "Certificate", "certificates", true);

test("type-level tests compile (checked by tsc)", () => {
  assert.ok([
    fromSchema,
    toSchema,
    asResourceType,
    asKubeObject,
    good,
    wrongSize,
    wrongVersion,
    missingField,
    gadgetType,
    noStorageVersion,
    twoStorageVersions,
    versionAndVersions,
    badScope,
    replicas,
    builtins,
    web,
    typo,
    wrongGroup,
    badPolicy,
  ]);
});
