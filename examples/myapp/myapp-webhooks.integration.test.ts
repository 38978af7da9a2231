/**
 * MyApp's webhooks end to end, as a user tries them: `operon run examples/myapp/myapp.ts
 * --install-webhooks` against a control plane, then `kubectl`. The webhooks are registered
 * cluster-wide for MyApp, so this file runs its own control plane rather than the shared one.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { KubeClient } from "kube-operon";
import {
  type ControlPlane,
  eventually,
  installCustomResources,
  startControlPlane,
} from "kube-operon/testkit";
import { Kubectl } from "../../src/manifests/testdata/kubectl.ts";
import { freePorts } from "../../src/testkit/ports.ts";
import { MyApp } from "./myapp.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const cli = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

let plane: ControlPlane;
let kubectl: Kubectl;
let operon: ChildProcess | undefined;
let exited: Promise<number | null>;
let log = "";
let metricsPort: number;
let healthPort: number;

function myapp(name: string, spec: Record<string, unknown>, labels?: Record<string, string>) {
  return JSON.stringify({
    apiVersion: "apps.example.com/v1",
    kind: "MyApp",
    metadata: { name, namespace: "default", ...(labels ? { labels } : {}) },
    spec,
  });
}

/** The JSON log lines `operon run` wrote so far. */
function logLines(): Record<string, unknown>[] {
  return log
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

before(async () => {
  plane = await startControlPlane({ nodes: 0, controllerManager: false });
  kubectl = await Kubectl.create(plane.kubeconfigPath);
  const client = await KubeClient.fromKubeConfig({ kubeconfig: plane.kubeconfigPath });
  await installCustomResources(client, [MyApp]);
  await client.close();
  [metricsPort, healthPort] = (await freePorts(2)) as [number, number];
  operon = spawn(
    process.execPath,
    [
      "--conditions=operon-source",
      cli,
      "run",
      "examples/myapp/myapp.ts",
      "--install-webhooks",
      `--kubeconfig=${plane.kubeconfigPath}`,
      `--metrics-bind-address=127.0.0.1:${metricsPort}`,
      `--health-probe-bind-address=127.0.0.1:${healthPort}`,
      "--webhook-bind-address=127.0.0.1:0",
      "--log-format=json",
      "--log-level=debug",
    ],
    { cwd: root, stdio: ["ignore", "ignore", "pipe"] },
  );
  operon.stderr!.on("data", (chunk: Buffer) => {
    log += chunk.toString();
  });
  exited = new Promise((resolve) => operon!.on("exit", resolve));
  await eventually(
    async () => (await fetch(`http://127.0.0.1:${healthPort}/readyz`).catch(() => undefined))?.ok,
    { message: `operon run becomes ready; it said:\n${log}` },
  );
  // The API server picks new configurations up asynchronously: wait until it calls both.
  await eventually(
    async () => {
      const probe = await kubectl.run(
        ["apply", "--dry-run=server", "-o", "json", "-f", "-"],
        myapp("probe", { replicas: 1, image: "nginx:1.27", port: 8080 }),
      );
      return probe.code === 0 && probe.stdout.includes('"app.kubernetes.io/version": "1.27"');
    },
    { message: `the API server calls the webhooks; operon run said:\n${log}` },
  );
});

after(async () => {
  if (operon && operon.exitCode === null) operon.kill("SIGKILL");
  await kubectl?.dispose();
  await plane?.stop();
});

test("kubectl apply of a MyApp that breaks the cross-field rule is denied with the webhook's message", async () => {
  const denied = await kubectl.run(
    ["apply", "-f", "-"],
    myapp("web", { replicas: 3, image: "nginx:latest", port: 8080 }),
  );
  assert.notEqual(denied.code, 0);
  assert.match(
    denied.stderr,
    /admission webhook "vmyapp-v1\.apps\.example\.com" denied the request: MyApp web is invalid: spec\.image: nginx:latest is not pinned to a version; pin a tag or digest to run 3 replicas/,
  );
  const missing = await kubectl.run(["get", "myapp", "web", "-n", "default"]);
  assert.match(missing.stderr, /NotFound/);
});

test("the mutating webhook's default is on the stored object; an immutable field stays put", async () => {
  await kubectl.ok(
    ["apply", "-f", "-"],
    myapp("web", { replicas: 2, image: "nginx:1.27", port: 8080 }),
  );
  const stored = JSON.parse(
    await kubectl.ok(["get", "myapp", "web", "-n", "default", "-o", "json"]),
  );
  assert.equal(stored.metadata.labels["app.kubernetes.io/version"], "1.27");

  // A label the user set is left alone.
  await kubectl.ok(
    ["apply", "-f", "-"],
    myapp(
      "pinned",
      { replicas: 1, image: "nginx:1.27", port: 8080 },
      {
        "app.kubernetes.io/version": "stable",
      },
    ),
  );
  const pinned = JSON.parse(
    await kubectl.ok(["get", "myapp", "pinned", "-n", "default", "-o", "json"]),
  );
  assert.equal(pinned.metadata.labels["app.kubernetes.io/version"], "stable");

  const moved = await kubectl.run(
    ["apply", "-f", "-"],
    myapp("web", { replicas: 2, image: "nginx:1.27", port: 9090 }),
  );
  assert.notEqual(moved.code, 0);
  assert.match(moved.stderr, /MyApp web is invalid: spec\.port: is immutable \(was 8080\)/);
});

test("kubectl apply --dry-run=server reaches the webhooks with dryRun true and stores nothing", async () => {
  const dry = await kubectl.ok(
    ["apply", "--dry-run=server", "-o", "json", "-f", "-"],
    myapp("dry", { replicas: 1, image: "busybox:1.36", port: 8080 }),
  );
  assert.equal(JSON.parse(dry).metadata.labels["app.kubernetes.io/version"], "1.36");
  const missing = await kubectl.run(["get", "myapp", "dry", "-n", "default"]);
  assert.match(missing.stderr, /NotFound/);
  const decided = await eventually(() => {
    const lines = logLines().filter(
      (line) => line.msg === "admission decided" && line.name === "dry",
    );
    return lines.length >= 2 ? lines : undefined;
  });
  assert.deepEqual(decided.map((line) => [line.webhook, line.dryRun]).sort(), [
    ["mmyapp-v1.apps.example.com", true],
    ["vmyapp-v1.apps.example.com", true],
  ]);
});

test("warnings reach kubectl", async () => {
  const idle = await kubectl.run(
    ["apply", "-f", "-"],
    myapp("idle", { replicas: 0, image: "nginx:1.27", port: 8080 }),
  );
  assert.equal(idle.code, 0, idle.stderr);
  assert.match(idle.stderr, /Warning: spec\.replicas is 0: the application serves nothing/);
});

test("requests are counted under controller-runtime's metric names", async () => {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const count = (webhook: string) =>
    Number(
      new RegExp(
        `^controller_runtime_webhook_requests_total\\{webhook="${webhook}",code="200"\\} (\\d+)`,
        "m",
      ).exec(text)?.[1] ?? 0,
    );
  assert.ok(count("/validate-apps-example-com-v1-myapp") >= 4, text);
  assert.ok(count("/mutate-apps-example-com-v1-myapp") >= 4, text);
  assert.match(
    text,
    /^controller_runtime_webhook_latency_seconds_bucket\{le="0\.005",webhook="\/validate-apps-example-com-v1-myapp"\}/m,
  );
  assert.match(
    text,
    /^controller_runtime_webhook_requests_in_flight\{webhook="\/mutate-apps-example-com-v1-myapp"\} 0$/m,
  );
});

test("on SIGTERM the configurations are removed and operon run exits 0", async () => {
  operon!.kill("SIGTERM");
  assert.equal(await exited, 0, `operon run said:\n${log}`);
  for (const kind of ["validatingwebhookconfiguration", "mutatingwebhookconfiguration"]) {
    const gone = await kubectl.run(["get", kind, "myapp"]);
    assert.match(gone.stderr, /NotFound/, `${kind} myapp is removed`);
  }
  // And MyApps are admitted without them again.
  await kubectl.ok(
    ["apply", "-f", "-"],
    myapp("after", { replicas: 3, image: "nginx:latest", port: 8080 }),
  );
});
