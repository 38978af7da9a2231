/**
 * Type-level tests of the operator declaration: the children `sync` returns are typed by the
 * declared child types (misspelt fields and undeclared kinds do not compile), `callSync` returns
 * the same types, and the request carries `now` and the client. `tsc --noEmit` (part of
 * `npm run check`) enforces the `@ts-expect-error` lines; the runtime test only makes the file a
 * test and runs a few of the syncs.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeClient } from "../client/client.ts";
import {
  type Condition,
  ConfigMap,
  Deployment,
  type DeploymentCondition,
  defineResource,
  findCondition,
  Job,
  K8s,
  type KubeObject,
  Pod,
  resourceType,
  Service,
  Type,
} from "../resources/index.ts";
import { callSync } from "../testkit/sync-request.ts";
import { child, type DesiredChildOf, defineOperator, desired } from "./declaration.ts";

type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<_ extends true>(): void {}

const Shop = defineResource({
  group: "example.com",
  version: "v1",
  kind: "Shop",
  plural: "shops",
  scope: "Namespaced",
  spec: Type.Object({ replicas: Type.Integer(), image: Type.String() }),
  status: K8s.Status({ ready: Type.Optional(Type.Integer()) }),
});
const Backup = defineResource({
  group: "example.com",
  version: "v1",
  kind: "Backup",
  plural: "backups",
  scope: "Namespaced",
  spec: Type.Object({ target: Type.String() }),
});
/** A kind another project owns, typed loosely (`KubeObject` has an index signature). */
type Certificate = KubeObject & { spec: { secretName: string; dnsNames?: string[] } };
const Certificate = resourceType<Certificate>(
  "cert-manager.io/v1",
  "Certificate",
  "certificates",
  true,
);

const labels = { app: "shop" };

// The common case: plain object literals, nested enums included, no annotations needed.
const shop = defineOperator({
  name: "shop",
  parent: Shop,
  children: {
    deployments: Deployment,
    services: Service,
    configMaps: ConfigMap,
    jobs: child(Job, { strategy: "recreate", propagationPolicy: "Foreground" }),
    backups: Backup,
  },
  finalizer: "shop.example.com/finalizer",
  sync({ parent, children, now, client }) {
    expectType<Equal<typeof now, Date>>();
    expectType<Equal<typeof client, KubeClient>>();
    const name = parent.metadata.name!;
    const ready = children.deployments.get(name)?.status?.readyReplicas ?? 0;
    const available = findCondition(
      children.deployments.get(name)?.status?.conditions,
      "Available",
    );
    expectType<Equal<typeof available, DeploymentCondition | undefined>>();
    return {
      status: { ready },
      children: [
        {
          apiVersion: "apps/v1",
          kind: "Deployment",
          metadata: { name, labels },
          spec: {
            replicas: parent.spec.replicas,
            selector: { matchLabels: labels },
            template: {
              metadata: { labels },
              spec: { containers: [{ name: "shop", image: parent.spec.image }] },
            },
          },
        },
        {
          apiVersion: "v1",
          kind: "Service",
          metadata: { name },
          spec: { type: "ClusterIP", selector: labels, ports: [{ port: 80, protocol: "TCP" }] },
        },
        ...["a", "b"].map((key) =>
          desired(ConfigMap, { metadata: { name: `${name}-${key}` }, data: { key } }),
        ),
        {
          apiVersion: "batch/v1",
          kind: "Job",
          metadata: { name: `${name}-migrate` },
          spec: {
            template: {
              spec: { restartPolicy: "Never", containers: [{ name: "m", image: "migrate" }] },
            },
          },
        },
        {
          apiVersion: "example.com/v1",
          kind: "Backup",
          metadata: { name },
          spec: { target: name },
        },
      ],
    };
  },
});

// Children built outside the returned literal: `desired(Type, ...)` fills in apiVersion and kind.
defineOperator({
  name: "built",
  parent: Shop,
  children: { configMaps: ConfigMap, jobs: Job },
  sync({ parent }) {
    const children = [];
    for (const key of ["a", "b"]) {
      children.push(desired(ConfigMap, { metadata: { name: key }, data: { key } }));
    }
    if (parent.spec.replicas > 1) {
      children.push(
        desired(Job, {
          metadata: { name: "scale" },
          spec: { template: { spec: { restartPolicy: "Never", containers: [] } } },
        }),
      );
    }
    // @ts-expect-error `datas` is not a ConfigMap field
    desired(ConfigMap, { metadata: { name: "x" }, datas: {} });
    return { children };
  },
});

