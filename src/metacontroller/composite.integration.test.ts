/**
 * CompositeControllers on the real API server, with hooks in Python (standard library only) and
 * in Node: the sync hook's request and response, children created, updated and deleted, the
 * status replaced with observedGeneration, cascading deletion, resyncAfterSeconds, the finalize
 * hook, customize, claims and adoption, hook failures, update strategies, rolling updates.
 */
import assert from "node:assert/strict";
import { networkInterfaces } from "node:os";
import { after, before, describe, test } from "node:test";
import { ConfigMap, Namespace, Pod, Service } from "../resources/core.ts";
import type { KubeObject } from "../resources/object.ts";
import type { ControlPlane } from "../testkit/control-plane.ts";
import { eventually, getOrUndefined } from "../testkit/operator-harness.ts";
import { testControlPlane } from "../testkit/shared.ts";
import {
  createKind,
  type PythonHooks,
  Reply,
  type RunningMetacontroller,
  runMetacontroller,
  startNodeHooks,
  startPythonHooks,
  suffix,
  testGroup,
} from "./testdata/harness.ts";
import { CompositeControllerType } from "./types.ts";

let plane: ControlPlane;
let mc: RunningMetacontroller;
let python: PythonHooks;

before(async () => {
  plane = await testControlPlane();
  [mc, python] = await Promise.all([runMetacontroller(plane), startPythonHooks()]);
});

after(async () => {
  await mc?.stop();
  await python?.stop();
});

function status(object: KubeObject | undefined): Record<string, unknown> | undefined {
  return object?.status as Record<string, unknown> | undefined;
}

describe("CompositeController with a Python sync hook", () => {
  test("creates children, replaces the status with observedGeneration, updates and deletes children", async () => {
    const kind = await createKind(mc.admin, `Py${suffix()}`);
    const namespace = await plane.createNamespace();
    await mc.createComposite(`py-${suffix()}`, {
      parentResource: { apiVersion: kind.apiVersion, resource: kind.plural },
      childResources: [
        { apiVersion: "v1", resource: "configmaps", updateStrategy: { method: "InPlace" } },
      ],
      hooks: { sync: { webhook: { url: `${python.url}/sync` } } },
    });
    const parent = await mc.admin.create(kind.type, {
      apiVersion: kind.apiVersion,
      kind: kind.kind,
      metadata: { name: "one", namespace },
      spec: {
        selector: { matchLabels: { app: "one" } },
        configMaps: { "one-a": { value: "a" }, "one-b": { value: "b" } },
        message: "hello",
      },
    } as never);

    const converged = await eventually(async () => {
      const live = await mc.admin.get(kind.type, "one", { namespace });
      const s = status(live);
      assert.deepEqual(s?.children, { "ConfigMap.v1": ["one-a", "one-b"] });
      return live;
    });
    const s = status(converged)!;
    assert.equal(s.observedGeneration, 1);
    assert.equal(s.message, "hello");
    assert.deepEqual(s.related, {});
    assert.equal(s.finalizing, false);

    const child = await mc.admin.get(ConfigMap, "one-a", { namespace });
    assert.deepEqual(child.data, { value: "a" });
    assert.deepEqual(child.metadata.labels, { app: "one" });
    const owner = child.metadata.ownerReferences?.[0];
    assert.equal(owner?.uid, parent.metadata.uid);
    assert.equal(owner?.controller, true);
    assert.equal(owner?.blockOwnerDeletion, true);
    // Nothing of Operon's own is added to what the hook sees.
    assert.equal(child.metadata.annotations, undefined);

    // The request is Metacontroller's: controller, parent, children keyed by name, related, finalizing.
    const request = await eventually(async () => {
      const found = await python.lastRequest("/sync", parent.metadata.uid!);
      assert.ok(found);
      assert.ok(
        (found.children as Record<string, Record<string, unknown>>)["ConfigMap.v1"]?.["one-a"],
      );
      return found;
    });
    assert.deepEqual(Object.keys(request), [
      "controller",
      "parent",
      "children",
      "related",
      "finalizing",
    ]);
    const controller = request.controller as KubeObject;
    assert.equal(controller.kind, "CompositeController");
    assert.deepEqual(controller.status, {});
    // The CRD's defaults reach the hook as Metacontroller's CRDs give them.
    assert.equal(
      (controller.spec as Record<string, Record<string, Record<string, unknown>>>).hooks!.sync!
        .version,
      "v1",
    );

    // A changed spec updates a child in place and deletes the one left out.
    await mc.admin.patch(
      kind.type,
      "one",
      { spec: { configMaps: { "one-a": { value: "A" }, "one-b": null } } },
      { namespace },
    );
    await eventually(async () => {
      const a = await mc.admin.get(ConfigMap, "one-a", { namespace });
      assert.deepEqual(a.data, { value: "A" });
      assert.equal(await getOrUndefined(mc.admin, ConfigMap, "one-b", namespace), undefined);
      const live = await mc.admin.get(kind.type, "one", { namespace });
      assert.equal(status(live)?.observedGeneration, 2);
      return true;
    });
  });

  test("deleting the parent deletes its children (garbage collection)", async () => {
    const kind = await createKind(mc.admin, `Gc${suffix()}`);
    const namespace = await plane.createNamespace();
    await mc.createComposite(`gc-${suffix()}`, {
      parentResource: { apiVersion: kind.apiVersion, resource: kind.plural },
      childResources: [{ apiVersion: "v1", resource: "configmaps" }],
      hooks: { sync: { webhook: { url: `${python.url}/sync` } } },
    });
    await mc.admin.create(kind.type, {
      apiVersion: kind.apiVersion,
      kind: kind.kind,
      metadata: { name: "gc", namespace },
      spec: { selector: { matchLabels: { app: "gc" } }, configMaps: { "gc-child": { k: "v" } } },
    } as never);
    await eventually(() => getOrUndefined(mc.admin, ConfigMap, "gc-child", namespace));
    await mc.admin.delete(kind.type, "gc", { namespace });
    // The kind was created moments ago: kube-controller-manager's garbage collector resolves it
    // only at its next discovery (every 30 s), and retries the child with a doubling backoff
    // until then, so the child can take up to about twice that to go.
    await eventually(
      async () => !(await getOrUndefined(mc.admin, ConfigMap, "gc-child", namespace)),
      { timeoutMs: 150_000, message: "the garbage collector deletes the child" },
    );
  });
});

