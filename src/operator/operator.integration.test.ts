/**
 * The operator layer against the real API server: children created, applied, recreated and
 * pruned; status with observedGeneration and the Synced condition; zero writes when idle;
 * foreign objects left alone; errors on the parent; finalizers; churn detection.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { KubeClient } from "../client/client.ts";
import { installCustomResources } from "../manager/install.ts";
import { ConfigMap, Secret } from "../resources/index.ts";
import type { KubeObject } from "../resources/object.ts";
import { ClusterRole } from "../resources/rbac.ts";
import type { ControlPlane } from "../testkit/control-plane.ts";
import { eventually, getOrUndefined, runOperator } from "../testkit/operator-harness.ts";
import { testControlPlane } from "../testkit/shared.ts";
import { child, defineOperator } from "./declaration.ts";
import { managedByLabel } from "./ownership.ts";
import { syncedCondition } from "./status.ts";
import { Bundle } from "./testdata/bundle.ts";

let plane: ControlPlane;
let admin: KubeClient;

before(async () => {
  plane = await testControlPlane();
  admin = await KubeClient.fromKubeConfig({
    kubeconfig: plane.kubeconfigPath,
    fieldManager: "test-admin",
  });
  await installCustomResources(admin, [Bundle]);
});

after(async () => {
  await admin?.close();
});

function suffix(): string {
  return randomBytes(3).toString("hex");
}

function condition(
  object: KubeObject | undefined,
  type: string,
): { status: string; reason: string; message: string } | undefined {
  const conditions = (
    object?.status as
      | { conditions?: { type: string; status: string; reason: string; message: string }[] }
      | undefined
  )?.conditions;
  return conditions?.find((c) => c.type === type);
}

async function createBundle(namespace: string, name: string, spec: Record<string, unknown>) {
  return admin.create(Bundle, { metadata: { name, namespace }, spec } as never);
}

/** An operator that mirrors a Bundle's data into a ConfigMap of the same name. */
function mirrorOperator(
  namespace: string,
  extra: Partial<Parameters<typeof defineOperator>[0]> = {},
) {
  return defineOperator({
    name: `mirror-${suffix()}`,
    parent: Bundle,
    namespace,
    children: { configMaps: ConfigMap },
    sync({ parent }) {
      const data = parent.spec.data ?? {};
      return {
        status: { keys: Object.keys(data).length },
        children: [
          { apiVersion: "v1", kind: "ConfigMap", metadata: { name: parent.metadata.name! }, data },
        ],
      };
    },
    ...(extra as object),
  });
}

