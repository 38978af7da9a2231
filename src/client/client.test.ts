/**
 * The verbs' HTTP shape (method, path, query, content type, body) for both scopes and both kinds
 * of group, and discovery caching, against a stub HTTP server that records requests.
 */
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, beforeEach, describe, test } from "node:test";
import type { KubeObject, ResourceType } from "../resources/object.ts";
import { noAuth } from "./auth.ts";
import { KubeClient } from "./client.ts";
import { resourcesFromList } from "./discovery.ts";
import { GoneError, isNotFound, UnknownKindError } from "./errors.ts";

interface ConfigMapObject extends KubeObject {
  data?: Record<string, string>;
}
const ConfigMap: ResourceType<ConfigMapObject> = {
  apiVersion: "v1",
  kind: "ConfigMap",
  plural: "configmaps",
  namespaced: true,
};
const Node: ResourceType = { apiVersion: "v1", kind: "Node", plural: "nodes", namespaced: false };
const Deployment: ResourceType = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  plural: "deployments",
  namespaced: true,
};
// Plural and scope left to discovery.
const Widget: ResourceType = { apiVersion: "example.com/v1", kind: "Widget" };
const Gadget: ResourceType = { apiVersion: "example.com/v1", kind: "Gadget" };

interface Seen {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string | undefined;
  body: unknown;
}

let server: Server;
let client: KubeClient;
let seen: Seen[] = [];
let respond: (req: Seen, res: ServerResponse) => boolean = () => false;
let widgetServed = false;

const widgetList = () => ({
  kind: "APIResourceList",
  groupVersion: "example.com/v1",
  resources: [
    {
      name: "widgets",
      singularName: "widget",
      namespaced: true,
      kind: "Widget",
      verbs: ["get", "list", "watch", "create", "update", "patch", "delete"],
      shortNames: ["wd"],
    },
    {
      name: "widgets/status",
      singularName: "",
      namespaced: true,
      kind: "Widget",
      verbs: ["get", "patch", "update"],
    },
  ],
});

function handle(req: IncomingMessage, res: ServerResponse, body: string): void {
  const url = new URL(req.url ?? "/", "http://x");
  const entry: Seen = {
    method: req.method ?? "",
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    contentType: req.headers["content-type"],
    body: body
      ? body.startsWith("{") || body.startsWith("[")
        ? JSON.parse(body)
        : body
      : undefined,
  };
  seen.push(entry);
  const send = (code: number, value: unknown) => {
    res.writeHead(code, { "content-type": "application/json" });
    res.end(JSON.stringify(value));
  };
  if (respond(entry, res)) return;
  if (entry.path === "/apis/example.com/v1") {
    if (widgetServed) send(200, widgetList());
    else {
      send(404, {
        kind: "Status",
        apiVersion: "v1",
        code: 404,
        reason: "NotFound",
        message: "the server could not find the requested resource",
      });
    }
    return;
  }
  if (entry.method === "GET" && /\/(configmaps|nodes|deployments|widgets)$/.test(entry.path)) {
    send(200, {
      kind: "List",
      apiVersion: "v1",
      metadata: { resourceVersion: "100" },
      items: [{ metadata: { name: "x" } }],
    });
    return;
  }
  send(200, { apiVersion: "v1", kind: "Echo", metadata: { name: "echo" } });
}

before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => handle(req, res, Buffer.concat(chunks).toString("utf8")));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  client = KubeClient.forCluster(
    {
      server: `http://127.0.0.1:${port}`,
      tls: { insecureSkipTlsVerify: false },
      auth: noAuth(),
      namespace: "ctx-ns",
      source: "stub",
    },
    { fieldManager: "default-manager", missRetryIntervalMs: 200 },
  );
});
after(async () => {
  await client.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  seen = [];
  respond = () => false;
});

function only(): Seen {
  assert.equal(seen.length, 1, JSON.stringify(seen));
  return seen[0]!;
}