void testGroup;

const Event = {
  apiVersion: "events.k8s.io/v1",
  kind: "Event",
  plural: "events",
  namespaced: true,
} as const;

const Endpoints = {
  apiVersion: "v1",
  kind: "Endpoints",
  plural: "endpoints",
  namespaced: true,
} as const;

/** Events about an object, by reason. */
async function eventsAbout(object: KubeObject, namespace = object.metadata.namespace ?? "default") {
  const list = await mc.admin.list(Event, { namespace });
  return list.items.filter(
    (event) => (event.regarding as { uid?: string } | undefined)?.uid === object.metadata.uid,
  ) as Array<KubeObject & { reason?: string; note?: string; type?: string }>;
}

function condition(object: KubeObject | undefined, type: string) {
  const conditions = status(object)?.conditions as
    | Array<{ type: string; status: string; reason?: string; message?: string }>
    | undefined;
  return conditions?.find((c) => c.type === type);
}

describe("CompositeController with Node hooks", () => {
  test("resyncAfterSeconds asks for the hook again soon, with nothing changed", async () => {
    const kind = await createKind(mc.admin, `Ra${suffix()}`);
    const namespace = await plane.createNamespace();
    // Metacontroller's own test: set a status, quiesce, ask for a resync, report the delay.
    let lastSync = 0;
    let done = false;
    const hooks = await startNodeHooks((_path, body) => {
      const parent = body.parent as KubeObject;
      if (!parent.status) return { status: {} };
      if (lastSync === 0) {
        lastSync = performance.now();
        return { resyncAfterSeconds: 0.1 };
      }
      if (!done) {
        done = true;
        return { status: { elapsedSeconds: (performance.now() - lastSync) / 1000 } };
      }
      return { status: parent.status };
    });
    try {
      await mc.createComposite(`ra-${suffix()}`, {
        parentResource: { apiVersion: kind.apiVersion, resource: kind.plural },
        hooks: { sync: { webhook: { url: hooks.url } } },
      });
      await mc.admin.create(kind.type, {
        apiVersion: kind.apiVersion,
        kind: kind.kind,
        metadata: { name: "ra", namespace },
        spec: { selector: { matchLabels: { app: "ra" } } },
      } as never);
      const elapsed = await eventually(async () => {
        const live = await mc.admin.get(kind.type, "ra", { namespace });
        return status(live)?.elapsedSeconds as number | undefined;
      });
      assert.ok(elapsed >= 0.09 && elapsed < 5, `resynced after ${elapsed} s`);
    } finally {
      await hooks.stop();
    }
  });

  test("refuses a parent whose CRD has no status subresource, with an Event on the controller", async () => {
    const kind = await createKind(mc.admin, `Ns${suffix()}`, { status: false });
    const controller = await mc.createComposite(`ns-${suffix()}`, {
      parentResource: { apiVersion: kind.apiVersion, resource: kind.plural },
      hooks: { sync: { webhook: { url: `${python.url}/sync` } } },
    });
    await eventually(async () => {
      const events = await eventsAbout(controller, "default");
      return events.some((event) =>
        event.note?.includes("does not have subresource 'Status' enabled"),
      );
    });
    assert.equal(
      mc.metacontroller.runtime("CompositeController", controller.metadata.name!),
      undefined,
    );
  });

  test("children keys: v1 by name (namespace/name under a cluster-scoped parent), v2 namespace/name", async () => {
    const namespaced = await createKind(mc.admin, `Kn${suffix()}`);
    const cluster = await createKind(mc.admin, `Kc${suffix()}`, { scope: "Cluster" });
    const namespace = await plane.createNamespace();
    const hooks = await startNodeHooks((_path, body) => {
      const parent = body.parent as KubeObject & {
        spec: { selector: unknown; childNamespace?: string };
      };
      const labels = (parent.spec.selector as { matchLabels: Record<string, string> }).matchLabels;
      return {
        status: {
          keys: Object.keys((body.children as Record<string, object>)["ConfigMap.v1"] ?? {}),
        },
        children: [
          {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: {
              name: `${parent.metadata.name}-child`,
              labels,
              ...(parent.spec.childNamespace ? { namespace: parent.spec.childNamespace } : {}),
            },
          },
        ],
      };
    });
    try {
      for (const version of ["v1", "v2"] as const) {
        for (const kind of [namespaced, cluster]) {
          await mc.createComposite(`keys-${version}-${kind.kind.toLowerCase()}`, {
            parentResource: {
              apiVersion: kind.apiVersion,
              resource: kind.plural,
              labelSelector: { matchLabels: { version } },
            },
            childResources: [{ apiVersion: "v1", resource: "configmaps" }],
            hooks: { sync: { version, webhook: { url: `${hooks.url}/${version}` } } },
          });
        }
      }
      for (const version of ["v1", "v2"] as const) {
        const name = `p-${version}`;
        await mc.admin.create(namespaced.type, {
          apiVersion: namespaced.apiVersion,
          kind: namespaced.kind,
          metadata: { name, namespace, labels: { version } },
          spec: { selector: { matchLabels: { parent: name } } },
        } as never);
        await mc.admin.create(cluster.type, {
          apiVersion: cluster.apiVersion,
          kind: cluster.kind,
          metadata: { name: `${name}-${namespace}`, labels: { version } },
          spec: { selector: { matchLabels: { parent: `${name}-c` } }, childNamespace: namespace },
        } as never);
      }
      await eventually(async () => {
        for (const request of hooks.requests) {
          const version = request.path.slice(1);
          const parent = request.body.parent as KubeObject;
          const keys = Object.keys(
            (request.body.children as Record<string, object>)["ConfigMap.v1"] ?? {},
          );
          if (keys.length === 0) continue;
          const childName = `${parent.metadata.name}-child`;
          const key =
            version === "v1" && parent.metadata.namespace ? childName : `${namespace}/${childName}`;
          assert.deepEqual(keys, [key], `${version} ${parent.kind}`);
        }
        // Every (version, scope) combination was seen with its child.
        const seen = new Set(
          hooks.requests
            .filter(
              (r) =>
                Object.keys((r.body.children as Record<string, object>)["ConfigMap.v1"] ?? {})
                  .length > 0,
            )
            .map((r) => `${r.path}/${(r.body.parent as KubeObject).kind}`),
        );
        assert.equal(seen.size, 4, [...seen].join(", "));
        return true;
      });
    } finally {
      await hooks.stop();
    }
  });
});