describe("children", () => {
  test("a manual edit of a managed field is reverted and a deleted child comes back", async () => {
    const namespace = await plane.createNamespace("drift");
    const operator = mirrorOperator(namespace);
    const harness = await runOperator(operator, { plane });
    try {
      await createBundle(namespace, "b1", { data: { a: "1" } });
      const first = await eventually(() => getOrUndefined(admin, ConfigMap, "b1", namespace));
      await admin.patch(ConfigMap, "b1", { data: { a: "changed", extra: "kept" } }, { namespace });
      await eventually(
        async () => (await admin.get(ConfigMap, "b1", { namespace })).data?.a === "1",
      );
      await admin.delete(ConfigMap, "b1", { namespace });
      const back = await eventually(async () => {
        const current = await getOrUndefined(admin, ConfigMap, "b1", namespace);
        return current && current.metadata.uid !== first.metadata.uid ? current : undefined;
      });
      assert.deepEqual(back.data, { a: "1" });
    } finally {
      await harness.stop();
    }
  });

  test("a field sync stops returning is removed from the child", async () => {
    const namespace = await plane.createNamespace("prune-field");
    const harness = await runOperator(mirrorOperator(namespace), { plane });
    try {
      await createBundle(namespace, "b1", { data: { a: "1", b: "2" } });
      await eventually(
        async () => (await getOrUndefined(admin, ConfigMap, "b1", namespace))?.data?.b === "2",
      );
      await admin.patch(Bundle, "b1", [{ op: "replace", path: "/spec/data", value: { a: "1" } }], {
        namespace,
      });
      const cm = await eventually(async () => {
        const current = await admin.get(ConfigMap, "b1", { namespace });
        return current.data?.b === undefined ? current : undefined;
      });
      assert.deepEqual(cm.data, { a: "1" });
    } finally {
      await harness.stop();
    }
  });

  test("children no longer desired are deleted; the parent's deletion collects the rest", async () => {
    const namespace = await plane.createNamespace("prune");
    const operator = defineOperator({
      name: `multi-${suffix()}`,
      parent: Bundle,
      namespace,
      children: { configMaps: ConfigMap },
      sync: ({ parent }) => ({
        children: Object.keys(parent.spec.data ?? {}).map((key) => ({
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: `${parent.metadata.name}-${key}` },
          data: { key },
        })),
      }),
    });
    const harness = await runOperator(operator, { plane });
    try {
      await createBundle(namespace, "p", { data: { x: "", y: "", z: "" } });
      const names = async () =>
        (
          await admin.list(ConfigMap, {
            namespace,
            labelSelector: `${managedByLabel}=${operator.name}`,
          })
        ).items
          .map((cm) => cm.metadata.name)
          .sort()
          .join(",");
      await eventually(async () => (await names()) === "p-x,p-y,p-z");
      await admin.patch(Bundle, "p", [{ op: "replace", path: "/spec/data", value: { x: "" } }], {
        namespace,
      });
      await eventually(async () => (await names()) === "p-x");
      await admin.delete(Bundle, "p", { namespace });
      await eventually(async () => (await names()) === "", {
        message: "garbage collection removed the children",
      });
    } finally {
      await harness.stop();
    }
  });

  test("a foreign object with a child's name is left untouched and reported", async () => {
    const namespace = await plane.createNamespace("foreign");
    const harness = await runOperator(mirrorOperator(namespace), { plane });
    try {
      const foreign = await admin.create(ConfigMap, {
        metadata: { name: "taken", namespace },
        data: { owner: "someone else" },
      });
      await createBundle(namespace, "taken", { data: { a: "1" } });
      const parent = await eventually(async () => {
        const current = await admin.get(Bundle, "taken", { namespace });
        return condition(current, syncedCondition)?.reason === "ChildConflict"
          ? current
          : undefined;
      });
      assert.match(condition(parent, syncedCondition)!.message, /ConfigMap .*taken exists/);
      const after = await admin.get(ConfigMap, "taken", { namespace });
      assert.equal(after.metadata.resourceVersion, foreign.metadata.resourceVersion);
      assert.deepEqual(after.data, { owner: "someone else" });
      assert.equal(after.metadata.ownerReferences, undefined);
    } finally {
      await harness.stop();
    }
  });

  test("onDelete children are created but never updated", async () => {
    const namespace = await plane.createNamespace("ondelete");
    const operator = defineOperator({
      name: `ondelete-${suffix()}`,
      parent: Bundle,
      namespace,
      children: { secrets: child(Secret, { strategy: "onDelete" }) },
      sync: ({ parent }) => ({
        children: [
          {
            apiVersion: "v1",
            kind: "Secret",
            metadata: { name: parent.metadata.name! },
            stringData: { mode: parent.spec.mode ?? "" },
          },
        ],
      }),
    });
    const harness = await runOperator(operator, { plane });
    try {
      await createBundle(namespace, "s", { mode: "one" });
      const first = await eventually(() => getOrUndefined(admin, Secret, "s", namespace));
      await admin.patch(Bundle, "s", { spec: { mode: "two" } }, { namespace });
      await eventually(
        async () => (await admin.get(Bundle, "s", { namespace })).status?.observedGeneration === 2,
      );
      const same = await admin.get(Secret, "s", { namespace });
      assert.equal(same.metadata.resourceVersion, first.metadata.resourceVersion);
    } finally {
      await harness.stop();
    }
  });
});

