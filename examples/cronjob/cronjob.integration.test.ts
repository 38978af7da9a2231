/**
 * The CronJob example end to end, as a user tries it: the CRD installed, `operon run
 * examples/cronjob/cronjob.ts --install-webhooks`, then `kubectl` on both versions. Its kind is
 * this test's alone, so the shared control plane is used.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { CustomResourceDefinition, KubeClient } from "kube-operon";
import {
  type ControlPlane,
  eventually,
  installCustomResources,
  testControlPlane,
} from "kube-operon/testkit";
import { parse } from "yaml";
import { Kubectl } from "../../src/manifests/testdata/kubectl.ts";
import { freePorts } from "../../src/testkit/ports.ts";
import { CronJob } from "./cronjob.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const cli = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const group = "batch.tutorial.kubebuilder.io";

let plane: ControlPlane;
let client: KubeClient;
let kubectl: Kubectl;
let namespace: string;
let operon: ChildProcess | undefined;
let exited: Promise<number | null>;
let log = "";

interface Sample {
  metadata: { name: string; namespace?: string };
  spec: Record<string, unknown>;
}

async function sample(file: string, changes: (object: Sample) => void = () => {}) {
  const object = parse(
    await readFile(new URL(`./samples/${file}`, import.meta.url), "utf8"),
  ) as Sample;
  object.metadata.namespace = namespace;
  changes(object);
  return JSON.stringify(object);
}

before(async () => {
  plane = await testControlPlane();
  client = await KubeClient.fromKubeConfig({ kubeconfig: plane.kubeconfigPath });
  kubectl = await Kubectl.create(plane.kubeconfigPath);
  await installCustomResources(client, [CronJob]);
  namespace = await plane.createNamespace("cronjob");
  const [metricsPort, healthPort] = (await freePorts(2)) as [number, number];
  operon = spawn(
    process.execPath,
    [
      "--conditions=operon-source",
      cli,
      "run",
      "examples/cronjob/cronjob.ts",
      "--install-webhooks",
      `--kubeconfig=${plane.kubeconfigPath}`,
      `--metrics-bind-address=127.0.0.1:${metricsPort}`,
      `--health-probe-bind-address=127.0.0.1:${healthPort}`,
      "--webhook-bind-address=127.0.0.1:0",
      "--log-format=json",
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
  // The API server picks the webhooks up asynchronously: wait until a dry run is defaulted.
  await eventually(
    async () => {
      const probe = await kubectl.run(
        ["apply", "--dry-run=server", "-o", "json", "-f", "-"],
        await sample("cronjob-v1.yaml", (object) => {
          object.metadata.name = "probe";
        }),
      );
      return probe.code === 0 && probe.stdout.includes('"concurrencyPolicy": "Allow"');
    },
    { message: `the API server calls the webhooks; operon run said:\n${log}` },
  );
});

after(async () => {
  if (operon && operon.exitCode === null) operon.kill("SIGKILL");
  // Should the test fail before SIGTERM, leave no conversion pointing at a dead process.
  await kubectl?.run(["delete", "crd", `cronjobs.${group}`, "--ignore-not-found", "--wait=false"]);
  await kubectl?.run([
    "delete",
    "validatingwebhookconfiguration,mutatingwebhookconfiguration",
    "cronjob",
    "--ignore-not-found",
  ]);
  await kubectl?.dispose();
  await client?.close();
});

test("a CronJob created as v1 reads back as v2, converted field by field, with the defaults set", async () => {
  await kubectl.ok(["apply", "-f", "-"], await sample("cronjob-v1.yaml"));
  const v2 = JSON.parse(
    await kubectl.ok([
      "get",
      `cronjobs.v2.${group}`,
      "every-five-minutes",
      "-n",
      namespace,
      "-o",
      "json",
    ]),
  );
  assert.equal(v2.apiVersion, `${group}/v2`);
  assert.deepEqual(v2.spec.schedule, {
    minute: "*/5",
    hour: "*",
    dayOfMonth: "*",
    month: "*",
    dayOfWeek: "*",
  });
  assert.equal(v2.spec.concurrencyPolicy, "Allow");
  assert.equal(v2.spec.successfulJobsHistoryLimit, 3);
  const v1 = JSON.parse(
    await kubectl.ok([
      "get",
      `cronjobs.v1.${group}`,
      "every-five-minutes",
      "-n",
      namespace,
      "-o",
      "json",
    ]),
  );
  assert.equal(v1.spec.schedule, "*/5 * * * *");
  assert.equal(v1.metadata.uid, v2.metadata.uid);
});

test("a CronJob created as v2 reads back as v1, and lists of both versions convert", async () => {
  await kubectl.ok(["apply", "-f", "-"], await sample("cronjob-v2.yaml"));
  const v1 = JSON.parse(
    await kubectl.ok(["get", `cronjobs.v1.${group}`, "nightly", "-n", namespace, "-o", "json"]),
  );
  assert.equal(v1.apiVersion, `${group}/v1`);
  assert.equal(v1.spec.schedule, "0 3 * * *");
  const table = await kubectl.ok(["get", `cronjobs.v1.${group}`, "-n", namespace]);
  assert.match(table, /nightly\s+0 3 \* \* \*/);
  const list = JSON.parse(
    await kubectl.ok(["get", `cronjobs.v2.${group}`, "-n", namespace, "-o", "json"]),
  );
  assert.deepEqual(
    list.items.map((item: { metadata: { name: string }; spec: { schedule: { hour: string } } }) => [
      item.metadata.name,
      item.spec.schedule.hour,
    ]),
    [
      ["every-five-minutes", "*"],
      ["nightly", "3"],
    ],
  );
});

test("a conversion that throws is reported by the API server with its message", async () => {
  const failed = await kubectl.run(
    ["apply", "-f", "-"],
    await sample("cronjob-v2.yaml", (object) => {
      object.metadata.name = "spaced";
      object.spec.schedule = { minute: "0 5" };
    }),
  );
  assert.notEqual(failed.code, 0);
  assert.match(
    failed.stderr,
    /conversion webhook for batch\.tutorial\.kubebuilder\.io\/v2, Kind=CronJob failed: .*converting CronJob .*spaced from v2 to v1: schedule field "0 5" holds a space, which a v1 schedule cannot/,
  );
});

test("the validating webhook refuses what Jobs cannot be named after, and a schedule cron cannot read", async () => {
  const failed = await kubectl.run(
    ["apply", "-f", "-"],
    await sample("cronjob-v1.yaml", (object) => {
      object.metadata.name = "x".repeat(53);
      object.spec.schedule = "every day";
    }),
  );
  assert.notEqual(failed.code, 0);
  assert.match(
    failed.stderr,
    /denied the request: CronJob x+ is invalid: metadata\.name: must be no more than 52 characters, spec\.schedule: schedule "every day" is not a cron expression/,
  );
});

test("on SIGTERM the CRD converts as it did before and the configurations are gone", async () => {
  operon!.kill("SIGTERM");
  assert.equal(await exited, 0, `operon run said:\n${log}`);
  const crd = await client.get(CustomResourceDefinition, `cronjobs.${group}`);
  assert.deepEqual(crd.spec.conversion, { strategy: "None" });
  for (const kind of ["validatingwebhookconfiguration", "mutatingwebhookconfiguration"]) {
    const gone = await kubectl.run(["get", kind, "cronjob"]);
    assert.match(gone.stderr, /NotFound/);
  }
});
