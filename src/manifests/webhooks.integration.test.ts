/**
 * `operon generate` for a module with webhooks and a conversion, applied with `kubectl apply -k`,
 * then the image's command run with the Deployment's args as the generated ServiceAccount: it
 * fills the generated Secret with a CA and a serving certificate, the leader injects the CA into
 * the webhook configurations and the CRD's conversion webhook, and a TLS handshake with that
 * `caBundle` verifies the certificate the process serves for the Service's DNS name.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { connect } from "node:tls";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { KubeClient } from "../client/client.ts";
import {
  MutatingWebhookConfiguration,
  ValidatingWebhookConfiguration,
} from "../resources/admissionregistration.ts";
import { CustomResourceDefinition } from "../resources/apiextensions.ts";
import type { Deployment } from "../resources/apps.ts";
import { Secret } from "../resources/core.ts";
import type { ControlPlane } from "../testkit/control-plane.ts";
import { eventually } from "../testkit/operator-harness.ts";
import { freePorts } from "../testkit/ports.ts";
import { testControlPlane } from "../testkit/shared.ts";
import { Kubectl } from "./testdata/kubectl.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const cli = fileURLToPath(new URL("../cli/main.ts", import.meta.url));
const module = "src/manifests/testdata/widget-webhooks.ts";

const suffix = randomBytes(3).toString("hex");
const name = `widget-${suffix}`;
const group = `hooks-${suffix}.operon.example.com`;
const env = { WIDGET_GROUP: group, WIDGET_OPERATOR: name };
const namespace = `${name}-system`;
const service = `${name}-webhook`;
const crdName = `widgets.${group}`;

let plane: ControlPlane;
let admin: KubeClient;
let kubectl: Kubectl;
let dir: string;
let operon: ChildProcess | undefined;

before(async () => {
  plane = await testControlPlane();
  admin = await KubeClient.fromKubeConfig({ kubeconfig: plane.kubeconfigPath });
  kubectl = await Kubectl.create(plane.kubeconfigPath);
  dir = await mkdtemp(join(tmpdir(), "operon-webhooks-"));
});

after(async () => {
  if (operon && operon.exitCode === null) operon.kill("SIGKILL");
  if (kubectl) {
    await kubectl.run(["delete", "namespace", namespace, "--ignore-not-found", "--wait=false"]);
    for (const role of [name, `${name}-metrics-auth`, `${name}-webhook-ca-injector`]) {
      await kubectl.run(["delete", "clusterrole,clusterrolebinding", role, "--ignore-not-found"]);
    }
    await kubectl.run(["delete", "clusterrole", `${name}-metrics-reader`, "--ignore-not-found"]);
    await kubectl.run([
      "delete",
      "validatingwebhookconfiguration,mutatingwebhookconfiguration",
      name,
      "--ignore-not-found",
    ]);
    await kubectl.run(["delete", "crd", crdName, "--ignore-not-found", "--wait=false"]);
  }
  await admin?.close();
  await kubectl?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Completes a TLS handshake trusting only `ca`, for `servername`; rejects when it does not verify. */
function handshake(port: number, ca: string, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, ca, servername }, () => {
      const subject = socket.getPeerCertificate().subjectaltname ?? "";
      socket.end();
      resolve(subject);
    });
    socket.on("error", reject);
  });
}

