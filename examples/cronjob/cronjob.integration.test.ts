/**
 * The CronJob example end to end on the local control plane, in two parts that share its CRD.
 *
 * Webhooks, as a user tries them: `operon run examples/cronjob/cronjob.ts --install-webhooks`,
 * then `kubectl` on both versions (conversion, defaulting, validation).
 *
 * The schedule, with a clock the test moves (`runOperator`'s `now`): runs start at their
 * scheduled time through the requeue `sync` asks for, the status follows the Jobs, the history is
 * kept to its limits and a deleted Job takes its Pods with it; Forbid, Replace, Allow and suspend
 * behave as the tutorial says.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { CustomResourceDefinition, Job, KubeClient, Pod } from "kube-operon";
import {
  type ControlPlane,
  eventually,
  installCustomResources,
  type OperatorHarness,
  runOperator,
  simulatePod,
  testControlPlane,
} from "kube-operon/testkit";
import { parse } from "yaml";
import { Kubectl } from "../../src/manifests/testdata/kubectl.ts";
import { freePorts } from "../../src/testkit/ports.ts";
import cronJobOperator, { CronJob } from "./cronjob.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const cli = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const group = "batch.tutorial.kubebuilder.io";

let plane: ControlPlane;
let client: KubeClient;
let kubectl: Kubectl;

before(async () => {
  plane = await testControlPlane();
  client = await KubeClient.fromKubeConfig({ kubeconfig: plane.kubeconfigPath });
  kubectl = await Kubectl.create(plane.kubeconfigPath);
  await installCustomResources(client, [CronJob]);
});

after(async () => {
  await kubectl?.run(["delete", "crd", `cronjobs.${group}`, "--ignore-not-found", "--wait=false"]);
  await kubectl?.dispose();
  await client?.close();
});

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

const minute = 60_000;
/** How long before a scheduled time the test sets the clock: the requeue covers the rest. */
const leadMs = 3_000;

/**
 * The operator's clock: the real one moved forward by an offset the test sets, so that a
 * scheduled time is always a few seconds away.
 */
function testClock() {
  let offsetMs = 0;
  return {
    now: () => new Date(Date.now() + offsetMs),
    /** Moves the clock to `leadMs` before `time` (ms since the epoch). */
    aimAt(time: number) {
      offsetMs = time - leadMs - Date.now();
    },
  };
}

/**
 * The next whole minute, at least 10 s away in real time (so that no scheduled time falls
 * between the CronJob's creation and the clock the test sets).
 */