describe("KubeClient verbs", () => {
  test("get: namespaced (explicit and default namespace), cluster-scoped, named group, subresource", async () => {
    await client.get(ConfigMap, "a", { namespace: "ns" });
    await client.get(ConfigMap, "b");
    await client.get(Node, "n1", { namespace: "ignored" });
    await client.get(Deployment, "web", { namespace: "prod", resourceVersion: "0" });
    await client.getStatus(Deployment, "web", { namespace: "prod" });
    assert.deepEqual(
      seen.map((s) => [s.method, s.path, s.query]),
      [
        ["GET", "/api/v1/namespaces/ns/configmaps/a", {}],
        ["GET", "/api/v1/namespaces/ctx-ns/configmaps/b", {}],
        ["GET", "/api/v1/nodes/n1", {}],
        ["GET", "/apis/apps/v1/namespaces/prod/deployments/web", { resourceVersion: "0" }],
        ["GET", "/apis/apps/v1/namespaces/prod/deployments/web/status", {}],
      ],
    );
  });

  test("list: all namespaces by default, selectors, pagination parameters; items get apiVersion and kind", async () => {
    const list = await client.list(ConfigMap, {
      labelSelector: { app: "web" },
      fieldSelector: "metadata.name!=x",
      limit: 500,
      continue: "tok",
      resourceVersion: "5",
      resourceVersionMatch: "NotOlderThan",
    });
    assert.deepEqual(list.items[0], {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "x" },
    });
    await client.list(ConfigMap, { namespace: "ns" });
    await client.list(Node);
    assert.deepEqual(
      seen.map((s) => [s.path, s.query]),
      [
        [
          "/api/v1/configmaps",
          {
            labelSelector: "app=web",
            fieldSelector: "metadata.name!=x",
            limit: "500",
            continue: "tok",
            resourceVersion: "5",
            resourceVersionMatch: "NotOlderThan",
          },
        ],
        ["/api/v1/namespaces/ns/configmaps", {}],
        ["/api/v1/nodes", {}],
      ],
    );
  });

  test("listAll follows continue tokens and keeps the first page's resourceVersion", async () => {
    respond = (req, res) => {
      if (!req.path.endsWith("/configmaps")) return false;
      const page = req.query.continue ? Number(req.query.continue) : 0;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          kind: "ConfigMapList",
          apiVersion: "v1",
          metadata: {
            resourceVersion: `rv-${page}`,
            ...(page < 2 ? { continue: String(page + 1), remainingItemCount: 2 - page } : {}),
          },
          items: [{ metadata: { name: `item-${page}` } }],
        }),
      );
      return true;
    };
    const all = await client.listAll(ConfigMap, {
      namespace: "ns",
      pageSize: 1,
      resourceVersion: "0",
      resourceVersionMatch: "NotOlderThan",
    });
    assert.deepEqual(
      all.items.map((i) => i.metadata.name),
      ["item-0", "item-1", "item-2"],
    );
    assert.deepEqual(all.metadata, { resourceVersion: "rv-0" });
    assert.deepEqual(
      seen.map((s) => s.query),
      [
        { limit: "1", resourceVersion: "0", resourceVersionMatch: "NotOlderThan" },
        { limit: "1", continue: "1" },
        { limit: "1", continue: "2" },
      ],
    );
  });

  test("listAll falls back to a full list when the continue token expires", async () => {
    respond = (req, res) => {
      if (!req.path.endsWith("/configmaps")) return false;
      res.writeHead(req.query.continue ? 410 : 200, { "content-type": "application/json" });
      if (req.query.continue) {
        res.end(
          JSON.stringify({
            kind: "Status",
            apiVersion: "v1",
            code: 410,
            reason: "Expired",
            message: "continue token expired",
          }),
        );
      } else if (req.query.limit) {
        res.end(
          JSON.stringify({
            metadata: { resourceVersion: "1", continue: "c" },
            items: [{ metadata: { name: "a" } }],
          }),
        );
      } else {
        res.end(
          JSON.stringify({
            metadata: { resourceVersion: "2" },
            items: [{ metadata: { name: "a" } }, { metadata: { name: "b" } }],
          }),
        );
      }
      return true;
    };
    const all = await client.listAll(ConfigMap, { namespace: "ns" });
    assert.equal(all.items.length, 2);
    assert.equal(all.metadata.resourceVersion, "2");
    assert.deepEqual(
      seen.map((s) => s.query),
      [{ limit: "500" }, { limit: "500", continue: "c" }, {}],
    );
    // listPages itself surfaces the expiry.
    seen = [];
    await assert.rejects(
      (async () => {
        for await (const _ of client.listPages(ConfigMap, { namespace: "ns" })) {
          // consume
        }
      })(),
      GoneError,
    );
  });

  test("create fills apiVersion and kind, uses the object's namespace, passes write options", async () => {
    await client.create(
      ConfigMap,
      { metadata: { name: "a", namespace: "obj-ns" }, data: { k: "v" } },
      { dryRun: true, fieldValidation: "Strict" },
    );
    await client.create(
      Node,
      { apiVersion: "v1", kind: "Node", metadata: { generateName: "n-" } },
      { fieldManager: "me" },
    );
    const [a, b] = seen;
    assert.equal(a?.method, "POST");
    assert.equal(a?.path, "/api/v1/namespaces/obj-ns/configmaps");
    assert.deepEqual(a?.query, {
      fieldManager: "default-manager",
      fieldValidation: "Strict",
      dryRun: "All",
    });
    assert.equal(a?.contentType, "application/json");
    assert.deepEqual(a?.body, {
      metadata: { name: "a", namespace: "obj-ns" },
      data: { k: "v" },
      apiVersion: "v1",
      kind: "ConfigMap",
    });
    assert.equal(b?.path, "/api/v1/nodes");
    assert.deepEqual(b?.query, { fieldManager: "me" });
  });

  test("update PUTs to the object (or its status) with the resourceVersion in the body", async () => {
    const cm = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "a", namespace: "ns", resourceVersion: "7" },
      data: {},
    };
    await client.update(ConfigMap, cm);
    await client.updateStatus(Deployment, { metadata: { name: "web", namespace: "prod" } });
    assert.deepEqual(
      seen.map((s) => [s.method, s.path]),
      [
        ["PUT", "/api/v1/namespaces/ns/configmaps/a"],
        ["PUT", "/apis/apps/v1/namespaces/prod/deployments/web/status"],
      ],
    );
    assert.deepEqual(seen[0]?.body, cm);
    await assert.rejects(client.update(ConfigMap, { metadata: {} }), /has no metadata.name/);
  });

  test("apply: PATCH with the apply content type, field manager, force, dryRun; status subresource", async () => {
    await client.apply(
      ConfigMap,
      { metadata: { name: "a", namespace: "ns" }, data: { k: "v" } },
      { fieldManager: "op", force: true, dryRun: true },
    );
    await client.applyStatus(Deployment, {
      metadata: { name: "web", namespace: "prod" },
      status: { replicas: 1 },
    });
    const [a, b] = seen;
    assert.equal(a?.method, "PATCH");
    assert.equal(a?.path, "/api/v1/namespaces/ns/configmaps/a");
    assert.equal(a?.contentType, "application/apply-patch+yaml");
    assert.deepEqual(a?.query, { fieldManager: "op", dryRun: "All", force: "true" });
    assert.deepEqual(a?.body, {
      metadata: { name: "a", namespace: "ns" },
      data: { k: "v" },
      apiVersion: "v1",
      kind: "ConfigMap",
    });
    assert.equal(b?.path, "/apis/apps/v1/namespaces/prod/deployments/web/status");
    assert.deepEqual(b?.query, { fieldManager: "default-manager" });
  });

  test("apply without any field manager is refused before sending", async () => {
    const bare = KubeClient.forCluster(client.connection.cluster);
    await assert.rejects(
      bare.apply(ConfigMap, { metadata: { name: "a", namespace: "ns" } }),
      /server-side apply needs a field manager/,
    );
    assert.equal(seen.length, 0);
    await bare.destroy();
  });

  test("patch: merge by default, JSON patch for arrays, strategic on request, status subresource", async () => {
    await client.patch(ConfigMap, "a", { data: { k: "v" } }, { namespace: "ns" });
    await client.patch(ConfigMap, "a", [{ op: "remove", path: "/data/k" }], { namespace: "ns" });
    await client.patch(
      Deployment,
      "web",
      { spec: { replicas: 2 } },
      { namespace: "prod", type: "strategic" },
    );
    await client.patchStatus(Node, "n1", { status: { phase: "x" } });
    assert.deepEqual(
      seen.map((s) => [s.method, s.path, s.contentType]),
      [
        ["PATCH", "/api/v1/namespaces/ns/configmaps/a", "application/merge-patch+json"],
        ["PATCH", "/api/v1/namespaces/ns/configmaps/a", "application/json-patch+json"],
        [
          "PATCH",
          "/apis/apps/v1/namespaces/prod/deployments/web",
          "application/strategic-merge-patch+json",
        ],
        ["PATCH", "/api/v1/nodes/n1/status", "application/merge-patch+json"],
      ],
    );
    assert.deepEqual(seen[1]?.body, [{ op: "remove", path: "/data/k" }]);
  });

  test("delete sends DeleteOptions with propagation, grace period, preconditions, dryRun", async () => {
    await client.delete(ConfigMap, "a", {
      namespace: "ns",
      propagationPolicy: "Foreground",
      gracePeriodSeconds: 0,
      preconditions: { uid: "u1", resourceVersion: "9" },
      dryRun: true,
    });
    await client.deleteCollection(ConfigMap, { namespace: "ns", labelSelector: "app=web" });
    const [a, b] = seen;
    assert.equal(a?.method, "DELETE");
    assert.equal(a?.path, "/api/v1/namespaces/ns/configmaps/a");
    assert.deepEqual(a?.body, {
      kind: "DeleteOptions",
      apiVersion: "v1",
      propagationPolicy: "Foreground",
      gracePeriodSeconds: 0,
      preconditions: { uid: "u1", resourceVersion: "9" },
      dryRun: ["All"],
    });
    assert.equal(b?.method, "DELETE");
    assert.equal(b?.path, "/api/v1/namespaces/ns/configmaps");
    assert.deepEqual(b?.query, { labelSelector: "app=web" });
  });

  test("watch: query parameters and events", async () => {
    respond = (req, res) => {
      if (req.query.watch !== "true") return false;
      res.writeHead(200, { "content-type": "application/json" });
      res.write(
        `${JSON.stringify({ type: "ADDED", object: { metadata: { name: "a", resourceVersion: "5" } } })}\n`,
      );
      res.end(
        `${JSON.stringify({ type: "BOOKMARK", object: { metadata: { resourceVersion: "6" } } })}\n`,
      );
      return true;
    };
    const watch = await client.watch(ConfigMap, {
      namespace: "ns",
      resourceVersion: "4",
      labelSelector: "a=b",
      timeoutSeconds: 60,
    });
    const types: string[] = [];
    for await (const e of watch) types.push(e.type);
    assert.deepEqual(types, ["ADDED", "BOOKMARK"]);
    assert.equal(watch.resourceVersion, "6");
    assert.equal(only().path, "/api/v1/namespaces/ns/configmaps");
    assert.deepEqual(only().query, {
      watch: "true",
      labelSelector: "a=b",
      resourceVersion: "4",
      allowWatchBookmarks: "true",
      timeoutSeconds: "60",
    });
  });
});

