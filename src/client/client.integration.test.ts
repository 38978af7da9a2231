/**
 * The client against a real kube-apiserver (the testkit's local control plane).
 */
import assert from "node:assert/strict";
import { chmod, mkdtemp, readdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { KubeObject, ResourceType } from "../resources/object.ts";
import { type ControlPlane, testControlPlane } from "../testkit/index.ts";
import { KubeClient } from "./client.ts";
import {
  AlreadyExistsError,
  ConflictError,
  ForbiddenError,
  InvalidError,
  isNotFound,
  NotFoundError,
  UnknownKindError,
} from "./errors.ts";
import { loadKubeConfig } from "./kubeconfig.ts";
import type { RequestMetric } from "./request.ts";
import { isInitialEventsEnd, type WatchEvent } from "./watch.ts";

interface ConfigMapObject extends KubeObject {
  data?: Record<string, string>;
}
const ConfigMap: ResourceType<ConfigMapObject> = {
  apiVersion: "v1",
  kind: "ConfigMap",
  plural: "configmaps",
  namespaced: true,
};
const CustomResourceDefinition: ResourceType = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  plural: "customresourcedefinitions",
  namespaced: false,
};

let plane: ControlPlane;
let client: KubeClient;
const metrics: RequestMetric[] = [];
let watchOpens = 0;
let longWatch: {
  events: WatchEvent<ConfigMapObject>[];
  openedAt: number;
  namespace: string;
  done: Promise<void>;
  close: () => void;
};

async function waitUntil<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

before(async () => {
  plane = await testControlPlane();
  client = await KubeClient.fromKubeConfig({
    kubeconfig: plane.kubeconfigPath,
    fieldManager: "operon-client-test",
    metrics: {
      request: (m) => metrics.push(m),
      watchOpened: () => {
        watchOpens++;
      },
    },
  });
  // A watch that stays open through the whole file: no client-side deadline may cut it.
  const namespace = await plane.createNamespace("long-watch");
  const watch = await client.watch(ConfigMap, { namespace });
  const events: WatchEvent<ConfigMapObject>[] = [];
  const done = (async () => {
    for await (const event of watch) events.push(event);
  })();
  longWatch = { events, openedAt: Date.now(), namespace, done, close: () => watch.close() };
});

after(async () => {
  longWatch?.close();
  await longWatch?.done.catch(() => {});
  await client?.destroy();
});

describe("configuration", () => {
  test("the testkit kubeconfig loads; the server answers", async () => {
    const connection = await loadKubeConfig({ kubeconfig: plane.kubeconfigPath });
    assert.equal(connection.server, plane.server);
    assert.ok(connection.tls.ca && connection.tls.cert && connection.tls.key);
    const version = await client.serverVersion();
    assert.equal(version.major, "1");
  });
});