describe("hook failures", () => {
  test("are reported on the parent (Event and Synced condition), retried, and block no other parent", async () => {
    const kind = await createKind(mc.admin, `Hf${suffix()}`);
    const namespace = await plane.createNamespace();
    // One hook server, one answer per parent: each failure mode next to a healthy parent.
    const modes: Record<string, (body: Record<string, unknown>) => unknown> = {
      healthy: () => ({ status: { ok: true } }),
      error: () => new Reply(500, "boom"),
      garbage: () => new Reply(200, "{not json"),
      unknown: () => ({ status: { ok: true }, surprise: 1 }),
      slow: () =>
        new Promise((resolve) => setTimeout(() => resolve({ status: { ok: true } }), 4_000)),
    };
    let healed = false;
    const hooks = await startNodeHooks((_path, body) => {
      const parent = body.parent as KubeObject;
      if (healed) return { status: { ok: true } };
      return modes[parent.metadata.name!]!(body);
    });
    try {
      await mc.createComposite(`hf-${suffix()}`, {
        parentResource: { apiVersion: kind.apiVersion, resource: kind.plural },
        // v2: strict decoding (unknown fields are errors); a 1 s timeout.
        hooks: { sync: { version: "v2", webhook: { url: hooks.url, timeout: "1s" } } },
      });
      for (const name of Object.keys(modes)) {
        await mc.admin.create(kind.type, {
          apiVersion: kind.apiVersion,
          kind: kind.kind,
          metadata: { name, namespace },
          spec: { selector: { matchLabels: { app: name } } },
        } as never);
      }
      const expected: Record<string, [string, RegExp]> = {
        error: ["HookFailed", /unsupported status code: 500 body: boom/],
        garbage: ["HookInvalidResponse", /can't unmarshal webhookResponse/],
        unknown: ["HookInvalidResponse", /strict validation failed.*unknown field "surprise"/],
        slow: ["HookTimeout", /deadline exceeded/],
      };
      await eventually(async () => {
        const healthy = await mc.admin.get(kind.type, "healthy", { namespace });
        assert.equal(status(healthy)?.ok, true);
        for (const [name, [reason, message]] of Object.entries(expected)) {
          const parent = await mc.admin.get(kind.type, name, { namespace });
          const synced = condition(parent, "Synced");
          assert.equal(synced?.status, "False", name);
          assert.equal(synced?.reason, reason, name);
          assert.match(synced?.message ?? "", message, name);
          const events = await eventsAbout(parent);
          assert.ok(
            events.some(
              (e) =>
                e.type === "Warning" &&
                e.reason === "SyncError" &&
                /^Sync error: /.test(e.note ?? ""),
            ),
            `${name}: a SyncError Event`,
          );
        }
        return true;
      });
      // Retried with backoff: once the hook answers, every parent converges and the condition goes.
      healed = true;
      await eventually(async () => {
        for (const name of Object.keys(modes)) {
          const parent = await mc.admin.get(kind.type, name, { namespace });
          assert.deepEqual(status(parent), { ok: true, observedGeneration: 1 }, name);
        }
        return true;
      });
    } finally {
      await hooks.stop();
    }
  });

  test("an unreachable hook is reported as such", async () => {
    const kind = await createKind(mc.admin, `Hu${suffix()}`);
    const namespace = await plane.createNamespace();
    const closed = await startNodeHooks(() => ({}));
    await closed.stop();
    await mc.createComposite(`hu-${suffix()}`, {
      parentResource: { apiVersion: kind.apiVersion, resource: kind.plural },
      hooks: { sync: { webhook: { url: closed.url } } },
    });
    await mc.admin.create(kind.type, {
      apiVersion: kind.apiVersion,
      kind: kind.kind,
      metadata: { name: "lonely", namespace },
      spec: { selector: { matchLabels: { app: "lonely" } } },
    } as never);
    await eventually(async () => {
      const parent = await mc.admin.get(kind.type, "lonely", { namespace });
      const synced = condition(parent, "Synced");
      assert.equal(synced?.reason, "HookUnreachable");
      assert.match(synced?.message ?? "", /ECONNREFUSED/);
      return true;
    });
  });
});

describe("customize hook (Python)", () => {
  test("related objects by names, label selector and namespace selector reach the sync hook, and their changes resync the parent", async () => {
    const kind = await createKind(mc.admin, `Cu${suffix()}`);
    const namespace = await plane.createNamespace();
    const other = await plane.createNamespace();
    const team = await plane.createNamespace();
    const teamLabel = suffix();
    await mc.admin.patch(Namespace, team, { metadata: { labels: { team: teamLabel } } });
    await mc.admin.create(ConfigMap, {
      metadata: { name: "shared", namespace: team, labels: { shared: "yes" } },
    });
    await mc.admin.create(ConfigMap, { metadata: { name: "private", namespace: team } });
    await mc.createComposite(`cu-${suffix()}`, {
      parentResource: { apiVersion: kind.apiVersion, resource: kind.plural },
      hooks: {
        sync: { version: "v2", webhook: { url: `${python.url}/sync` } },
        customize: { version: "v2", webhook: { url: `${python.url}/customize` } },
      },
    });
    await mc.admin.create(ConfigMap, { metadata: { name: "named", namespace }, data: {} });
    await mc.admin.create(ConfigMap, {
      metadata: { name: "labelled", namespace: other, labels: { pick: "me" } },
    });
    await mc.admin.create(ConfigMap, { metadata: { name: "ignored", namespace: other } });
    await mc.admin.create(kind.type, {
      apiVersion: kind.apiVersion,
      kind: kind.kind,
      metadata: { name: "cu", namespace },
      spec: {
        selector: { matchLabels: { app: "cu" } },
        related: [
          { apiVersion: "v1", resource: "configmaps", namespace, names: ["named", "later"] },
          {
            apiVersion: "v1",
            resource: "configmaps",
            labelSelector: { matchLabels: { pick: "me" } },
          },
          {
            apiVersion: "v1",
            resource: "configmaps",
            namespaceSelector: { matchLabels: { team: teamLabel } },
            labelSelector: { matchLabels: { shared: "yes" } },
          },
        ],
      },
    } as never);
    await eventually(async () => {
      const parent = await mc.admin.get(kind.type, "cu", { namespace });
      assert.deepEqual(status(parent)?.related, {
        "ConfigMap.v1": [`${namespace}/named`, `${other}/labelled`, `${team}/shared`].sort(),
      });
      return true;
    });
    // A related object appearing later: the parent is synced again with it.
    await mc.admin.create(ConfigMap, { metadata: { name: "later", namespace } });
    await eventually(async () => {
      const parent = await mc.admin.get(kind.type, "cu", { namespace });
      assert.deepEqual(status(parent)?.related, {
        "ConfigMap.v1": [
          `${namespace}/later`,
          `${namespace}/named`,
          `${other}/labelled`,
          `${team}/shared`,
        ].sort(),
      });
      return true;
    });
  });
});

describe("claims", () => {
  test("adopts a matching orphan, releases a child that stops matching, never takes another owner's object", async () => {
    const kind = await createKind(mc.admin, `Cl${suffix()}`);
    const namespace = await plane.createNamespace();
    await mc.createComposite(`cl-${suffix()}`, {
      parentResource: { apiVersion: kind.apiVersion, resource: kind.plural },
      childResources: [{ apiVersion: "v1", resource: "configmaps" }],
      hooks: { sync: { webhook: { url: `${python.url}/sync` } } },
    });
    // An orphan that matches the selector, and another owner's object with a desired name.
    await mc.admin.create(ConfigMap, {
      metadata: { name: "orphan", namespace, labels: { app: "cl" } },
    });
    const owner = await mc.admin.create(ConfigMap, { metadata: { name: "owner", namespace } });
    await mc.admin.create(ConfigMap, {
      metadata: {
        name: "taken",
        namespace,
        labels: { app: "cl" },
        ownerReferences: [
          {
            apiVersion: "v1",
            kind: "ConfigMap",
            name: "owner",
            uid: owner.metadata.uid!,
            controller: true,
          },
        ],
      },
      data: { mine: "yes" },
    });
    const parent = await mc.admin.create(kind.type, {
      apiVersion: kind.apiVersion,
      kind: kind.kind,
      metadata: { name: "cl", namespace },
      spec: {
        selector: { matchLabels: { app: "cl" } },
        configMaps: { orphan: { adopted: "true" }, taken: { mine: "no" } },
      },
    } as never);
    await eventually(async () => {
      const orphan = await mc.admin.get(ConfigMap, "orphan", { namespace });
      assert.equal(orphan.metadata.ownerReferences?.[0]?.uid, parent.metadata.uid);
      const live = await mc.admin.get(kind.type, "cl", { namespace });
      assert.deepEqual(status(live)?.children, { "ConfigMap.v1": ["orphan"] });
      const synced = condition(live, "Synced");
      assert.equal(synced?.reason, "ChildConflict");
      assert.match(
        synced?.message ?? "",
        /ConfigMap .*\/taken exists and is controlled by ConfigMap owner/,
      );
      return true;
    });
    const taken = await mc.admin.get(ConfigMap, "taken", { namespace });
    assert.deepEqual(taken.data, { mine: "yes" });
    assert.equal(taken.metadata.ownerReferences?.[0]?.uid, owner.metadata.uid);

    // A child that stops matching the parent's selector is released, not deleted.
    await mc.admin.patch(
      kind.type,
      "cl",
      { spec: { selector: { matchLabels: { app: "cl2" } }, configMaps: null } },
      { namespace },
    );
    await eventually(async () => {
      const orphan = await mc.admin.get(ConfigMap, "orphan", { namespace });
      assert.equal(orphan.metadata.ownerReferences, undefined);
      const live = await mc.admin.get(kind.type, "cl", { namespace });
      assert.deepEqual(status(live)?.children, { "ConfigMap.v1": [] });
      return true;
    });
  });
});

describe("finalize hook (Python)", () => {
  test("keeps the parent until the hook reports finalized, tearing children down in order", async () => {
    const kind = await createKind(mc.admin, `Fi${suffix()}`);
    const namespace = await plane.createNamespace();
    const name = `fi-${suffix()}`;
    await mc.createComposite(name, {
      parentResource: { apiVersion: kind.apiVersion, resource: kind.plural },
      childResources: [{ apiVersion: "v1", resource: "configmaps" }],
      hooks: {
        sync: { webhook: { url: `${python.url}/sync` } },
        finalize: { webhook: { url: `${python.url}/finalize` } },
      },
    });
    const parent = await mc.admin.create(kind.type, {
      apiVersion: kind.apiVersion,
      kind: kind.kind,
      metadata: { name: "fi", namespace },
      spec: {
        selector: { matchLabels: { app: "fi" } },
        configMaps: { "fi-1": {}, "fi-2": {}, "fi-3": {} },
        finalizeAfter: 5,
      },
    } as never);
    await eventually(async () => {
      const live = await mc.admin.get(kind.type, "fi", { namespace });
      assert.deepEqual(live.metadata.finalizers, [`metacontroller.io/compositecontroller-${name}`]);
      assert.deepEqual(status(live)?.children, { "ConfigMap.v1": ["fi-1", "fi-2", "fi-3"] });
      return true;
    });
    await mc.admin.delete(kind.type, "fi", { namespace });
    // Children go one at a time; the parent stays until the hook says finalized.
    const remaining: string[][] = [];
    await eventually(
      async () => {
        const live = await getOrUndefined(mc.admin, kind.type, "fi", namespace);
        if (live) {
          const left = status(live)?.remaining as string[] | undefined;
          if (left && JSON.stringify(remaining.at(-1)) !== JSON.stringify(left))
            remaining.push(left);
          return false;
        }
        return true;
      },
      { intervalMs: 50 },
    );
    const request = await python.lastRequest("/finalize", parent.metadata.uid!);
    assert.equal(request?.finalizing, true);
    const calls = ((request!.parent as KubeObject).status as { finalizeCalls: number })
      .finalizeCalls;
    assert.ok(calls >= 4, `called ${calls} times`);
    // Seen shrinking, never growing.
    for (let i = 1; i < remaining.length; i++)
      assert.ok(remaining[i]!.length <= remaining[i - 1]!.length);
    for (const child of ["fi-1", "fi-2", "fi-3"]) {
      assert.equal(await getOrUndefined(mc.admin, ConfigMap, child, namespace), undefined);
    }
  });
});

describe("update strategies", () => {
  test("InPlace, Recreate and OnDelete on children another field manager edited", async () => {
    const namespace = await plane.createNamespace();
    const methods = ["InPlace", "Recreate", "OnDelete"] as const;
    const kinds: Record<string, Awaited<ReturnType<typeof createKind>>> = {};
    for (const method of methods) {
      const kind = await createKind(mc.admin, `Us${method}${suffix()}`);
      kinds[method] = kind;
      await mc.createComposite(`us-${method.toLowerCase()}-${suffix()}`, {
        parentResource: { apiVersion: kind.apiVersion, resource: kind.plural },
        childResources: [{ apiVersion: "v1", resource: "configmaps", updateStrategy: { method } }],
        hooks: { sync: { webhook: { url: `${python.url}/sync` } } },
      });
      await mc.admin.create(kind.type, {
        apiVersion: kind.apiVersion,
        kind: kind.kind,
        metadata: { name: method.toLowerCase(), namespace },
        spec: {
          selector: { matchLabels: { app: method } },
          configMaps: { [`${method.toLowerCase()}-child`]: { value: "1" } },
        },
      } as never);
    }
    const child = (method: string) =>
      mc.admin.get(ConfigMap, `${method.toLowerCase()}-child`, { namespace });
    await eventually(async () => {
      for (const method of methods) assert.deepEqual((await child(method)).data, { value: "1" });
      return true;
    });
    const before: Record<string, KubeObject> = {};
    // Another manager adds a label and a key of its own to each child.
    for (const method of methods) {
      await mc.admin.apply(
        ConfigMap,
        {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: {
            name: `${method.toLowerCase()}-child`,
            namespace,
            labels: { extra: "someone" },
          },
          data: { theirs: "kept" },
        },
        { fieldManager: "someone-else" },
      );
      before[method] = await child(method);
      // A sync of the parent with nothing changed for the hook.
      await mc.admin.patch(
        kinds[method]!.type,
        method.toLowerCase(),
        { metadata: { annotations: { poke: "1" } } },
        { namespace },
      );
    }
    // Neither reverted nor a reason to recreate: the same object at the same version.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    for (const method of methods) {
      const live = await child(method);
      assert.equal(live.metadata.uid, before[method]!.metadata.uid, method);
      assert.equal(live.metadata.resourceVersion, before[method]!.metadata.resourceVersion, method);
      assert.deepEqual(live.data, { value: "1", theirs: "kept" }, method);
    }

    // A new desired state: InPlace updates in place and keeps their field, Recreate deletes and
    // creates again, OnDelete leaves the child alone until someone deletes it.
    for (const method of methods) {
      await mc.admin.patch(
        kinds[method]!.type,
        method.toLowerCase(),
        { spec: { configMaps: { [`${method.toLowerCase()}-child`]: { value: "2" } } } },
        { namespace },
      );
    }
    await eventually(async () => {
      const inPlace = await child("InPlace");
      assert.equal(inPlace.metadata.uid, before.InPlace!.metadata.uid);
      assert.deepEqual(inPlace.data, { value: "2", theirs: "kept" });
      assert.equal(inPlace.metadata.labels?.extra, "someone");
      const recreated = await child("Recreate");
      assert.notEqual(recreated.metadata.uid, before.Recreate!.metadata.uid);
      assert.deepEqual(recreated.data, { value: "2" });
      return true;
    });
    const onDelete = await child("OnDelete");
    assert.equal(onDelete.metadata.uid, before.OnDelete!.metadata.uid);
    assert.deepEqual(onDelete.data, { value: "1", theirs: "kept" });
    await mc.admin.delete(ConfigMap, "ondelete-child", { namespace });
    await eventually(async () => {
      const again = await getOrUndefined(mc.admin, ConfigMap, "ondelete-child", namespace);
      return (
        again !== undefined &&
        again.metadata.uid !== before.OnDelete!.metadata.uid &&
        again.data?.value === "2"
      );
    });
  });
});