describe("discovery through the client", () => {
  test("an unknown kind is looked up once per interval; a CRD appearing later is found", async () => {
    widgetServed = false;
    await assert.rejects(
      client.get(Widget, "w", { namespace: "ns" }),
      (err: unknown) =>
        err instanceof UnknownKindError &&
        isNotFound(err) &&
        /does not serve example.com\/v1 \(is the CRD or API service installed\?\)/.test(
          err.message,
        ),
    );
    await Promise.all(
      Array.from({ length: 20 }, () =>
        client.get(Widget, "w", { namespace: "ns" }).catch(() => {}),
      ),
    );
    assert.equal(seen.filter((s) => s.path === "/apis/example.com/v1").length, 1, "negative cache");

    widgetServed = true;
    await new Promise((resolve) => setTimeout(resolve, 250));
    await client.get(Widget, "w", { namespace: "ns" });
    await client.list(Widget);
    await client.getStatus(Widget, "w", { namespace: "ns" });
    assert.deepEqual(
      seen
        .filter((s) => s.path !== "/apis/example.com/v1")
        .slice(-3)
        .map((s) => s.path),
      [
        "/apis/example.com/v1/namespaces/ns/widgets/w",
        "/apis/example.com/v1/widgets",
        "/apis/example.com/v1/namespaces/ns/widgets/w/status",
      ],
    );
    const info = await client.discovery.resource("example.com/v1", "Widget");
    assert.deepEqual(info.subresources, ["status"]);
    assert.deepEqual(info.shortNames, ["wd"]);

    // Another unknown kind in a served group-version: one refetch, then the miss is cached.
    await new Promise((resolve) => setTimeout(resolve, 250));
    const before = seen.filter((s) => s.path === "/apis/example.com/v1").length;
    await assert.rejects(
      client.get(Gadget, "g", { namespace: "ns" }),
      /serves no kind "Gadget" in example.com\/v1 \(known: Widget\)/,
    );
    await assert.rejects(client.get(Gadget, "g", { namespace: "ns" }), UnknownKindError);
    assert.equal(seen.filter((s) => s.path === "/apis/example.com/v1").length, before + 1);
  });

  test("static plural and scope skip discovery", async () => {
    await client.get(Deployment, "web", { namespace: "prod" });
    assert.equal(only().path, "/apis/apps/v1/namespaces/prod/deployments/web");
  });

  test("resource lists: subresources attach to their parent", () => {
    const infos = resourcesFromList({
      groupVersion: "apps/v1",
      resources: [
        { name: "deployments", namespaced: true, kind: "Deployment", verbs: ["get"] },
        {
          name: "deployments/scale",
          namespaced: true,
          kind: "Scale",
          group: "autoscaling",
          version: "v1",
        },
        { name: "deployments/status", namespaced: true, kind: "Deployment" },
      ],
    });
    assert.deepEqual(infos, [
      {
        group: "apps",
        version: "v1",
        kind: "Deployment",
        plural: "deployments",
        namespaced: true,
        verbs: ["get"],
        subresources: ["scale", "status"],
      },
    ]);
  });
});