describe("ConfigMap CRUD and typed errors", () => {
  test("create, get, update, patch (merge and JSON), list, delete", async () => {
    const namespace = await plane.createNamespace();
    const created = await client.create(ConfigMap, {
      metadata: { name: "crud", namespace },
      data: { a: "1" },
    });
    assert.equal(created.kind, "ConfigMap");
    assert.ok(created.metadata.uid);
    const got = await client.get(ConfigMap, "crud", { namespace });
    assert.deepEqual(got.data, { a: "1" });

    got.data = { a: "2" };
    const updated = await client.update(ConfigMap, got);
    assert.deepEqual(updated.data, { a: "2" });
    assert.notEqual(updated.metadata.resourceVersion, got.metadata.resourceVersion);

    const merged = await client.patch(ConfigMap, "crud", { data: { b: "3" } }, { namespace });
    assert.deepEqual(merged.data, { a: "2", b: "3" });
    const jsonPatched = await client.patch(ConfigMap, "crud", [{ op: "remove", path: "/data/a" }], {
      namespace,
    });
    assert.deepEqual(jsonPatched.data, { b: "3" });

    const list = await client.list(ConfigMap, {
      namespace,
      fieldSelector: { "metadata.name": "crud" },
    });
    assert.deepEqual(
      list.items.map((i) => [i.apiVersion, i.kind, i.metadata.name]),
      [["v1", "ConfigMap", "crud"]],
    );

    await client.delete(ConfigMap, "crud", { namespace });
    await assert.rejects(client.get(ConfigMap, "crud", { namespace }), NotFoundError);
    assert.equal(
      await client.get(ConfigMap, "crud", { namespace }).catch((e) => (isNotFound(e) ? "gone" : e)),
      "gone",
    );
  });

  test("typed errors: not found, already exists, conflict on a stale resourceVersion, invalid with causes", async () => {
    const namespace = await plane.createNamespace();
    await assert.rejects(client.get(ConfigMap, "missing", { namespace }), (err: unknown) => {
      assert.ok(err instanceof NotFoundError);
      assert.equal(err.code, 404);
      assert.equal(err.message, `get configmaps "missing" in namespace "${namespace}": not found`);
      assert.equal(err.status?.details?.name, "missing");
      return true;
    });

    const cm = await client.create(ConfigMap, { metadata: { name: "dup", namespace } });
    await assert.rejects(
      client.create(ConfigMap, { metadata: { name: "dup", namespace } }),
      (err: unknown) => {
        assert.ok(err instanceof AlreadyExistsError);
        assert.equal(
          err.message,
          `create configmaps "dup" in namespace "${namespace}": already exists`,
        );
        return true;
      },
    );

    await client.update(ConfigMap, { ...cm, data: { first: "write" } });
    await assert.rejects(
      client.update(ConfigMap, { ...cm, data: { stale: "write" } }),
      (err: unknown) => {
        assert.ok(err instanceof ConflictError);
        assert.equal(err.code, 409);
        assert.match(
          err.message,
          new RegExp(
            `^update configmaps "dup" in namespace "${namespace}": conflict: the object has been modified`,
          ),
        );
        return true;
      },
    );

    await assert.rejects(
      client.create(ConfigMap, {
        metadata: { name: "bad", namespace, labels: { app: "not a valid value!" } },
      }),
      (err: unknown) => {
        assert.ok(err instanceof InvalidError);
        assert.equal(err.code, 422);
        assert.ok(
          err.causes.some((c) => c.field === "metadata.labels"),
          JSON.stringify(err.causes),
        );
        assert.match(
          err.message,
          new RegExp(
            `^create configmaps "bad" in namespace "${namespace}": invalid: metadata.labels: Invalid value`,
          ),
        );
        return true;
      },
    );
  });

  test("delete with a stale uid precondition fails with a conflict", async () => {
    const namespace = await plane.createNamespace();
    const first = await client.create(ConfigMap, { metadata: { name: "pre", namespace } });
    await client.delete(ConfigMap, "pre", {
      namespace,
      preconditions: { uid: first.metadata.uid! },
    });
    const second = await client.create(ConfigMap, { metadata: { name: "pre", namespace } });
    await assert.rejects(
      client.delete(ConfigMap, "pre", { namespace, preconditions: { uid: first.metadata.uid! } }),
      (err: unknown) =>
        err instanceof ConflictError &&
        /^delete configmaps "pre" in namespace "test-[0-9a-f]+": conflict: .*UID in the precondition/.test(
          err.message,
        ),
    );
    const still = await client.get(ConfigMap, "pre", { namespace });
    assert.equal(still.metadata.uid, second.metadata.uid);
    await assert.rejects(
      client.delete(ConfigMap, "pre", { namespace, preconditions: { resourceVersion: "1" } }),
      ConflictError,
    );
  });

  test("impersonation: the server sees the impersonated user (forbidden, with a helpful message)", async () => {
    const namespace = await plane.createNamespace();
    const base = await loadKubeConfig({ kubeconfig: plane.kubeconfigPath });
    const jane = KubeClient.forCluster({
      ...base,
      impersonate: { user: "jane", groups: ["devs"] },
    });
    try {
      await assert.rejects(jane.get(ConfigMap, "x", { namespace }), (err: unknown) => {
        assert.ok(err instanceof ForbiddenError);
        assert.equal(
          err.message,
          `get configmaps "x" in namespace "${namespace}": forbidden: User "jane" cannot get resource "configmaps" in API group "" in the namespace "${namespace}"`,
        );
        return true;
      });
    } finally {
      await jane.destroy();
    }
  });
});