describe("rolling updates", () => {
  test("RollingRecreate moves one child at a time, pausing while an updated child fails its status checks", async () => {
    const namespace = await plane.createNamespace();
    const widget = await createKind(mc.admin, `Wd${suffix()}`);
    const kind = await createKind(mc.admin, `Ro${suffix()}`);
    const hooks = await startNodeHooks((_path, body) => {
      const parent = body.parent as KubeObject & { spec: { version: string } };
      const observed =
        (body.children as Record<string, Record<string, KubeObject>>)[
          `${widget.kind}.${widget.apiVersion}`
        ] ?? {};
      return {
        status: {
          versions: Object.fromEntries(
            Object.entries(observed).map(([name, w]) => [
              name,
              (w.spec as { version: string }).version,
            ]),
          ),
        },
        children: [0, 1, 2].map((i) => ({
          apiVersion: widget.apiVersion,
          kind: widget.kind,
          metadata: { name: `w-${i}`, labels: { app: "ro" } },
          spec: { version: parent.spec.version },
        })),
      };
    });
    // Plays the widgets' own controller: marks new widgets Ready unless told to hold.
    let hold = false;
    const ready = setInterval(async () => {
      if (hold) return;
      const list = await mc.admin.list(widget.type, { namespace }).catch(() => undefined);
      for (const item of list?.items ?? []) {
        if (item.status || item.metadata.deletionTimestamp) continue;
        await mc.admin
          .patch(
            widget.type,
            item.metadata.name!,
            [
              {
                op: "add",
                path: "/status",
                value: { conditions: [{ type: "Ready", status: "True" }] },
              },
            ],
            { namespace, subresource: "status" },
          )
          .catch(() => {});
      }
    }, 200);
    try {
      await mc.createComposite(`ro-${suffix()}`, {
        parentResource: {
          apiVersion: kind.apiVersion,
          resource: kind.plural,
          revisionHistory: { fieldPaths: ["spec.version"] },
        },
        childResources: [
          {
            apiVersion: widget.apiVersion,
            resource: widget.plural,
            updateStrategy: {
              method: "RollingRecreate",
              statusChecks: { conditions: [{ type: "Ready", status: "True" }] },
            },
          },
        ],
        hooks: { sync: { webhook: { url: hooks.url } } },
      });
      await mc.admin.create(kind.type, {
        apiVersion: kind.apiVersion,
        kind: kind.kind,
        metadata: { name: "ro", namespace },
        spec: { selector: { matchLabels: { app: "ro" } }, version: "v1" },
      } as never);
      const versions = async () => {
        const list = await mc.admin.list(widget.type, { namespace });
        return Object.fromEntries(
          list.items.map((w) => [w.metadata.name, (w.spec as { version: string }).version]),
        );
      };
      await eventually(async () => {
        assert.deepEqual(await versions(), { "w-0": "v1", "w-1": "v1", "w-2": "v1" });
        const live = await mc.admin.get(kind.type, "ro", { namespace });
        assert.equal(condition(live, "Updated")?.reason, "OnLatestRevision");
        return true;
      });

      hold = true;
      await mc.admin.patch(kind.type, "ro", { spec: { version: "v2" } }, { namespace });
      await eventually(async () => {
        const live = await mc.admin.get(kind.type, "ro", { namespace });
        const updated = condition(live, "Updated");
        assert.equal(updated?.reason, "RolloutWaiting");
        assert.match(
          updated?.message ?? "",
          /failed status check: required condition type missing: "Ready"/,
        );
        return true;
      });
      // Paused: one child on the new revision, the others untouched.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      assert.deepEqual(await versions(), { "w-0": "v2", "w-1": "v1", "w-2": "v1" });
      const revisions = await mc.admin.list(
        {
          apiVersion: "metacontroller.k8s.io/v1alpha1",
          kind: "ControllerRevision",
          plural: "controllerrevisions",
          namespaced: true,
        },
        { namespace },
      );
      assert.equal(
        revisions.items.length,
        2,
        "one revision per parent state still holding children",
      );

      hold = false;
      await eventually(async () => {
        assert.deepEqual(await versions(), { "w-0": "v2", "w-1": "v2", "w-2": "v2" });
        const live = await mc.admin.get(kind.type, "ro", { namespace });
        assert.equal(condition(live, "Updated")?.reason, "OnLatestRevision");
        const left = await mc.admin.list(
          {
            apiVersion: "metacontroller.k8s.io/v1alpha1",
            kind: "ControllerRevision",
            plural: "controllerrevisions",
            namespaced: true,
          },
          { namespace },
        );
        assert.equal(left.items.length, 1);
        assert.deepEqual((left.items[0] as KubeObject & { children?: unknown }).children, [
          { apiGroup: testGroup, kind: widget.kind, names: ["w-0", "w-1", "w-2"] },
        ]);
        return true;
      });
    } finally {
      clearInterval(ready);
      await hooks.stop();
    }
  });
});

