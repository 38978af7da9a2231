/**
 * The local control plane behaves like a cluster: kubectl works, CRDs work, namespaces and
 * owners cascade, Deployments become ready on simulated nodes, RBAC applies to restricted
 * identities, and data survives an API server restart; stopping leaves no process behind.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { ensureAssets } from "./assets.ts";
import { type ControlPlane, startControlPlane, waitFor } from "./control-plane.ts";
import { testControlPlane } from "./shared.ts";

const run = promisify(execFile);
let kubectlPath = "";

async function kubectl(kubeconfig: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(kubectlPath, ["--kubeconfig", kubeconfig, ...args]);
  return stdout;
}

/** kubectl that is expected to fail; resolves with its stderr. */
async function kubectlFails(kubeconfig: string, ...args: string[]): Promise<string> {
  try {
    await run(kubectlPath, ["--kubeconfig", kubeconfig, ...args]);
  } catch (error) {
    return String((error as { stderr?: string }).stderr);
  }
  throw new Error(`kubectl ${args.join(" ")} succeeded but was expected to fail`);
}

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 60_000) {
  await waitFor(check, timeoutMs, async () => new Error(`timed out waiting until ${what}`));
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

before(async () => {
  kubectlPath = (await ensureAssets({ only: ["kubectl"] })).kubectl;
});

describe("shared control plane", () => {
  let plane: ControlPlane;
  before(async () => {
    plane = await testControlPlane();
  });

  test("kubectl works with the written kubeconfig and sees the system namespaces", async () => {
    const names = await kubectl(plane.kubeconfigPath, "get", "namespaces", "-o", "name");
    for (const ns of ["default", "kube-system", "kube-public"]) {
      assert.match(names, new RegExp(`namespace/${ns}\\b`));
    }
    const version = JSON.parse(await kubectl(plane.kubeconfigPath, "version", "-o", "json"));
    assert.equal(version.serverVersion.gitVersion, `v${plane.versions.kubernetes}`);
    assert.equal(await readFile(plane.kubeconfigPath, "utf8"), plane.kubeconfig);
  });

  test("a CRD can be created and its custom resources used", async () => {
    const namespace = await plane.createNamespace("crd");
    const group = `${namespace}.example.com`;
    const crd = {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
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
            schema: {
              openAPIV3Schema: {
                type: "object",
                properties: {
                  spec: { type: "object", properties: { size: { type: "integer", minimum: 1 } } },
                },
              },
            },
          },
        ],
      },
    };
    await applyJson(plane.kubeconfigPath, crd);
    await kubectl(
      plane.kubeconfigPath,
      "wait",
      "--for=condition=Established",
      `crd/widgets.${group}`,
      "--timeout=60s",
    );
    await applyJson(plane.kubeconfigPath, {
      apiVersion: `${group}/v1`,
      kind: "Widget",
      metadata: { name: "w1", namespace },
      spec: { size: 3 },
    });
    const widget = JSON.parse(
      await kubectl(
        plane.kubeconfigPath,
        "get",
        `widgets.${group}`,
        "w1",
        "-n",
        namespace,
        "-o",
        "json",
      ),
    );
    assert.equal(widget.spec.size, 3);
    const invalid = await applyJsonFails(plane.kubeconfigPath, {
      apiVersion: `${group}/v1`,
      kind: "Widget",
      metadata: { name: "w2", namespace },
      spec: { size: 0 },
    });
    assert.match(invalid, /spec\.size/);
  });

  test("deleting a namespace removes what is in it", async () => {
    const namespace = await plane.createNamespace("nsdel");
    await kubectl(
      plane.kubeconfigPath,
      "create",
      "configmap",
      "c1",
      "-n",
      namespace,
      "--from-literal=a=b",
    );
    await kubectl(plane.kubeconfigPath, "delete", "namespace", namespace, "--wait=false");
    await eventually(`namespace ${namespace} is gone`, async () => {
      const out = await kubectl(plane.kubeconfigPath, "get", "namespaces", "-o", "name");
      return !out.includes(`namespace/${namespace}\n`);
    });
  });

  test("an object with an ownerReference is garbage-collected with its owner", async () => {
    const namespace = await plane.createNamespace("gc");
    await kubectl(plane.kubeconfigPath, "create", "configmap", "owner", "-n", namespace);
    const owner = JSON.parse(
      await kubectl(
        plane.kubeconfigPath,
        "get",
        "configmap",
        "owner",
        "-n",
        namespace,
        "-o",
        "json",
      ),
    );
    await applyJson(plane.kubeconfigPath, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: "owned",
        namespace,
        ownerReferences: [
          {
            apiVersion: "v1",
            kind: "ConfigMap",
            name: "owner",
            uid: owner.metadata.uid,
            controller: true,
          },
        ],
      },
    });
    await kubectl(plane.kubeconfigPath, "delete", "configmap", "owner", "-n", namespace);
    await eventually("the owned ConfigMap is collected", async () => {
      const out = await kubectl(
        plane.kubeconfigPath,
        "get",
        "configmaps",
        "-n",
        namespace,
        "-o",
        "name",
      );
      return !out.includes("configmap/owned");
    });
  });

  test("a Deployment reaches its ready replicas on simulated nodes", async () => {
    const namespace = await plane.createNamespace("deploy");
    await kubectl(
      plane.kubeconfigPath,
      "create",
      "deployment",
      "web",
      "-n",
      namespace,
      "--image=nginx",
      "--replicas=3",
    );
    await eventually("3 replicas are ready", async () => {
      const deployment = JSON.parse(
        await kubectl(
          plane.kubeconfigPath,
          "get",
          "deployment",
          "web",
          "-n",
          namespace,
          "-o",
          "json",
        ),
      );
      return deployment.status?.readyReplicas === 3;
    });
    const pods = JSON.parse(
      await kubectl(plane.kubeconfigPath, "get", "pods", "-n", namespace, "-o", "json"),
    );
    assert.equal(pods.items.length, 3);
    for (const pod of pods.items) {
      assert.equal(pod.status.phase, "Running");
      assert.match(pod.spec.nodeName, /^operon-node-/);
      assert.ok(pod.status.podIP, "a simulated pod gets an IP");
    }
  });

  test("a restricted user is forbidden what its RBAC does not allow and allowed what it does", async () => {
    const namespace = await plane.createNamespace("rbac");
    const user = await plane.kubeconfigFor({ user: "jane", groups: ["readers"] });
    const forbidden = await kubectlFails(user.path, "get", "configmaps", "-n", namespace);
    assert.match(forbidden, /forbidden/i);
    assert.match(forbidden, /User "jane"/);
    await kubectl(
      plane.kubeconfigPath,
      "create",
      "role",
      "cm-reader",
      "-n",
      namespace,
      "--verb=get,list",
      "--resource=configmaps",
    );
    await kubectl(
      plane.kubeconfigPath,
      "create",
      "rolebinding",
      "readers",
      "-n",
      namespace,
      "--role=cm-reader",
      "--group=readers",
    );
    await eventually(
      "jane can list configmaps",
      async () => {
        try {
          await kubectl(user.path, "get", "configmaps", "-n", namespace);
          return true;
        } catch {
          return false;
        }
      },
      10_000,
    );
    const createDenied = await kubectlFails(user.path, "create", "configmap", "x", "-n", namespace);
    assert.match(createDenied, /cannot create resource "configmaps"/);
  });

  test("a ServiceAccount identity gets a token kubeconfig limited by RBAC", async () => {
    const namespace = await plane.createNamespace("sa");
    const account = await plane.kubeconfigFor({ serviceAccount: { namespace, name: "robot" } });
    const denied = await kubectlFails(account.path, "get", "secrets", "-n", namespace);
    assert.match(denied, new RegExp(`system:serviceaccount:${namespace}:robot`));
    await kubectl(
      plane.kubeconfigPath,
      "create",
      "rolebinding",
      "robot-view",
      "-n",
      namespace,
      "--clusterrole=view",
      `--serviceaccount=${namespace}:robot`,
    );
    await eventually(
      "the robot can list pods",
      async () => {
        try {
          await kubectl(account.path, "get", "pods", "-n", namespace);
          return true;
        } catch {
          return false;
        }
      },
      10_000,
    );
  });
});

