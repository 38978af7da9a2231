/**
 * A generated deployment folder against the real API server: `kubectl apply -k` accepts every
 * object, the Deployment rolls out on the simulated nodes in a namespace enforcing the restricted
 * Pod Security Standard, and the command the image runs (its entrypoint plus the Deployment's
 * args) works as the generated ServiceAccount: it takes the Lease, answers the probes, serves
 * metrics over HTTPS to scrapers the API server authorizes (200 with the reader role, 403
 * without it, 401 without a token), reconciles a parent in another namespace through its
 * finalizer, and may do nothing more.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Agent, request } from "undici";
import { parse } from "yaml";
import { KubeClient } from "../client/client.ts";
import type { Operator } from "../operator/declaration.ts";
import type { Deployment } from "../resources/apps.ts";
import { Lease } from "../resources/coordination.ts";
import { ConfigMap, Pod } from "../resources/core.ts";
import type { CustomResourceType } from "../resources/define.ts";
import type { ControlPlane } from "../testkit/control-plane.ts";
import { eventually, getOrUndefined } from "../testkit/operator-harness.ts";
import { freePorts } from "../testkit/ports.ts";
import { testControlPlane } from "../testkit/shared.ts";
import { deploymentFiles, deploymentManifests, writeGeneratedFiles } from "./deployment.ts";
import { Kubectl } from "./testdata/kubectl.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const cli = fileURLToPath(new URL("../cli/main.ts", import.meta.url));
const module = "src/manifests/testdata/gadget-operator.ts";

const suffix = randomBytes(3).toString("hex");
const env = {
  GADGET_GROUP: `deploy-${suffix}.operon.example.com`,
  GADGET_OPERATOR: `gadget-${suffix}`,
};
const namespace = `gadget-${suffix}-system`;
const options = {
  namespace,
  image: "registry.invalid/operon/gadget:test",
  module,
  replicas: 2,
};

let plane: ControlPlane;
let admin: KubeClient;
let kubectl: Kubectl;
let dir: string;
let operator: Operator;
let Gadget: CustomResourceType;

before(async () => {
  Object.assign(process.env, env);
  const loaded = await import("./testdata/gadget-operator.ts");
  operator = loaded.default as unknown as Operator;
  Gadget = loaded.Gadget as unknown as CustomResourceType;
  plane = await testControlPlane();
  admin = await KubeClient.fromKubeConfig({
    kubeconfig: plane.kubeconfigPath,
    fieldManager: "test",
  });
  kubectl = await Kubectl.create(plane.kubeconfigPath);
  dir = await mkdtemp(join(tmpdir(), "operon-deploy-"));
});

after(async () => {
  if (kubectl) {
    await kubectl.run(["delete", "namespace", namespace, "--ignore-not-found", "--wait=false"]);
    for (const role of [operator.name, `${operator.name}-metrics-auth`]) {
      await kubectl.run([
        "delete",
        "clusterrole,clusterrolebinding",
        role,
        "--ignore-not-found",
        "--wait=false",
      ]);
    }
    await kubectl.run([
      "delete",
      "clusterrole",
      `${operator.name}-metrics-reader`,
      "--ignore-not-found",
    ]);
    await kubectl.run([
      "delete",
      "clusterrolebinding",
      `${operator.name}-scraper`,
      "--ignore-not-found",
    ]);
    await kubectl.run([
      "delete",
      "crd",
      `gadgets.${env.GADGET_GROUP}`,
      "--ignore-not-found",
      "--wait=false",
    ]);
  }
  await admin?.close();
  await kubectl?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The bearer token of a ServiceAccount, from the kubeconfig the control plane makes for it. */
async function serviceAccountToken(account: string): Promise<string> {
  const identity = await plane.kubeconfigFor({ serviceAccount: { namespace, name: account } });
  const config = parse(identity.kubeconfig) as { users: { user: { token: string } }[] };
  return config.users[0]!.user.token;
}

/**
 * Secure metrics, as Kubebuilder serves them: HTTPS with a self-signed certificate, each scrape's
 * token reviewed and its access to `/metrics` checked by the API server.
 */