describe("status and writes", () => {
  test("converged parents cause zero API writes while idle, across many resyncs", async () => {
    const namespace = await plane.createNamespace("idle");
    const harness = await runOperator(mirrorOperator(namespace, { resyncPeriodMs: 300 }), {
      plane,
    });
    try {
      for (let i = 0; i < 5; i++)
        await createBundle(namespace, `b${i}`, { data: { i: String(i) } });
      for (let i = 0; i < 5; i++) {
        await eventually(
          async () => (await admin.get(Bundle, `b${i}`, { namespace })).status?.keys === 1,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000)); // let the last echoes settle
      harness.resetWrites();
      const syncsBefore = harness.outcomes(`${namespace}/b0`).length;
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      assert.ok(
        harness.outcomes(`${namespace}/b0`).length > syncsBefore + 3,
        "resyncs ran while idle",
      );
      assert.deepEqual(harness.writes(), [], "no writes while nothing changed");
    } finally {
      await harness.stop();
    }
  });

  test("a reconcile that runs before the parent's own status update reaches the cache writes no status again", async () => {
    const namespace = await plane.createNamespace("status-once");
    const runs = new Map<string, number>();
    // Each parent asks to be synced again right away, a few times: the next reconcile starts
    // before the watch event of the status just written can reach the parent cache.
    const operator = defineOperator({
      name: `status-once-${suffix()}`,
      parent: Bundle,
      namespace,
      children: { configMaps: ConfigMap },
      sync({ parent }) {
        const name = parent.metadata.name!;
        const run = (runs.get(name) ?? 0) + 1;
        runs.set(name, run);
        return {
          status: { keys: 1 },
          children: [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data: { a: "1" } }],
          ...(run < 4 ? { requeueAfterMs: 1 } : {}),
        };
      },
    });
    const harness = await runOperator(operator, { plane });
    try {
      const names = Array.from({ length: 20 }, (_, i) => `s${i}`);
      for (const name of names) await createBundle(namespace, name, { data: { a: "1" } });
      await eventually(() => names.every((name) => (runs.get(name) ?? 0) >= 4));
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const statusWrites = harness
        .writes()
        .filter((write) => write.resource === "bundles" && write.subresource === "status");
      assert.equal(statusWrites.length, names.length, "one status write per parent");
    } finally {
      await harness.stop();
    }
  });

  test("a sync that throws is reported on the parent and in an Event; other parents are served", async () => {
    const namespace = await plane.createNamespace("throws");
    const operator = defineOperator({
      name: `thrower-${suffix()}`,
      parent: Bundle,
      namespace,
      children: { configMaps: ConfigMap },
      sync: ({ parent }) => {
        if (parent.spec.mode === "fail") throw new Error("the database is unreachable");
        return { status: { note: "fine" } };
      },
    });
    const harness = await runOperator(operator, { plane });
    try {
      await createBundle(namespace, "bad", { mode: "fail" });
      await createBundle(namespace, "good", {});
      const bad = await eventually(async () => {
        const current = await admin.get(Bundle, "bad", { namespace });
        return condition(current, syncedCondition)?.reason === "SyncFailed" ? current : undefined;
      });
      assert.match(
        condition(bad, syncedCondition)!.message,
        /sync threw: the database is unreachable/,
      );
      await eventually(
        async () => (await admin.get(Bundle, "good", { namespace })).status?.note === "fine",
      );
      const events = await eventually(async () => {
        const list = await admin.list(
          { apiVersion: "events.k8s.io/v1", kind: "Event", plural: "events", namespaced: true },
          { namespace },
        );
        return list.items.find(
          (event) =>
            event.reason === "SyncFailed" &&
            (event as { regarding?: { name?: string } }).regarding?.name === "bad",
        );
      });
      assert.equal(events.type, "Warning");
      assert.ok(harness.errors(`${namespace}/bad`).length >= 1);
      // Retried with backoff, not once.
      await eventually(() => harness.errors(`${namespace}/bad`).length >= 3);
    } finally {
      await harness.stop();
    }
  });

  test("malformed children and children the server rejects are named on the parent", async () => {
    const namespace = await plane.createNamespace("malformed");
    const operator = defineOperator({
      name: `malformed-${suffix()}`,
      parent: Bundle,
      namespace,
      children: { configMaps: ConfigMap },
      sync: ({ parent }) => {
        if (parent.spec.mode === "undeclared") {
          // A kind not declared in `children` does not compile; forced here to test the run time.
          const secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "s" } };
          return { children: [secret as never] };
        }
        if (parent.spec.mode === "other-namespace") {
          return {
            children: [
              {
                apiVersion: "v1",
                kind: "ConfigMap",
                metadata: { name: "c", namespace: "default" },
              },
            ],
          };
        }
        // An invalid label value: the API server rejects it with a field cause.
        return {
          children: [
            {
              apiVersion: "v1",
              kind: "ConfigMap",
              metadata: { name: "c", labels: { bad: "not a valid value!" } },
            },
          ],
        };
      },
    });
    const harness = await runOperator(operator, { plane });
    try {
      await createBundle(namespace, "undeclared", { mode: "undeclared" });
      await createBundle(namespace, "elsewhere", { mode: "other-namespace" });
      await createBundle(namespace, "rejected", { mode: "server" });
      const reasonOf = async (name: string, reason: string) =>
        eventually(async () => {
          const found = condition(await admin.get(Bundle, name, { namespace }), syncedCondition);
          return found?.reason === reason ? found : undefined;
        });
      assert.match(
        (await reasonOf("undeclared", "InvalidChildren")).message,
        /Secret "s": v1 Secret is not a declared child type/,
      );
      assert.match(
        (await reasonOf("elsewhere", "InvalidChildren")).message,
        /ConfigMap "c": namespace "default" differs from the parent's/,
      );
      assert.match(
        (await reasonOf("rejected", "ApplyFailed")).message,
        /ConfigMap .*c.*metadata\.labels/,
      );
    } finally {
      await harness.stop();
    }
  });

  test("a sync that returns a new random child every time is slowed down and says so", async () => {
    const namespace = await plane.createNamespace("churn");
    const operator = defineOperator({
      name: `churn-${suffix()}`,
      parent: Bundle,
      namespace,
      children: { configMaps: ConfigMap },
      sync: (_request) => ({
        children: [
          { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `random-${suffix()}` } },
        ],
      }),
    });
    const harness = await runOperator(operator, { plane });
    try {
      await createBundle(namespace, "r", {});
      const found = await eventually(async () => {
        const current = condition(await admin.get(Bundle, "r", { namespace }), syncedCondition);
        return current?.reason === "NotConverging" ? current : undefined;
      });
      assert.match(found.message, /different result on every call although nothing it reads/);
      // Slowed down: over the next 3 s far fewer syncs happen than a hot loop would run.
      const syncs = () =>
        harness.outcomes(`${namespace}/r`).filter((outcome) => outcome.phase === "sync").length;
      const before = syncs();
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      assert.ok(syncs() - before <= 3);
    } finally {
      await harness.stop();
    }
  });
});