describe("private control plane", () => {
  let plane: ControlPlane;
  before(async () => {
    plane = await startControlPlane({ nodes: 0, controllerManager: false });
  });
  after(async () => {
    await plane?.stop();
  });

  test("restarting the API server keeps the data", async () => {
    await kubectl(
      plane.kubeconfigPath,
      "create",
      "configmap",
      "kept",
      "-n",
      "default",
      "--from-literal=k=v",
    );
    const pidBefore = plane.pids()["kube-apiserver"];
    await plane.restartApiServer();
    assert.notEqual(plane.pids()["kube-apiserver"], pidBefore, "a new API server process runs");
    const data = await kubectl(
      plane.kubeconfigPath,
      "get",
      "configmap",
      "kept",
      "-n",
      "default",
      "-o",
      "jsonpath={.data.k}",
    );
    assert.equal(data, "v");
  });

  test("stop ends every process and removes the directory", async () => {
    const pids = Object.values(plane.pids()).filter((pid): pid is number => pid !== undefined);
    assert.ok(pids.length >= 2);
    const dir = plane.dir;
    await plane.stop();
    for (const pid of pids) assert.equal(processAlive(pid), false, `process ${pid} still runs`);
    await assert.rejects(readFile(`${dir}/kubeconfig`), /ENOENT/);
  });
});

test("a crashed test process leaves no control-plane process behind", async () => {
  // A child process starts a control plane and is killed with SIGKILL: no exit handler runs.
  const { spawn } = await import("node:child_process");
  const script = `
    import { startControlPlane } from ${JSON.stringify(new URL("./control-plane.ts", import.meta.url).href)};
    const plane = await startControlPlane({ nodes: 0, controllerManager: false });
    console.log(JSON.stringify(plane.pids()));
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const line = await new Promise<string>((resolve, reject) => {
    let buffer = "";
    child.stdout.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      if (buffer.includes("\n")) resolve(buffer.split("\n")[0]!);
    });
    child.on("exit", (code) => reject(new Error(`child exited early with ${code}`)));
  });
  const pids = Object.values(JSON.parse(line) as Record<string, number>);
  for (const pid of pids) assert.equal(processAlive(pid), true);
  child.kill("SIGKILL");
  await eventually(
    "the components die with their parent",
    async () => pids.every((pid) => !processAlive(pid)),
    15_000,
  );
});

async function applyJson(kubeconfig: string, object: unknown): Promise<void> {
  const { spawn } = await import("node:child_process");
  await new Promise<void>((resolve, reject) => {
    const child = spawn(kubectlPath, ["--kubeconfig", kubeconfig, "apply", "-f", "-"], {
      stdio: ["pipe", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(stderr))));
    child.stdin.end(JSON.stringify(object));
  });
}

async function applyJsonFails(kubeconfig: string, object: unknown): Promise<string> {
  try {
    await applyJson(kubeconfig, object);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("kubectl apply succeeded but was expected to fail");
}
