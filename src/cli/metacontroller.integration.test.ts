/**
 * `operon metacontroller install|generate|run` against the local control plane: the CRDs are
 * installed, the generated RBAC is applied, and `operon metacontroller run` runs as a child
 * process with the generated ServiceAccount's identity only, converges a parent through a Python
 * hook, takes the Lease, and exits 0 on SIGTERM.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { KubeClient } from "../client/client.ts";
import { toYaml } from "../manifests/yaml.ts";
import { createKind, startPythonHooks, suffix } from "../metacontroller/testdata/harness.ts";
import { CompositeControllerType } from "../metacontroller/types.ts";
import { CustomResourceDefinition } from "../resources/apiextensions.ts";
import { Lease } from "../resources/coordination.ts";
import { ConfigMap } from "../resources/core.ts";
import type { KubeObject } from "../resources/object.ts";
import type { ControlPlane } from "../testkit/control-plane.ts";
import { eventually, getOrUndefined } from "../testkit/operator-harness.ts";
import { testControlPlane } from "../testkit/shared.ts";
import { type Command, parseCommandArgs } from "./command.ts";
import { metacontrollerGenerate, metacontrollerInstall } from "./metacontroller.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
let plane: ControlPlane;
let admin: KubeClient;
let dir: string;

before(async () => {
  plane = await testControlPlane();
  admin = await KubeClient.fromKubeConfig({
    kubeconfig: plane.kubeconfigPath,
    fieldManager: "test",
  });
  dir = await mkdtemp(join(tmpdir(), "operon-mc-"));
});

after(async () => {
  await admin?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Runs an `operon` command in this process, with its output captured. */
async function operon(command: Command, ...args: string[]): Promise<{ code: number; out: string }> {
  let out = "";
  const stdout = {
    write: (chunk: string) => {
      out += chunk;
      return true;
    },
  } as unknown as NodeJS.WritableStream;
  const { values, positionals } = parseCommandArgs(command, args);
  const code = (await command.run({ values, positionals, stdout, stderr: process.stderr })) ?? 0;
  return { code, out };
}

test("install, generate, and run as the generated ServiceAccount", async () => {
  const installed = await operon(metacontrollerInstall, "--kubeconfig", plane.kubeconfigPath);
  assert.equal(installed.code, 0);
  assert.match(installed.out, /compositecontrollers\.metacontroller\.k8s\.io is established/);
  const crd = await admin.get(
    CustomResourceDefinition,
    "decoratorcontrollers.metacontroller.k8s.io",
  );
  assert.equal(crd.spec.scope, "Cluster");

  const python = await startPythonHooks();
  const kind = await createKind(admin, `Cli${suffix()}`);
  const suite = suffix();
  const controller = {
    apiVersion: "metacontroller.k8s.io/v1alpha1",
    kind: "CompositeController",
    metadata: { name: `cli-${suite}`, labels: { suite } },
    spec: {
      parentResource: { apiVersion: kind.apiVersion, resource: kind.plural },
      childResources: [
        { apiVersion: "v1", resource: "configmaps", updateStrategy: { method: "InPlace" } },
      ],
      hooks: { sync: { webhook: { url: `${python.url}/sync` } } },
    },
  };
  const controllerFile = join(dir, "controller.yaml");
  await writeFile(controllerFile, toYaml(controller));
  const namespace = `mc-${suite}`;
  const out = join(dir, "deploy");
  const generated = await operon(
    metacontrollerGenerate,
    controllerFile,
    "--out",
    out,
    "--namespace",
    namespace,
  );
  assert.equal(generated.code, 0);

  // Namespace and RBAC from the generated folder, applied as an administrator would.
  for (const file of ["namespace.yaml", "rbac.yaml"]) {
    for (const document of parseAllDocuments(await readFile(join(out, file), "utf8"))) {
      const object = document.toJS() as KubeObject | null;
      if (!object || !("kind" in object)) continue;
      const type = await admin.discovery.resource(object.apiVersion, object.kind);
      await admin.apply(
        {
          apiVersion: object.apiVersion,
          kind: object.kind,
          plural: type.plural,
          namespaced: type.namespaced,
        },
        object as never,
        { force: true },
      );
    }
  }
  const identity = await plane.kubeconfigFor({
    serviceAccount: { namespace, name: "operon-metacontroller" },
    create: false,
  });
  await admin.create(CompositeControllerType, controller as never);

  const child = spawn(
    process.execPath,
    [
      "--conditions=operon-source",
      "src/cli/main.ts",
      "metacontroller",
      "run",
      "--kubeconfig",
      identity.path,
      "--target-label-selector",
      `suite=${suite}`,
      "--leader-elect",
      "--leader-election-namespace",
      namespace,
      "--log-format",
      "json",
      "--metrics-bind-address",
      "0",
      "--health-probe-bind-address",
      "0",
    ],
    { cwd: root, stdio: ["ignore", "ignore", "pipe"] },
  );
  let logs = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    logs += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  try {
    const parentNamespace = await plane.createNamespace();
    await admin.create(kind.type, {
      apiVersion: kind.apiVersion,
      kind: kind.kind,
      metadata: { name: "cli", namespace: parentNamespace },
      spec: {
        selector: { matchLabels: { app: "cli" } },
        configMaps: { "cli-child": { from: "cli" } },
      },
    } as never);
    await eventually(
      async () => {
        const cm = await getOrUndefined(admin, ConfigMap, "cli-child", parentNamespace);
        const parent = await admin.get(kind.type, "cli", { namespace: parentNamespace });
        return (
          cm?.data?.from === "cli" &&
          (parent.status as { message?: string } | undefined)?.message === "ok"
        );
      },
      { message: `the parent converges (logs:\n${logs.slice(-2000)})` },
    );
    const lease = await admin.get(Lease, "metacontroller", { namespace });
    assert.ok(lease.spec?.holderIdentity, "the Lease is held");
    assert.doesNotMatch(logs, /forbidden/i, "no request was refused");
    child.kill("SIGTERM");
    assert.equal(await exited, 0);
  } finally {
    child.kill("SIGKILL");
    await python.stop();
    await admin.delete(CompositeControllerType, controller.metadata.name).catch(() => {});
  }
});