test("operon generate's folder, applied with kubectl apply -k, gets a caBundle that verifies the served certificate", async () => {
  const generated = spawnSync(
    process.execPath,
    [
      "--conditions=operon-source",
      cli,
      "generate",
      module,
      "--out",
      dir,
      "--namespace",
      namespace,
      "--image",
      "registry.invalid/operon/widget:test",
      "--replicas",
      "1",
    ],
    { cwd: root, env: { ...process.env, ...env }, encoding: "utf8" },
  );
  assert.equal(generated.status, 0, generated.stderr);
  const applied = await kubectl.ok(["apply", "-k", dir]);
  for (const line of [
    `secret/${name}-webhook-certs created`,
    `service/${service} created`,
    `validatingwebhookconfiguration.admissionregistration.k8s.io/${name} created`,
    `mutatingwebhookconfiguration.admissionregistration.k8s.io/${name} created`,
    `customresourcedefinition.apiextensions.k8s.io/${crdName} created`,
    `clusterrole.rbac.authorization.k8s.io/${name}-webhook-ca-injector created`,
    `role.rbac.authorization.k8s.io/${name}-webhook-certs created`,
  ]) {
    assert.ok(applied.includes(line), `"${line}" in:\n${applied}`);
  }
  const before = await admin.get(ValidatingWebhookConfiguration, name);
  assert.equal(before.webhooks?.[0]?.clientConfig.caBundle, undefined, "no caBundle yet");

  // The image's command with the Deployment's args, as the generated ServiceAccount. Outside a
  // pod, the namespaces come from the flags and the listeners bind to free loopback ports.
  const manager = parseAllDocuments(await readFile(join(dir, "manager.yaml"), "utf8")).map(
    (document) => document.toJS(),
  );
  const deployment = manager.find((object) => object.kind === "Deployment") as Deployment;
  const args = deployment.spec!.template.spec!.containers[0]!.args!;
  const [metricsPort, healthPort, webhookPort] = (await freePorts(3)) as [number, number, number];
  const rewritten = args.map((arg) => {
    const [flag, value] = arg.split("=") as [string, string | undefined];
    switch (flag) {
      case "--metrics-bind-address":
        return `${flag}=127.0.0.1:${metricsPort}`;
      case "--health-probe-bind-address":
        return `${flag}=127.0.0.1:${healthPort}`;
      case "--webhook-bind-address":
        return `${flag}=127.0.0.1:${webhookPort}`;
      case "--webhook-cert-secret":
      case "--webhook-service":
        return `${flag}=${namespace}/${value}`;
      default:
        return arg;
    }
  });
  assert.ok(rewritten.some((arg) => arg.startsWith("--webhook-cert-secret=")));
  const identity = await plane.kubeconfigFor({
    serviceAccount: { namespace, name },
    create: false,
  });
  let log = "";
  operon = spawn(
    process.execPath,
    [
      "--conditions=operon-source",
      cli,
      "run",
      module,
      ...rewritten,
      `--leader-election-namespace=${namespace}`,
      `--kubeconfig=${identity.path}`,
      "--log-format=json",
    ],
    { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] },
  );
  operon.stderr!.on("data", (chunk: Buffer) => {
    log += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => operon!.on("exit", resolve));
  try {
    await eventually(
      async () => (await fetch(`http://127.0.0.1:${healthPort}/readyz`).catch(() => undefined))?.ok,
      { message: `operon run becomes ready; it said:\n${log}` },
    );
    const secret = await admin.get(Secret, `${name}-webhook-certs`, { namespace });
    assert.deepEqual(Object.keys(secret.data ?? {}).sort(), [
      "ca.crt",
      "ca.key",
      "tls.crt",
      "tls.key",
    ]);

    const bundles = await eventually(
      async () => {
        const validating = await admin.get(ValidatingWebhookConfiguration, name);
        const mutating = await admin.get(MutatingWebhookConfiguration, name);
        const crd = await admin.get(CustomResourceDefinition, crdName);
        const found = [
          ...(validating.webhooks ?? []).map((w) => w.clientConfig.caBundle),
          ...(mutating.webhooks ?? []).map((w) => w.clientConfig.caBundle),
          crd.spec.conversion?.webhook?.clientConfig?.caBundle,
        ];
        return found.every(Boolean) ? (found as string[]) : undefined;
      },
      { message: `the leader injects the CA bundle; operon run said:\n${log}` },
    );
    assert.equal(new Set(bundles).size, 1, "one bundle everywhere");
    const ca = Buffer.from(bundles[0]!, "base64").toString("utf8");

    // The certificate served verifies against the injected bundle, for the Service's name...
    const names = await handshake(webhookPort, ca, `${service}.${namespace}.svc`);
    assert.match(names, new RegExp(`DNS:${service}\\.${namespace}\\.svc\\b`));
    // ...and not for a name it was not issued for, nor against another CA.
    await assert.rejects(handshake(webhookPort, ca, "elsewhere.example.com"), /altnames|Hostname/);
    await assert.rejects(
      handshake(webhookPort, plane.caCertificatePem, `${service}.${namespace}.svc`),
      /self.signed|unable to verify|certificate/i,
    );
    assert.doesNotMatch(log, /forbidden/i, "the generated RBAC is enough");
  } finally {
    operon.kill("SIGTERM");
  }
  assert.equal(await exited, 0, `operon run exits 0 on SIGTERM; it said:\n${log}`);
});