describe("server-side apply", () => {
  test("records the field manager; conflicts without force; force takes over", async () => {
    const namespace = await plane.createNamespace();
    const applied = await client.apply(
      ConfigMap,
      { metadata: { name: "ssa", namespace }, data: { owned: "by-a", shared: "a" } },
      { fieldManager: "manager-a" },
    );
    const entry = applied.metadata.managedFields?.find((f) => f.manager === "manager-a");
    assert.equal(entry?.operation, "Apply");
    assert.ok(JSON.stringify(entry?.fieldsV1).includes("f:owned"));

    await assert.rejects(
      client.apply(
        ConfigMap,
        { metadata: { name: "ssa", namespace }, data: { shared: "b" } },
        { fieldManager: "manager-b" },
      ),
      (err: unknown) => {
        assert.ok(err instanceof ConflictError);
        assert.match(
          err.message,
          /^apply configmaps "ssa" in namespace "test-[0-9a-f]+": conflict: .*conflict with "manager-a"/,
        );
        assert.ok(
          err.causes.some((c) => c.field === ".data.shared"),
          JSON.stringify(err.causes),
        );
        return true;
      },
    );

    const forced = await client.apply(
      ConfigMap,
      { metadata: { name: "ssa", namespace }, data: { shared: "b" } },
      { fieldManager: "manager-b", force: true },
    );
    assert.deepEqual(forced.data, { owned: "by-a", shared: "b" });
    assert.ok(
      forced.metadata.managedFields?.some(
        (f) => f.manager === "manager-b" && f.operation === "Apply",
      ),
    );

    // Leaving a field out of the next apply releases (here: removes) it.
    const released = await client.apply(
      ConfigMap,
      { metadata: { name: "ssa", namespace }, data: {} },
      { fieldManager: "manager-a" },
    );
    assert.deepEqual(released.data, { shared: "b" });

    const dry = await client.apply(
      ConfigMap,
      { metadata: { name: "ssa", namespace }, data: { dry: "run" } },
      { fieldManager: "manager-a", dryRun: true },
    );
    assert.equal(dry.data?.dry, "run");
    assert.equal((await client.get(ConfigMap, "ssa", { namespace })).data?.dry, undefined);
  });
});

describe("lists", () => {
  test("pagination over 1,100 objects with pages of 500", async () => {
    const namespace = await plane.createNamespace();
    await Promise.all(
      Array.from({ length: 1100 }, (_, i) =>
        client.create(ConfigMap, {
          metadata: {
            name: `item-${String(i).padStart(4, "0")}`,
            namespace,
            labels: { batch: "big" },
          },
        }),
      ),
    );
    const first = await client.list(ConfigMap, {
      namespace,
      labelSelector: { batch: "big" },
      limit: 500,
    });
    assert.equal(first.items.length, 500);
    assert.ok(first.metadata.continue);

    const pages: number[] = [];
    for await (const page of client.listPages(ConfigMap, {
      namespace,
      labelSelector: { batch: "big" },
    })) {
      pages.push(page.items.length);
    }
    assert.deepEqual(pages, [500, 500, 100]);

    const all = await client.listAll(ConfigMap, {
      namespace,
      labelSelector: "batch=big",
      pageSize: 500,
    });
    assert.equal(all.items.length, 1100);
    assert.equal(new Set(all.items.map((i) => i.metadata.name)).size, 1100);
    assert.ok(all.metadata.resourceVersion);
    assert.equal(all.metadata.continue, undefined);
  });
});

