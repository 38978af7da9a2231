/**
 * The reconcile trace on the real control plane: what triggered each reconcile (object, watch
 * event, resourceVersion), what it read, the field diffs of children and status, the API writes
 * and their echoes, errors; served as JSON and streamed live.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import myapp, { MyApp } from "../../examples/myapp/myapp.ts";
import { KubeClient } from "../client/client.ts";
import { eventually, runOperator } from "../testkit/operator-harness.ts";
import { testControlPlane } from "../testkit/shared.ts";
import { installCustomResources } from "./install.ts";
import type { TraceParent, TraceRecord } from "./trace-store.ts";

let client: KubeClient;
before(async () => {
  const plane = await testControlPlane();
  client = await KubeClient.fromKubeConfig({
    kubeconfig: plane.kubeconfigPath,
    fieldManager: "test",
  });
  await installCustomResources(client, [MyApp]);
});
after(() => client?.close());

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  assert.equal(response.status, 200, `${url}: ${response.status}`);
  return (await response.json()) as T;
}

test("each reconcile is recorded with its trigger, reads, diffs and writes, and served as JSON", async () => {
  const plane = await testControlPlane();
  const namespace = await plane.createNamespace("trace");
  const harness = await runOperator(myapp, {
    plane,
    namespace,
    trace: { bindAddress: "127.0.0.1:0", perParent: 20 },
  });
  const trace = harness.manager.trace!;
  const key = `${namespace}/shop`;
  try {
    const created = await client.create(MyApp, {
      metadata: { name: "shop", namespace },
      spec: { replicas: 2, image: "nginx:1.27", port: 8080 },
    });
    const first = await eventually(
      () => trace.records({ key }).find((r) => r.children.some((c) => c.action === "created")),
      { message: "a record of the first sync" },
    );
    assert.equal(first.operator, "myapp");
    assert.equal(first.kind, "MyApp");
    assert.deepEqual(first.reasons, ["parent-changed"]);
    const trigger = first.triggers.find((t) => t.object?.kind === "MyApp")!;
    assert.equal(trigger.event, "added");
    assert.equal(trigger.object?.resourceVersion, created.metadata.resourceVersion);
    assert.equal(first.parentResourceVersion, created.metadata.resourceVersion);
    assert.ok(
      first.read.some(
        (o) => o.kind === "MyApp" && o.resourceVersion === created.metadata.resourceVersion,
      ),
    );
    const deployment = first.children.find((c) => c.child === `Deployment ${namespace}/shop`)!;
    assert.equal(deployment.action, "created");
    assert.ok(deployment.diff?.changes.some((c) => c.path === "spec.replicas" && c.after === 2));
    assert.ok(first.statusWritten);
    assert.ok(first.statusDiff?.changes.some((c) => c.path === "status.observedGeneration"));
    assert.ok(first.apiWrites.some((w) => w.verb === "create" && w.kind === "Deployment" && w.uid));
    assert.ok(first.apiWrites.some((w) => w.verb === "apply" && w.subresource === "status"));
    assert.ok(first.functionMs !== undefined && first.writesMs > 0);
    assert.ok(first.durationMs >= Math.floor(first.writesMs));

    // The Deployment's own events come back; the one Operon's create produced names its writer.
    const echo = await eventually(
      () =>
        trace
          .records({ key })
          .flatMap((r) => r.triggers)
          .find((t) => t.causedBy === first.reconcileId),
      { message: "a trigger linked to the write that caused it" },
    );
    assert.match(echo.object?.kind ?? "", /^(Deployment|Service)$/);

    // A scale: a new record whose trigger is the MyApp at its new version, with the replica diff.
    const before = trace.records({ key }).at(-1)!.seq;
    const scaled = await client.patch(MyApp, "shop", { spec: { replicas: 4 } }, { namespace });
    const scale = await eventually(
      () =>
        trace
          .records({ key, since: before })
          .find((r) =>
            r.triggers.some((t) => t.object?.resourceVersion === scaled.metadata.resourceVersion),
          ),
      { message: "a record of the scale" },
    );
    assert.equal(scale.triggers.find((t) => t.object?.kind === "MyApp")?.event, "modified");
    const applied = scale.children.find((c) => c.child === `Deployment ${namespace}/shop`)!;
    assert.equal(applied.action, "updated");
    assert.deepEqual(
      applied.diff?.changes.find((c) => c.path === "spec.replicas"),
      { path: "spec.replicas", op: "change", before: 2, after: 4 },
    );
    assert.equal(scale.children.find((c) => c.child.startsWith("Service"))?.action, "unchanged");
    assert.ok(scale.apiWrites.some((w) => w.verb === "apply" && w.kind === "Deployment"));

    // Over HTTP: parents with health, the records, one record, and the live stream.
    const url = harness.manager.traceUrl!;
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const { parents } = await getJson<{ parents: TraceParent[] }>(`${url}/api/parents`);
    assert.equal(parents.find((p) => p.key === key)?.kind, "MyApp");
    const { records } = await getJson<{ records: TraceRecord[] }>(
      `${url}/api/records?key=${encodeURIComponent(key)}`,
    );
    assert.ok(records.some((r) => r.reconcileId === scale.reconcileId));
    const one = await getJson<TraceRecord>(`${url}/api/records/${scale.reconcileId}`);
    assert.deepEqual(one.children, JSON.parse(JSON.stringify(scale.children)));
    const page = await fetch(`${url}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-security-policy") ?? "", /default-src 'none'/);
    assert.match(await page.text(), /<title>Operon trace<\/title>/);

    const abort = new AbortController();
    const stream = await fetch(`${url}/api/events`, { signal: abort.signal });
    assert.equal(stream.headers.get("content-type"), "text/event-stream; charset=utf-8");
    const reader = stream.body!.getReader();
    const patched = await client.patch(MyApp, "shop", { spec: { replicas: 1 } }, { namespace });
    let text = "";
    const decoder = new TextDecoder();
    const deadline = Date.now() + 30_000;
    while (!text.includes(`"resourceVersion":"${patched.metadata.resourceVersion}"`)) {
      assert.ok(Date.now() < deadline, `no streamed record of the second scale:\n${text}`);
      const { value, done } = await reader.read();
      assert.ok(!done, "the stream ended");
      text += decoder.decode(value);
    }
    assert.match(text, /event: record\ndata: \{/);
    abort.abort();
  } finally {
    await harness.stop();
  }
});

test("a failed reconcile is recorded with its error, and the parent's health says so", async () => {
  const plane = await testControlPlane();
  const namespace = await plane.createNamespace("trace-error");
  const harness = await runOperator(myapp, { plane, namespace, trace: true });
  // A Service name is at most 63 characters: the API server rejects this one's Service.
  const name = `a${"b".repeat(69)}`;
  try {
    await client.create(MyApp, {
      metadata: { name, namespace },
      spec: { replicas: 1, image: "nginx:1.27", port: 8080 },
    });
    const failed = await eventually(
      () => harness.manager.trace!.records({ key: `${namespace}/${name}`, errors: true })[0],
      { message: "an error record" },
    );
    assert.equal(failed.outcome, "error");
    assert.match(failed.error!.message, /Service/);
    assert.equal(failed.children.find((c) => c.child.startsWith("Service"))?.action, "failed");
    assert.ok(failed.apiWrites.some((w) => w.kind === "Service" && w.code === 422));
    const parent = harness.manager.trace!.parents().find((p) => p.name === name)!;
    assert.equal(parent.health, "error");
    assert.match(parent.summary, /Service/);
  } finally {
    await harness.stop();
  }
});

test("operon run serves the viewer only with --trace", async () => {
  const plane = await testControlPlane();
  const namespace = await plane.createNamespace("trace-run");
  const root = fileURLToPath(new URL("../..", import.meta.url));
  const run = (extra: string[]) => {
    const child = spawn(
      process.execPath,
      [
        "bin/operon.js",
        "run",
        "examples/myapp/myapp.ts",
        "--kubeconfig",
        plane.kubeconfigPath,
        "--metrics-bind-address",
        "0",
        "--health-probe-bind-address",
        "0",
        // The example serves webhooks too: two processes need two ports.
        "--webhook-bind-address",
        "127.0.0.1:0",
        "--log-format",
        "json",
        ...extra,
      ],
      { cwd: root, env: { ...process.env, NODE_TEST_CONTEXT: "" } },
    );
    let log = "";
    child.stderr.on("data", (chunk: Buffer) => {
      log += chunk;
    });
    return { child, log: () => log };
  };
  const traced = run(["--trace", "--trace-bind-address", "127.0.0.1:0"]);
  const plain = run([]);
  try {
    const url = await eventually(
      () =>
        /"url":"(http:\/\/127\.0\.0\.1:\d+)\/","msg":"serving the reconcile trace viewer"/.exec(
          traced.log(),
        )?.[1],
      { message: "the viewer's URL in the log" },
    );
    await client.create(MyApp, {
      metadata: { name: "shop", namespace },
      spec: { replicas: 1, image: "nginx:1.27", port: 8080 },
    });
    await eventually(async () => {
      const { parents } = await getJson<{ parents: TraceParent[] }>(`${url}/api/parents`);
      return parents.some((p) => p.key === `${namespace}/shop`);
    });
    await eventually(() => /caches synced; operators running/.test(plain.log()));
    assert.doesNotMatch(plain.log(), /trace viewer/);
  } finally {
    await Promise.all(
      [traced, plain].map(({ child }) =>
        child.exitCode !== null || child.signalCode !== null
          ? undefined
          : new Promise((resolve) => {
              child.on("exit", resolve);
              child.kill("SIGTERM");
            }),
      ),
    );
  }
});