async function scrapesAreAuthorized(port: number): Promise<void> {
  const agent = new Agent({ connect: { rejectUnauthorized: false } });
  const scrape = async (token?: string) => {
    const response = await request(`https://127.0.0.1:${port}/metrics`, {
      dispatcher: agent,
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    return { status: response.statusCode, body: await response.body.text() };
  };
  try {
    assert.equal((await scrape()).status, 401, "no token");
    assert.equal((await scrape("not-a-token")).status, 401, "a token the API server rejects");
    const stranger = await serviceAccountToken("stranger");
    const denied = await scrape(stranger);
    assert.equal(denied.status, 403, "a token without the reader role");
    assert.match(denied.body, /may not get \/metrics/);
    const reader = await serviceAccountToken("prometheus");
    await kubectl.ok([
      "create",
      "clusterrolebinding",
      `${operator.name}-scraper`,
      `--clusterrole=${operator.name}-metrics-reader`,
      `--serviceaccount=${namespace}:prometheus`,
    ]);
    // The operator remembers a refusal for 30 s: scrape once the API server grants it.
    await eventually(
      async () =>
        (
          await kubectl.run([
            "auth",
            "can-i",
            "get",
            "/metrics",
            `--as=system:serviceaccount:${namespace}:prometheus`,
          ])
        ).stdout.trim() === "yes",
    );
    const allowed = await scrape(reader);
    assert.equal(allowed.status, 200, allowed.body);
    assert.match(allowed.body, /^controller_runtime_reconcile_total\{/m);
  } finally {
    await agent.close();
  }
}

describe("a generated deployment folder", () => {
  test("kubectl apply -k takes it, and the Deployment rolls out under the restricted policy", async () => {
    await writeGeneratedFiles(dir, deploymentFiles(operator, options));
    const applied = await kubectl.ok(["apply", "-k", dir]);
    for (const line of [
      `namespace/${namespace} created`,
      `customresourcedefinition.apiextensions.k8s.io/gadgets.${env.GADGET_GROUP} created`,
      `serviceaccount/${operator.name} created`,
      `clusterrole.rbac.authorization.k8s.io/${operator.name} created`,
      `clusterrolebinding.rbac.authorization.k8s.io/${operator.name} created`,
      `role.rbac.authorization.k8s.io/${operator.name} created`,
      `rolebinding.rbac.authorization.k8s.io/${operator.name} created`,
      `clusterrole.rbac.authorization.k8s.io/${operator.name}-metrics-auth created`,
      `clusterrolebinding.rbac.authorization.k8s.io/${operator.name}-metrics-auth created`,
      `clusterrole.rbac.authorization.k8s.io/${operator.name}-metrics-reader created`,
      `service/${operator.name}-metrics created`,
      `deployment.apps/${operator.name} created`,
    ]) {
      assert.ok(applied.includes(line), `"${line}" in:\n${applied}`);
    }
    await kubectl.ok([
      "wait",
      "--for=condition=Established",
      "--timeout=60s",
      `crd/gadgets.${env.GADGET_GROUP}`,
    ]);
    await kubectl.ok([
      "rollout",
      "status",
      `deployment/${operator.name}`,
      "-n",
      namespace,
      "--timeout=180s",
    ]);
    const pods = await admin.list(Pod, {
      namespace,
      labelSelector: `app.kubernetes.io/name=${operator.name}`,
    });
    assert.equal(pods.items.length, 2);
    for (const pod of pods.items) {
      assert.equal(pod.status?.phase, "Running");
      assert.equal(pod.spec?.serviceAccountName, operator.name);
      assert.equal(pod.spec?.containers[0]?.securityContext?.readOnlyRootFilesystem, true);
    }

    // The namespace refuses pods that break the restricted standard: these passed it.
    const privileged = await kubectl.run(
      ["apply", "-f", "-", "--dry-run=server"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "privileged", namespace },
        spec: {
          containers: [{ name: "c", image: "busybox", securityContext: { privileged: true } }],
        },
      }),
    );
    assert.notEqual(privileged.code, 0);
    assert.match(privileged.stderr, /violates PodSecurity "restricted:latest"/);

    // Stored as generated, and a second apply changes nothing.
    const generated = deploymentManifests(operator, options).deployment;
    const stored = JSON.parse(
      await kubectl.ok(["get", "deployment", operator.name, "-n", namespace, "-o", "json"]),
    ) as Deployment;
    assert.deepEqual(
      stored.spec?.template.spec?.containers[0]?.securityContext,
      generated.spec?.template.spec?.containers[0]?.securityContext,
    );
    assert.deepEqual(
      stored.spec?.template.spec?.containers[0]?.args,
      generated.spec?.template.spec?.containers[0]?.args,
    );
    const again = await kubectl.ok(["apply", "-k", dir]);
    const changed = again
      .trim()
      .split("\n")
      .filter((line) => !line.endsWith(" unchanged"));
    assert.deepEqual(changed, [], "a second apply -k changes nothing");
  });

  test("the image's command with the Deployment's args works as the ServiceAccount, and nothing more", async () => {
    const files = deploymentFiles(operator, options);
    const dockerfile = files.find((file) => file.path === "Dockerfile")!.content;
    const entrypoint = JSON.parse(dockerfile.match(/^ENTRYPOINT (.*)$/m)![1]!) as string[];
    const script = entrypoint.indexOf("node_modules/kube-operon/bin/operon.js");
    assert.equal(entrypoint[0], "node");
    assert.ok(script > 0, "the image runs Operon's CLI");
    const nodeFlags = entrypoint.slice(1, script);
    const manager = files.find((file) => file.path === "manager.yaml")!.content;
    const deployment = manager
      .split(/^---$/m)
      .map((document) => parse(document) as Deployment)
      .find((object) => object.kind === "Deployment")!;
    const args = deployment.spec!.template.spec!.containers[0]!.args!;
    assert.ok(args.includes("--leader-elect"));

    const identity = await plane.kubeconfigFor({
      serviceAccount: { namespace, name: operator.name },
      create: false,
    });
    const [metricsPort, healthPort] = await freePorts(2);
    // Outside a pod: the Lease's namespace comes from a flag instead of the pod's own, and the
    // listeners bind to free loopback ports instead of 8080 and 8081.
    const command = [
      ...nodeFlags,
      "--conditions=operon-source",
      cli,
      ...entrypoint.slice(script + 1),
      ...args.map((arg) =>
        arg.startsWith("--metrics-bind-address=")
          ? `--metrics-bind-address=127.0.0.1:${metricsPort}`
          : arg.startsWith("--health-probe-bind-address=")
            ? `--health-probe-bind-address=127.0.0.1:${healthPort}`
            : arg,
      ),
      `--leader-election-namespace=${namespace}`,
      `--kubeconfig=${identity.path}`,
      "--log-format=json",
    ];
    let stderr = "";
    const child: ChildProcess = spawn(process.execPath, command, {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    child.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    const gadgets = await plane.createNamespace("gadgets");
    try {
      const probe = async (path: string, port: number) =>
        (await fetch(`http://127.0.0.1:${port}${path}`).catch(() => undefined))?.status;
      await eventually(async () => (await probe("/readyz", healthPort!)) === 200, {
        message: `/readyz answers 200; operon run said:\n${stderr}`,
      });
      assert.equal(await probe("/healthz", healthPort!), 200);
      await scrapesAreAuthorized(metricsPort!);
      const lease = await eventually(async () => {
        const found = await getOrUndefined(admin, Lease, `${operator.name}-leader`, namespace);
        return found?.spec?.holderIdentity ? found : undefined;
      });
      assert.ok(lease.spec?.holderIdentity);

      await admin.create(Gadget, {
        metadata: { name: "red", namespace: gadgets },
        spec: { color: "red" },
      } as never);
      const configMap = await eventually(() => getOrUndefined(admin, ConfigMap, "red", gadgets), {
        message: `the child is applied; operon run said:\n${stderr}`,
      });
      assert.equal(configMap.data?.color, "red");
      const parent = await eventually(async () => {
        const current = await admin.get(Gadget, "red", { namespace: gadgets });
        const status = current.status as { configMap?: string } | undefined;
        return status?.configMap === "red" ? current : undefined;
      });
      assert.deepEqual(parent.metadata.finalizers, [operator.finalizer]);
      await admin.delete(Gadget, "red", { namespace: gadgets });
      await eventually(
        async () => (await getOrUndefined(admin, Gadget, "red", gadgets)) === undefined,
        { message: "finalized and gone" },
      );
      assert.doesNotMatch(stderr, /forbidden/i);

      const can = kubectl.as(identity.path);
      assert.equal(await can.canI("list", "secrets"), false);
      assert.equal(await can.canI("get", "secrets", namespace), false);
      assert.equal(await can.canI("create", "deployments.apps", namespace), false);
      assert.equal(await can.canI("list", "pods"), false);
      assert.equal(await can.canI("update", `gadgets.${env.GADGET_GROUP}`, gadgets), false);
      assert.equal(await can.canI("delete", `gadgets.${env.GADGET_GROUP}`, gadgets), false);
      assert.equal(await can.canI("create", "leases.coordination.k8s.io", gadgets), false);
      assert.equal(await can.canI("delete", "leases.coordination.k8s.io", namespace), false);
      assert.equal(await can.canI("list", "customresourcedefinitions.apiextensions.k8s.io"), false);
    } finally {
      child.kill("SIGTERM");
    }
    assert.equal(await exited, 0, `operon run exits 0 on SIGTERM; it said:\n${stderr}`);
  });
});