describe("metadata only", () => {
  test("get, list and watch receive PartialObjectMetadata from the server: no data crosses the wire", async () => {
    const namespace = await plane.createNamespace();
    await client.create(ConfigMap, {
      metadata: { name: "meta", namespace, labels: { app: "web" } },
      data: { payload: "x".repeat(10_000) },
    });
    const one = await client.get(ConfigMap, "meta", { namespace, metadataOnly: true });
    assert.equal(one.apiVersion, "meta.k8s.io/v1");
    assert.equal(one.kind, "PartialObjectMetadata");
    assert.deepEqual(one.metadata.labels, { app: "web" });
    assert.equal((one as { data?: unknown }).data, undefined);

    const list = await client.list(ConfigMap, {
      namespace,
      labelSelector: { app: "web" },
      metadataOnly: true,
    });
    assert.equal(list.kind, "PartialObjectMetadataList");
    assert.equal(list.items.length, 1);
    assert.equal(list.items[0]!.kind, "PartialObjectMetadata");
    assert.equal((list.items[0] as { data?: unknown }).data, undefined);
    assert.ok(list.metadata.resourceVersion);

    const controller = new AbortController();
    const watch = await client.watch(ConfigMap, {
      namespace,
      labelSelector: { app: "web" },
      sendInitialEvents: true,
      metadataOnly: true,
      signal: controller.signal,
    });
    const kinds: string[] = [];
    for await (const event of watch) {
      if (isInitialEventsEnd(event)) {
        await client.patch(ConfigMap, "meta", { data: { payload: "y" } }, { namespace });
        continue;
      }
      if (event.type === "ADDED" || event.type === "MODIFIED") {
        kinds.push(`${event.type} ${event.object.kind}`);
        assert.equal((event.object as { data?: unknown }).data, undefined);
        if (event.type === "MODIFIED") controller.abort();
      }
    }
    assert.deepEqual(kinds, ["ADDED PartialObjectMetadata", "MODIFIED PartialObjectMetadata"]);

    // Without the option, the same reads are whole objects.
    const whole = await client.get(ConfigMap, "meta", { namespace });
    assert.equal(whole.kind, "ConfigMap");
    assert.equal(whole.data?.payload, "y");
  });
});

describe("watch", () => {
  test("ADDED, MODIFIED, DELETED and a bookmark, resumed from a list's resourceVersion", async () => {
    const namespace = await plane.createNamespace();
    const list = await client.listAll(ConfigMap, { namespace });
    const watch = await client.watch(ConfigMap, {
      namespace,
      resourceVersion: list.metadata.resourceVersion,
      timeoutSeconds: 6,
    });
    const events: WatchEvent<ConfigMapObject>[] = [];
    const consumed = (async () => {
      for await (const event of watch) events.push(event);
    })();
    await client.create(ConfigMap, { metadata: { name: "w", namespace }, data: { v: "1" } });
    await client.patch(ConfigMap, "w", { data: { v: "2" } }, { namespace });
    await client.delete(ConfigMap, "w", { namespace });
    await consumed; // the server ends the watch after timeoutSeconds, sending a bookmark before
    const objectEvents = events.filter((e) => e.type !== "BOOKMARK");
    assert.deepEqual(
      objectEvents.map((e) => [e.type, e.type === "ERROR" ? "" : e.object.metadata.name]),
      [
        ["ADDED", "w"],
        ["MODIFIED", "w"],
        ["DELETED", "w"],
      ],
    );
    const modified = objectEvents[1];
    assert.ok(modified?.type === "MODIFIED" && modified.object.data?.v === "2");
    assert.ok(
      events.some((e) => e.type === "BOOKMARK"),
      "a bookmark arrives before the server-side timeout",
    );
    assert.equal(watch.resourceVersion, events.at(-1)?.object.metadata?.resourceVersion);
  });

  test("streaming list: sendInitialEvents gives the current objects, then the initial-events-end bookmark", async () => {
    const namespace = await plane.createNamespace();
    await client.create(ConfigMap, { metadata: { name: "one", namespace } });
    await client.create(ConfigMap, { metadata: { name: "two", namespace } });
    const controller = new AbortController();
    const watch = await client.watch(ConfigMap, {
      namespace,
      sendInitialEvents: true,
      signal: controller.signal,
    });
    const names: string[] = [];
    for await (const event of watch) {
      if (isInitialEventsEnd(event)) {
        controller.abort();
        continue;
      }
      if (event.type === "ADDED") names.push(event.object.metadata.name!);
    }
    // kube-root-ca.crt comes from kube-controller-manager in its own time: not this test's.
    assert.deepEqual(names.filter((name) => name !== "kube-root-ca.crt").sort(), ["one", "two"]);
  });
});