async function nextMinute(): Promise<number> {
  while (Date.now() % minute > minute - 12_000) {
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return Math.ceil(Date.now() / minute) * minute;
}

const jobName = (name: string, time: number) => `${name}-${time / 1000}`;

async function jobNames(namespace: string): Promise<string[]> {
  const jobs = await client.list(Job, { namespace });
  return jobs.items.map((job) => job.metadata.name!).sort();
}

async function podsOf(namespace: string, job: string) {
  return (await client.list(Pod, { namespace, labelSelector: `job-name=${job}` })).items;
}

/** Patches the spec and waits for the sync that follows (so the operator has seen it). */
async function patchSpec(
  harness: OperatorHarness,
  namespace: string,
  name: string,
  spec: Partial<CronJob["spec"]>,
) {
  const key = `${namespace}/${name}`;
  const seen = harness.outcomes(key).length;
  await client.patch(CronJob, name, { spec }, { namespace });
  await eventually(() =>
    harness
      .outcomes(key)
      .slice(seen)
      .some((outcome) => outcome.phase === "sync" && outcome.reasons.includes("parent-changed")),
  );
}

/** Waits for a sync that ran at or after `time` on the operator's clock, and returns it. */
function syncedAt(harness: OperatorHarness, key: string, time: number) {
  return eventually(
    () =>
      harness
        .outcomes(key)
        .find(
          (outcome) =>
            outcome.phase === "sync" &&
            outcome.call?.outcome === "returned" &&
            Date.parse(outcome.startedAt) >= time,
        ),
    { message: `a sync at ${new Date(time).toISOString()}` },
  );
}

const template = (annotations: Record<string, string>) => ({
  spec: {
    backoffLimit: 0,
    template: {
      metadata: { annotations },
      spec: {
        restartPolicy: "Never" as const,
        containers: [{ name: "hello", image: "busybox:1.36", args: ["echo", "hello"] }],
      },
    },
  },
});

describe("webhooks: operon run --install-webhooks, kubectl on both versions", () => {
  before(async () => {
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
    const stoppedCleanly = operon?.exitCode === 0;
    if (operon && operon.exitCode === null) {
      operon.kill("SIGKILL");
      await exited;
    }
    // Should a test fail before SIGTERM, leave no webhook or conversion pointing at a dead
    // process: the schedule tests below use the same CRD.
    await kubectl?.run([
      "delete",
      "validatingwebhookconfiguration,mutatingwebhookconfiguration",
      "cronjob",
      "--ignore-not-found",
    ]);
    if (!stoppedCleanly) {
      await client.patch(CustomResourceDefinition, `cronjobs.${group}`, [
        { op: "replace", path: "/spec/conversion", value: { strategy: "None" } },
      ]);
    }
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
      list.items.map(
        (item: { metadata: { name: string }; spec: { schedule: { hour: string } } }) => [
          item.metadata.name,
          item.spec.schedule.hour,
        ],
      ),
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
});

describe("the schedule, with a clock the test moves", () => {
  test("runs start at their scheduled time by requeue; history limits delete old Jobs and their Pods", async () => {
    const plane = await testControlPlane();
    const namespace = await plane.createNamespace("cronjob");
    const clock = testClock();
    const first = await nextMinute();
    clock.aimAt(first);
    const harness = await runOperator(cronJobOperator, { plane, namespace, now: clock.now });
    const key = `${namespace}/hello`;
    try {
      await client.create(CronJob, {
        metadata: { name: "hello", namespace },
        spec: {
          schedule: "* * * * *",
          concurrencyPolicy: "Allow",
          suspend: false,
          successfulJobsHistoryLimit: 2,
          failedJobsHistoryLimit: 1,
          // Each run's Pod runs for 5 s, then succeeds.
          jobTemplate: template(simulatePod("succeed", { after: "5s" })),
        },
      });
      const runs = [first, first + minute, first + 2 * minute];
      for (const [index, time] of runs.entries()) {
        if (index > 0) {
          clock.aimAt(time);
          harness.enqueue(key); // sync now, at the new time: nothing is due yet
        }
        const name = jobName("hello", time);
        const creation = await eventually(
          () =>
            harness
              .outcomes(key)
              .find((outcome) => outcome.children?.created.includes(`Job ${namespace}/${name}`)),
          { message: `Job ${name} created` },
        );
        assert.ok(creation.reasons.includes("requeue"), "started by the requeue at its time");
        const lateMs = Date.parse(creation.startedAt) - time;
        assert.ok(lateMs >= 0 && lateMs < 5_000, `started ${lateMs} ms after its scheduled time`);
        const running = await eventually(async () => {
          const status = (await client.get(CronJob, "hello", { namespace })).status;
          return status?.active?.some((job) => job.name === name) ? status : undefined;
        });
        assert.equal(running.lastScheduleTime, new Date(time).toISOString().replace(".000", ""));
        await eventually(
          async () =>
            (await client.get(CronJob, "hello", { namespace })).status?.active?.length === 0,
          { message: `Job ${name} finished and left status.active` },
        );
      }

      // Three successful runs and a limit of two: the first Job is deleted, and its Pod with it.
      const [oldest, ...kept] = runs.map((time) => jobName("hello", time));
      await eventually(async () => (await jobNames(namespace)).join() === kept.join(), {
        message: `only ${kept.join(", ")} remain`,
      });
      await eventually(async () => (await podsOf(namespace, oldest!)).length === 0, {
        message: "the deleted Job's Pod is gone",
      });
      assert.equal((await podsOf(namespace, kept[0]!)).length, 1, "kept Jobs keep their Pods");
      assert.deepEqual(harness.errors(key), []);
      assert.ok(harness.outcomes(key).every((outcome) => outcome.churn === undefined));
    } finally {
      await harness.stop();
    }
  });

  test("Forbid waits for the active run, Replace deletes it with its Pods, Allow runs both, suspend starts nothing", async () => {
    const plane = await testControlPlane();
    const namespace = await plane.createNamespace("cronjob");
    const clock = testClock();
    const first = await nextMinute();
    clock.aimAt(first);
    const harness = await runOperator(cronJobOperator, { plane, namespace, now: clock.now });
    const key = `${namespace}/busy`;
    const job = (time: number) => jobName("busy", time);
    const set = (spec: Partial<CronJob["spec"]>) => patchSpec(harness, namespace, "busy", spec);
    try {
      await client.create(CronJob, {
        metadata: { name: "busy", namespace },
        spec: {
          schedule: "* * * * *",
          concurrencyPolicy: "Forbid",
          suspend: false,
          successfulJobsHistoryLimit: 3,
          failedJobsHistoryLimit: 1,
          // Runs that never finish.
          jobTemplate: template(simulatePod("ready")),
        },
      });
      await eventually(() => client.get(Job, job(first), { namespace }));
      await eventually(async () => (await podsOf(namespace, job(first))).length === 1);

      // Forbid: the next time comes while the first run is active; nothing starts.
      clock.aimAt(first + minute);
      harness.enqueue(key);
      await syncedAt(harness, key, first + minute);
      assert.deepEqual(await jobNames(namespace), [job(first)]);

      // Replace: the run due since then replaces the active one, whose Pod goes with it.
      await set({ concurrencyPolicy: "Replace" });
      await eventually(async () => (await jobNames(namespace)).join() === job(first + minute), {
        message: "the active Job is replaced",
      });
      await eventually(async () => (await podsOf(namespace, job(first))).length === 0, {
        message: "the replaced Job's Pod is gone",
      });

      // Allow: the next run starts beside the active one.
      await set({ concurrencyPolicy: "Allow" });
      clock.aimAt(first + 2 * minute);
      harness.enqueue(key);
      const both = [job(first + minute), job(first + 2 * minute)];
      await eventually(async () => (await jobNames(namespace)).join() === both.join());
      await eventually(async () => {
        const active = (await client.get(CronJob, "busy", { namespace })).status?.active ?? [];
        return (
          active
            .map((ref) => ref.name)
            .sort()
            .join() === both.join()
        );
      });

      // Suspended: a due time passes and nothing starts; resumed, the missed run starts.
      await set({ suspend: true });
      clock.aimAt(first + 3 * minute + leadMs + 1_000);
      harness.enqueue(key);
      await syncedAt(harness, key, first + 3 * minute);
      assert.deepEqual(await jobNames(namespace), both);
      await set({ suspend: false });
      await eventually(() => client.get(Job, job(first + 3 * minute), { namespace }), {
        message: "the missed run starts when resumed",
      });
      assert.deepEqual(harness.errors(key), []);
    } finally {
      await harness.stop();
    }
  });
});