describe("finalizers", () => {
  test("finalize is retried until it reports finalized, then the parent goes away", async () => {
    const namespace = await plane.createNamespace("finalize");
    let calls = 0;
    const operator = defineOperator({
      name: `finalizing-${suffix()}`,
      parent: Bundle,
      namespace,
      children: { configMaps: ConfigMap },
      sync: () => ({ status: { note: "alive" } }),
      finalize: () => {
        calls++;
        if (calls < 3) throw new Error(`external cleanup failed (attempt ${calls})`);
        return { finalized: true };
      },
    });
    const harness = await runOperator(operator, { plane });
    try {
      await createBundle(namespace, "f", {});
      const withFinalizer = await eventually(async () => {
        const current = await admin.get(Bundle, "f", { namespace });
        return current.metadata.finalizers?.includes(operator.finalizer) ? current : undefined;
      });
      assert.ok(withFinalizer);
      await admin.delete(Bundle, "f", { namespace });
      await eventually(
        async () =>
          (await getOrUndefined(admin, Bundle, "f", namespace)) === undefined ? true : undefined,
        {
          message: "the parent is deleted once finalize succeeds",
        },
      );
      assert.equal(calls, 3);
    } finally {
      await harness.stop();
    }
  });

  test("a status finalize returns that the API server refuses is the attempt's error, retried", async () => {
    const namespace = await plane.createNamespace("finalize-status");
    let finalized = false;
    const operator = defineOperator({
      name: `finalizing-status-${suffix()}`,
      parent: Bundle,
      namespace,
      sync: () => ({ status: { note: "alive" } }),
      finalize: () => {
        if (finalized) return { finalized: true };
        // `keys` is an integer in the status schema: the API server refuses a string.
        return { finalized: false, status: { keys: "many" as unknown as number } };
      },
    });
    const harness = await runOperator(operator, { plane });
    try {
      await createBundle(namespace, "s", {});
      await eventually(async () => {
        const current = await admin.get(Bundle, "s", { namespace });
        return current.metadata.finalizers?.includes(operator.finalizer) ? true : undefined;
      });
      await admin.delete(Bundle, "s", { namespace });
      const refused = await eventually(
        () =>
          harness
            .outcomes(`${namespace}/s`)
            .find((outcome) => outcome.call?.function === "finalize" && outcome.error),
        { message: "the refused status write is reported" },
      );
      assert.match(refused.error!.message, /keys/);
      assert.equal(refused.next.kind, "retry");
      assert.equal(refused.statusWritten, false);
      finalized = true;
      harness.enqueue(`${namespace}/s`);
      await eventually(async () =>
        (await getOrUndefined(admin, Bundle, "s", namespace)) === undefined ? true : undefined,
      );
    } finally {
      await harness.stop();
    }
  });

  test("cluster-scoped children of a namespaced parent are tracked by labels and removed by the finalizer", async () => {
    const namespace = await plane.createNamespace("clusterchild");
    const roleName = `bundle-${namespace}`;
    const operator = defineOperator({
      name: `cluster-child-${suffix()}`,
      parent: Bundle,
      namespace,
      children: { roles: ClusterRole },
      sync: (_request) => ({
        children: [
          {
            apiVersion: "rbac.authorization.k8s.io/v1",
            kind: "ClusterRole",
            metadata: { name: roleName },
            rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get"] }],
          },
        ],
      }),
    });
    const harness = await runOperator(operator, { plane });
    try {
      await createBundle(namespace, "c", {});
      const role = await eventually(() => getOrUndefined(admin, ClusterRole, roleName));
      assert.equal(role.metadata.ownerReferences, undefined);
      assert.equal(role.metadata.labels?.["operon.dev/parent-namespace"], namespace);
      await admin.delete(Bundle, "c", { namespace });
      await eventually(async () =>
        (await getOrUndefined(admin, ClusterRole, roleName)) === undefined ? true : undefined,
      );
      await eventually(async () =>
        (await getOrUndefined(admin, Bundle, "c", namespace)) === undefined ? true : undefined,
      );
    } finally {
      await harness.stop();
    }
  });
});