describe("custom resources", () => {
  const group = `client-${Date.now().toString(36)}.operon.test`;
  const Widget: ResourceType<
    KubeObject & { spec?: { size?: number }; status?: { phase?: string; observed?: number } }
  > = {
    apiVersion: `${group}/v1`,
    kind: "Widget",
  };

  test("discovery finds a CRD installed after the client started; the status subresource works", async () => {
    const namespace = await plane.createNamespace();
    await assert.rejects(client.list(Widget, { namespace }), UnknownKindError);

    await client.apply(CustomResourceDefinition, {
      metadata: { name: `widgets.${group}` },
      spec: {
        group,
        scope: "Namespaced",
        names: { plural: "widgets", singular: "widget", kind: "Widget", listKind: "WidgetList" },
        versions: [
          {
            name: "v1",
            served: true,
            storage: true,
            subresources: { status: {} },
            schema: {
              openAPIV3Schema: {
                type: "object",
                properties: {
                  spec: { type: "object", properties: { size: { type: "integer" } } },
                  status: {
                    type: "object",
                    properties: { phase: { type: "string" }, observed: { type: "integer" } },
                  },
                },
              },
            },
          },
        ],
      },
    });
    // Discovery may remember the miss for a few seconds; the kind then resolves.
    const info = await waitUntil("the Widget kind in discovery", () =>
      client.discovery.resource(Widget.apiVersion, "Widget").catch(() => undefined),
    );
    assert.equal(info.plural, "widgets");
    assert.equal(info.namespaced, true);
    assert.ok(info.subresources?.includes("status"));
    assert.ok(info.verbs?.includes("watch"));

    const created = await waitUntil("the Widget resource to accept objects", () =>
      client
        .create(Widget, { metadata: { name: "w1", namespace }, spec: { size: 3 } })
        .catch((err) => {
          if (isNotFound(err)) return undefined;
          throw err;
        }),
    );
    assert.equal(created.spec?.size, 3);

    // A write of the main resource ignores status; the status subresource sets it.
    const ignored = await client.update(Widget, { ...created, status: { phase: "ignored" } });
    assert.equal(ignored.status, undefined);
    const withStatus = await client.updateStatus(Widget, {
      ...ignored,
      status: { phase: "Ready" },
    });
    assert.equal(withStatus.status?.phase, "Ready");
    assert.equal(
      withStatus.metadata.generation,
      ignored.metadata.generation,
      "status writes do not bump generation",
    );

    const patched = await client.patchStatus(
      Widget,
      "w1",
      { status: { observed: 1 } },
      { namespace },
    );
    assert.deepEqual(patched.status, { phase: "Ready", observed: 1 });

    const applied = await client.applyStatus(
      Widget,
      { metadata: { name: "w1", namespace }, status: { phase: "Applied" } },
      { fieldManager: "status-writer", force: true },
    );
    assert.equal(applied.status?.phase, "Applied");
    assert.ok(
      applied.metadata.managedFields?.some(
        (f) => f.manager === "status-writer" && f.subresource === "status",
      ),
    );
    assert.equal((await client.getStatus(Widget, "w1", { namespace })).status?.phase, "Applied");

    await client.delete(CustomResourceDefinition, `widgets.${group}`);
  });
});