// A loosely typed kind (apiVersion and kind are plain strings) is accepted as declared; it does
// not tell itself apart from the others, so prefer defineResource or precise types.
defineOperator({
  name: "certificates",
  parent: Shop,
  children: { certificates: Certificate },
  sync: ({ parent }) => ({
    children: [
      {
        apiVersion: "cert-manager.io/v1",
        kind: "Certificate",
        metadata: { name: parent.metadata.name! },
        spec: { secretName: parent.metadata.name! },
      },
    ],
  }),
});

defineOperator({
  name: "typos",
  parent: Shop,
  children: { deployments: Deployment, configMaps: ConfigMap },
  // A function with a block body is reported as a whole; the message names the field.
  // @ts-expect-error `replica` is not a Deployment field (and selector, template are missing)
  sync({ parent }) {
    const name = parent.metadata.name!;
    return {
      children: [
        {
          apiVersion: "apps/v1",
          kind: "Deployment",
          metadata: { name },
          spec: { replica: 3 },
        },
      ],
    };
  },
});

defineOperator({
  name: "undeclared",
  parent: Shop,
  children: { configMaps: ConfigMap },
  sync: ({ parent }) => ({
    // @ts-expect-error a Secret is not a declared child type
    children: [{ apiVersion: "v1", kind: "Secret", metadata: { name: parent.metadata.name! } }],
  }),
});

defineOperator({
  name: "details",
  parent: Shop,
  children: { configMaps: ConfigMap, pods: Pod },
  sync: ({ parent }) => ({
    children: [
      // @ts-expect-error a desired child needs metadata.name
      { apiVersion: "v1", kind: "ConfigMap", metadata: { labels } },
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: parent.metadata.name! },
        // @ts-expect-error `datas` is not a ConfigMap field
        datas: {},
      },
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "p" },
        // @ts-expect-error restartPolicy is "Always" | "OnFailure" | "Never"
        spec: { restartPolicy: "Sometimes", containers: [] },
      },
      // @ts-expect-error the status of a child is not Operon's to write
      { apiVersion: "v1", kind: "Pod", metadata: { name: "q" }, status: { phase: "Running" } },
    ],
  }),
});

// Options are checked too.
// @ts-expect-error "Later" is not a propagation policy
child(Job, { propagationPolicy: "Later" });
// @ts-expect-error "Keep" is not a parent deletion policy
child(Job, { whenParentDeleted: "Keep" });

// The union of declared children, told apart by apiVersion and kind.
type ShopChildren = DesiredChildOf<{ configMaps: typeof ConfigMap; jobs: typeof Job }>;
expectType<Equal<ShopChildren["kind"], "ConfigMap" | "Job">>();

// findCondition keeps the element type of any condition list.
expectType<Equal<ReturnType<typeof findCondition<Condition>>, Condition | undefined>>();

test("callSync returns the declared child types", async () => {
  const result = await callSync(shop, {
    parent: {
      apiVersion: "example.com/v1",
      kind: "Shop",
      metadata: { name: "s", namespace: "default" },
      spec: { replicas: 2, image: "shop:1" },
    },
    children: {
      deployments: [
        {
          apiVersion: "apps/v1",
          kind: "Deployment",
          metadata: { name: "s" },
          status: {
            readyReplicas: 2,
            conditions: [{ type: "Available", status: "True" }],
          },
        },
      ],
    },
    now: new Date("2030-01-01T00:00:00Z"),
  });
  const deployment = result.children?.find((c) => c.kind === "Deployment");
  if (deployment?.kind === "Deployment") {
    expectType<Equal<typeof deployment.spec, Deployment["spec"]>>();
    assert.equal(deployment.spec?.replicas, 2);
  } else {
    assert.fail("no Deployment");
  }
  assert.equal(result.status?.ready, 2);
  assert.equal(result.children?.length, 6);
});