describe("permissions", () => {
  test("a missing RBAC permission is reported with the verb and the resource", async () => {
    const namespace = await plane.createNamespace("rbac");
    const identity = await plane.kubeconfigFor({ serviceAccount: { namespace, name: "operator" } });
    // Everything the operator needs except writing ConfigMaps.
    await admin.create(
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        plural: "roles",
        namespaced: true,
      },
      {
        metadata: { name: "operator", namespace },
        rules: [
          {
            apiGroups: ["test.operon.dev"],
            resources: ["bundles"],
            verbs: ["get", "list", "watch", "patch", "update"],
          },
          {
            apiGroups: ["test.operon.dev"],
            resources: ["bundles/status"],
            verbs: ["get", "patch", "update"],
          },
          { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] },
          { apiGroups: ["events.k8s.io"], resources: ["events"], verbs: ["create", "patch"] },
        ],
      } as never,
    );
    await admin.create(
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        plural: "rolebindings",
        namespaced: true,
      },
      {
        metadata: { name: "operator", namespace },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "operator" },
        subjects: [{ kind: "ServiceAccount", name: "operator", namespace }],
      } as never,
    );
    const harness = await runOperator(mirrorOperator(namespace), {
      plane,
      kubeconfigPath: identity.path,
    });
    try {
      await createBundle(namespace, "b", { data: { a: "1" } });
      const found = await eventually(async () => {
        const current = condition(await admin.get(Bundle, "b", { namespace }), syncedCondition);
        return current?.reason === "ApplyFailed" ? current : undefined;
      });
      assert.match(
        found.message,
        /ConfigMap .*b: .*forbidden.*cannot create resource "configmaps"/,
      );
      assert.match(found.message, new RegExp(`system:serviceaccount:${namespace}:operator`));
    } finally {
      await harness.stop();
    }
  });
});