describe("exec credential plugin against the server", () => {
  test("a rejected token makes the plugin run again (401 → fresh credential)", async () => {
    const namespace = await plane.createNamespace();
    const dir = await mkdtemp(join(tmpdir(), "operon-exec-it-"));
    try {
      const tokenRequest = await client.raw<{ status: { token: string } }>({
        method: "POST",
        path: `/api/v1/namespaces/${namespace}/serviceaccounts/default/token`,
        body: {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenRequest",
          spec: { expirationSeconds: 600 },
        },
      });
      const good = tokenRequest.status.token;
      // First run prints a token the server rejects; later runs print the real one.
      const plugin = join(dir, "plugin.sh");
      await writeFile(
        plugin,
        `#!/bin/sh
n=$(cat "${dir}/runs" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "${dir}/runs"
if [ $n -eq 1 ]; then token=invalid; else token="${good}"; fi
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"}}' "$token"
`,
      );
      await chmod(plugin, 0o755);
      const admin = await loadKubeConfig({ kubeconfig: plane.kubeconfigPath });
      const kubeconfig = join(dir, "config");
      await writeFile(
        kubeconfig,
        JSON.stringify({
          apiVersion: "v1",
          kind: "Config",
          clusters: [
            {
              name: "c",
              cluster: {
                server: plane.server,
                "certificate-authority-data": Buffer.from(admin.tls.ca!).toString("base64"),
              },
            },
          ],
          users: [
            {
              name: "sa",
              user: {
                exec: {
                  apiVersion: "client.authentication.k8s.io/v1",
                  command: "./plugin.sh",
                  interactiveMode: "Never",
                },
              },
            },
          ],
          contexts: [{ name: "sa", context: { cluster: "c", user: "sa", namespace } }],
          "current-context": "sa",
        }),
      );
      const sa = await KubeClient.fromKubeConfig({ kubeconfig });
      try {
        // The service account may not read ConfigMaps: Forbidden proves the server authenticated it.
        await assert.rejects(
          sa.get(ConfigMap, "x"),
          (err: unknown) =>
            err instanceof ForbiddenError &&
            err.message.includes(`User "system:serviceaccount:${namespace}:default"`),
        );
        assert.equal((await readFile(join(dir, "runs"), "utf8")).trim(), "2");
      } finally {
        await sa.destroy();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

async function openSockets(): Promise<number> {
  let count = 0;
  for (const fd of await readdir("/proc/self/fd")) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => "");
    if (target.startsWith("socket:")) count++;
  }
  return count;
}

describe("connection pool", () => {
  test("one pool is reused: no socket growth across 100 requests, 100 parallel requests and 100 watches", async (t) => {
    const namespace = await plane.createNamespace();
    await client.create(ConfigMap, { metadata: { name: "pool", namespace } });
    // A client of its own, so its pool starts empty and nothing else shares it.
    let opens = 0;
    const fresh = await KubeClient.fromKubeConfig({
      kubeconfig: plane.kubeconfigPath,
      maxInFlight: 16,
      metrics: { watchOpened: () => void opens++ },
    });
    try {
      const socketsBefore = await openSockets();
      for (let i = 0; i < 100; i++) await fresh.get(ConfigMap, "pool", { namespace });
      assert.equal(fresh.connection.stats.connected, 1, "sequential requests share one socket");
      assert.equal(await openSockets(), socketsBefore + 1);

      await Promise.all(
        Array.from({ length: 100 }, () => fresh.get(ConfigMap, "pool", { namespace })),
      );
      const afterParallel = fresh.connection.stats.connected;
      assert.ok(
        afterParallel <= 16,
        `parallel requests are bounded by maxInFlight: ${afterParallel}`,
      );
      await Promise.all(
        Array.from({ length: 100 }, () => fresh.get(ConfigMap, "pool", { namespace })),
      );
      assert.ok(
        fresh.connection.stats.connected <= afterParallel,
        "a second burst reuses the same sockets",
      );

      const socketsAfterBursts = await openSockets();

      // Watches the server ends cleanly hand their socket back; watches closed early close theirs.
      for (let batch = 0; batch < 2; batch++) {
        await Promise.all(
          Array.from({ length: 10 }, async () => {
            const watch = await fresh.watch(ConfigMap, {
              namespace,
              timeoutSeconds: 1,
              allowWatchBookmarks: false,
              resourceVersion: "0",
            });
            for await (const _ of watch) {
              // the existing object, then the end of the stream
            }
          }),
        );
      }
      // Ten watches at once may each need a socket beyond the request bursts' ones.
      const afterWatchBatches = fresh.connection.stats.connected;
      const socketsAfterWatchBatches = await openSockets();
      assert.ok(
        afterWatchBatches <= Math.max(afterParallel, 10) + 10,
        JSON.stringify(fresh.connection.stats),
      );
      for (let i = 0; i < 80; i++) {
        const watch = await fresh.watch(ConfigMap, { namespace, resourceVersion: "0" });
        for await (const _ of watch) break;
      }
      assert.equal(opens, 100);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const socketsAfter = await openSockets();
      t.diagnostic(
        `process sockets: ${socketsBefore} before, ${socketsAfterBursts} after the request bursts, ${socketsAfter} after 100 watches; pool: ${JSON.stringify(fresh.connection.stats)}`,
      );
      // 80 more watches, one after another, add no socket.
      assert.ok(
        fresh.connection.stats.connected <= afterWatchBatches,
        JSON.stringify(fresh.connection.stats),
      );
      assert.ok(
        socketsAfter <= Math.max(socketsAfterBursts, socketsAfterWatchBatches),
        `${socketsAfterBursts} / ${socketsAfterWatchBatches} → ${socketsAfter}`,
      );
    } finally {
      await fresh.destroy();
    }
  });

  test("the metrics hook saw verbs, resources and codes", () => {
    assert.ok(
      metrics.some(
        (m) =>
          m.verb === "create" &&
          m.resource === "configmaps" &&
          m.code === 201 &&
          m.method === "POST",
      ),
    );
    assert.ok(metrics.some((m) => m.verb === "get" && m.code === 404));
    assert.ok(metrics.some((m) => m.verb === "apply" && m.code === 409 && m.method === "PATCH"));
    assert.ok(metrics.some((m) => m.verb === "watch" && m.code === 200));
    assert.ok(watchOpens >= 3, `watch opens counted: ${watchOpens}`);
    assert.ok(metrics.every((m) => m.durationSeconds >= 0 && m.host.startsWith("127.0.0.1:")));
  });
});

describe("long-lived watch", () => {
  test("a watch opened at the start is still delivering events (no client-side deadline)", async () => {
    const minimumAgeMs = 35_000; // longer than the deadlines other clients impose
    const age = Date.now() - longWatch.openedAt;
    if (age < minimumAgeMs) await new Promise((resolve) => setTimeout(resolve, minimumAgeMs - age));
    await client.create(ConfigMap, { metadata: { name: "late", namespace: longWatch.namespace } });
    await waitUntil("the late event", async () =>
      longWatch.events.some((e) => e.type === "ADDED" && e.object.metadata.name === "late")
        ? true
        : undefined,
    );
    assert.ok(Date.now() - longWatch.openedAt >= minimumAgeMs);
  });
});