describe("at rest and at run time", () => {
  test("zero writes at rest while resyncs keep calling the hook", async () => {
    const kind = await createKind(mc.admin, `Zw${suffix()}`);
    const namespace = await plane.createNamespace();
    let calls = 0;
    const hooks = await startNodeHooks((_path, body) => {
      calls++;
      const parent = body.parent as KubeObject;
      return {
        status: { ready: true, conditions: [{ type: "Ready", status: "True" }] },
        children: [
          {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: `${parent.metadata.name}-cm`, labels: { app: "zw" } },
            data: { a: "1000m" },
          },
          {
            apiVersion: "v1",
            kind: "Secret",
            metadata: { name: `${parent.metadata.name}-s`, labels: { app: "zw" } },
            stringData: { b: "x" },
          },
        ],
      };
    });
    try {
      await mc.createComposite(`zw-${suffix()}`, {
        parentResource: { apiVersion: kind.apiVersion, resource: kind.plural },
        childResources: [
          { apiVersion: "v1", resource: "configmaps", updateStrategy: { method: "InPlace" } },
          { apiVersion: "v1", resource: "secrets", updateStrategy: { method: "Recreate" } },
        ],
        resyncPeriodSeconds: 1,
        hooks: { sync: { webhook: { url: hooks.url } } },
      });
      await mc.admin.create(kind.type, {
        apiVersion: kind.apiVersion,
        kind: kind.kind,
        metadata: { name: "zw", namespace },
        spec: { selector: { matchLabels: { app: "zw" } } },
      } as never);
      const snapshot = async () => {
        const [parent, cm, secret] = await Promise.all([
          mc.admin.get(kind.type, "zw", { namespace }),
          mc.admin.get(ConfigMap, "zw-cm", { namespace }),
          mc.admin.get(
            { apiVersion: "v1", kind: "Secret", plural: "secrets", namespaced: true },
            "zw-s",
            { namespace },
          ),
        ]);
        return [parent, cm, secret].map((o) => `${o.metadata.uid}@${o.metadata.resourceVersion}`);
      };
      await eventually(async () => {
        const live = await mc.admin.get(kind.type, "zw", { namespace });
        return (
          status(live)?.ready === true &&
          (await getOrUndefined(mc.admin, ConfigMap, "zw-cm", namespace)) !== undefined
        );
      });
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const before = await snapshot();
      const callsBefore = calls;
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      assert.ok(calls - callsBefore >= 2, `the hook was called ${calls - callsBefore} times`);
      // A Secret's stringData comes back as data: still no write, no recreation.
      assert.deepEqual(await snapshot(), before);
    } finally {
      await hooks.stop();
    }
  });

  test("generateSelector: children carry controller-uid, parents need no selector", async () => {
    const kind = await createKind(mc.admin, `Gs${suffix()}`);
    const namespace = await plane.createNamespace();
    await mc.createComposite(`gs-${suffix()}`, {
      parentResource: { apiVersion: kind.apiVersion, resource: kind.plural },
      childResources: [{ apiVersion: "v1", resource: "configmaps" }],
      generateSelector: true,
      hooks: { sync: { webhook: { url: `${python.url}/sync` } } },
    });
    const parent = await mc.admin.create(kind.type, {
      apiVersion: kind.apiVersion,
      kind: kind.kind,
      metadata: { name: "gs", namespace },
      spec: { configMaps: { "gs-child": { k: "v" } } },
    } as never);
    await eventually(async () => {
      const child = await getOrUndefined(mc.admin, ConfigMap, "gs-child", namespace);
      assert.equal(child?.metadata.labels?.["controller-uid"], parent.metadata.uid);
      const live = await mc.admin.get(kind.type, "gs", { namespace });
      assert.deepEqual(status(live)?.children, { "ConfigMap.v1": ["gs-child"] });
      return true;
    });
  });

  test("controllers changed and deleted at run time are restarted and stopped", async () => {
    const kind = await createKind(mc.admin, `Rt${suffix()}`);
    const namespace = await plane.createNamespace();
    const first = await startNodeHooks(() => ({ status: { from: "first" } }));
    const second = await startNodeHooks(() => ({ status: { from: "second" } }));
    try {
      const name = `rt-${suffix()}`;
      const controller = await mc.createComposite(name, {
        parentResource: { apiVersion: kind.apiVersion, resource: kind.plural },
        hooks: { sync: { webhook: { url: first.url } } },
      });
      await mc.admin.create(kind.type, {
        apiVersion: kind.apiVersion,
        kind: kind.kind,
        metadata: { name: "rt", namespace },
        spec: { selector: { matchLabels: { app: "rt" } } },
      } as never);
      await eventually(
        async () => status(await mc.admin.get(kind.type, "rt", { namespace }))?.from === "first",
      );
      await mc.admin.patch(CompositeControllerType, name, {
        spec: { hooks: { sync: { webhook: { url: second.url } } } },
      });
      await eventually(
        async () => status(await mc.admin.get(kind.type, "rt", { namespace }))?.from === "second",
      );
      await eventually(async () => {
        const events = await eventsAbout(controller, "default");
        return (
          events.some((e) => e.reason === "Started") && events.some((e) => e.reason === "Stopped")
        );
      });
      await mc.admin.delete(CompositeControllerType, name);
      await eventually(() => mc.metacontroller.runtime("CompositeController", name) === undefined);
      const calls = second.requests.length;
      await mc.admin.patch(kind.type, "rt", { spec: { poke: 1 } }, { namespace });
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      assert.equal(second.requests.length, calls, "no sync after the controller is gone");
    } finally {
      await first.stop();
      await second.stop();
    }
  });

  test("a hook given as a Service is reached through the API server's service proxy", async (t) => {
    const address = Object.values(networkInterfaces())
      .flat()
      .find((entry) => entry && entry.family === "IPv4" && !entry.internal)?.address;
    if (!address) {
      t.skip("no non-loopback IPv4 address for the API server to proxy to");
      return;
    }
    const kind = await createKind(mc.admin, `Sv${suffix()}`);
    const namespace = await plane.createNamespace();
    const hooks = await startNodeHooks((path) => ({ status: { path } }), "0.0.0.0");
    try {
      const port = Number(new URL(hooks.url).port);
      await mc.admin.create(Service, {
        metadata: { name: "hooks", namespace },
        spec: { ports: [{ name: "http", port: 8080, targetPort: port }] },
      } as never);
      // The API server proxies only to addresses of Pods: a Pod that never runs stands for the
      // hook server on this machine.
      await mc.admin.create(Pod, {
        metadata: { name: "hook-server", namespace },
        spec: {
          nodeSelector: { nowhere: "true" },
          containers: [{ name: "hooks", image: "hooks" }],
        },
      } as never);
      await mc.admin.patch(
        Pod,
        "hook-server",
        { status: { podIP: address, podIPs: [{ ip: address }] } },
        { namespace, subresource: "status" },
      );
      await mc.admin.create(Endpoints, {
        metadata: { name: "hooks", namespace },
        subsets: [
          {
            addresses: [
              { ip: address, targetRef: { kind: "Pod", name: "hook-server", namespace } },
            ],
            ports: [{ name: "http", port }],
          },
        ],
      } as never);
      await mc.createComposite(`sv-${suffix()}`, {
        parentResource: { apiVersion: kind.apiVersion, resource: kind.plural },
        hooks: {
          sync: {
            webhook: { service: { name: "hooks", namespace, port: 8080 }, path: "/sync/proxied" },
          },
        },
      });
      await mc.admin.create(kind.type, {
        apiVersion: kind.apiVersion,
        kind: kind.kind,
        metadata: { name: "sv", namespace },
        spec: { selector: { matchLabels: { app: "sv" } } },
      } as never);
      await eventually(
        async () =>
          status(await mc.admin.get(kind.type, "sv", { namespace }))?.path === "/sync/proxied",
      );
    } finally {
      await hooks.stop();
    }
  });
});
