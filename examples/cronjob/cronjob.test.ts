/** The CronJob example without a server: its schedule, its conversion, its sync at chosen times. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Job } from "kube-operon";
import { callSync } from "kube-operon/testkit";
import { nextTime, splitSchedule } from "./cron.ts";
import cronJobOperator, {
  type CronJob,
  cronJobConversion,
  scheduledAtAnnotation,
} from "./cronjob.ts";

test("schedules: steps, ranges, lists, and the day fields joined by or, in UTC", () => {
  const next = (schedule: string, after: string) =>
    nextTime(schedule, "", new Date(after)).toISOString();
  assert.equal(next("*/5 * * * *", "2026-01-01T00:03:30Z"), "2026-01-01T00:05:00.000Z");
  assert.equal(next("0 3 * * *", "2026-01-01T03:00:00Z"), "2026-01-02T03:00:00.000Z");
  assert.equal(next("30 9-17/4 * * 1-5", "2026-01-02T18:00:00Z"), "2026-01-05T09:30:00.000Z");
  assert.equal(next("0 0 1,15 * *", "2026-02-02T00:00:00Z"), "2026-02-15T00:00:00.000Z");
  assert.equal(next("0 0 13 * 5", "2026-02-01T00:00:00Z"), "2026-02-06T00:00:00.000Z");
  assert.equal(next("0 0 * * 7", "2026-01-01T00:00:00Z"), "2026-01-04T00:00:00.000Z");
  assert.throws(() => next("* * *", "2026-01-01T00:00:00Z"), /expected 5 fields/);
  assert.throws(() => next("*/5 * * * * *", "2026-01-01T00:00:00Z"), /expected 5 fields/);
  assert.throws(
    () => next("61 * * * *", "2026-01-01T00:00:00Z"),
    /"61 \* \* \* \*" is not a cron expression: .*61/,
  );
  assert.throws(() => next("a * * * *", "2026-01-01T00:00:00Z"), /is not a cron expression/);
  assert.throws(() => next("0 0 30 2 *", "2026-01-01T00:00:00Z"), /is not a cron expression/);
});

const v1 = (schedule: string): CronJob => ({
  apiVersion: "batch.tutorial.kubebuilder.io/v1",
  kind: "CronJob",
  metadata: { name: "nightly", namespace: "jobs", creationTimestamp: "2026-01-01T00:00:00Z" },
  spec: {
    schedule,
    jobTemplate: {
      spec: { template: { spec: { containers: [{ name: "c", image: "busybox" }] } } },
    },
  },
});

test("the conversion moves the schedule between a string and fields, and refuses what v1 cannot hold", () => {
  const v2 = cronJobConversion.convert(v1("0 3 * * 1"), "v2") as unknown as {
    spec: { schedule: unknown };
  };
  assert.deepEqual(v2.spec.schedule, splitSchedule("0 3 * * 1"));
  const back = cronJobConversion.convert(
    { ...v2, apiVersion: "batch.tutorial.kubebuilder.io/v2" } as never,
    "v1",
  ) as CronJob;
  assert.equal(back.spec.schedule, "0 3 * * 1");
  const partial = cronJobConversion.convert(
    {
      ...v1("x"),
      apiVersion: "batch.tutorial.kubebuilder.io/v2",
      spec: { ...v1("x").spec, schedule: { minute: "0", hour: "3" } },
    } as never,
    "v1",
  ) as CronJob;
  assert.equal(partial.spec.schedule, "0 3 * * *");
  assert.throws(
    () =>
      cronJobConversion.convert(
        {
          ...v1("x"),
          apiVersion: "batch.tutorial.kubebuilder.io/v2",
          spec: { ...v1("x").spec, schedule: { minute: "0 5" } },
        } as never,
        "v1",
      ),
    /schedule field "0 5" holds a space/,
  );
  assert.throws(() => cronJobConversion.convert(v1("@daily"), "v2"), /expected 5 fields/);
});

const created = "2030-01-01T00:00:30Z";
const at = (time: string) => new Date(`2030-01-01T${time}Z`);
const seconds = (time: string) => at(time).getTime() / 1000;

function cronJob(spec: Partial<CronJob["spec"]> = {}, status?: CronJob["status"]): CronJob {
  return {
    apiVersion: "batch.tutorial.kubebuilder.io/v1",
    kind: "CronJob",
    metadata: { name: "report", namespace: "default", uid: "u-1", creationTimestamp: created },
    spec: {
      schedule: "*/5 * * * *",
      concurrencyPolicy: "Allow",
      suspend: false,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
      jobTemplate: {
        metadata: { labels: { team: "a" } },
        spec: {
          template: {
            spec: { restartPolicy: "OnFailure", containers: [{ name: "r", image: "report:1" }] },
          },
        },
      },
      ...spec,
    },
    ...(status ? { status } : {}),
  };
}

/** A Job of the run scheduled at `time`, finished as asked. */
function run(time: string, state: "active" | "Complete" | "Failed" = "Complete"): Job {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: `report-${seconds(time)}`,
      namespace: "default",
      uid: `job-${time}`,
      annotations: { [scheduledAtAnnotation]: at(time).toISOString().replace(".000", "") },
    },
    spec: { template: { spec: { containers: [{ name: "r", image: "report:1" }] } } },
    status:
      state === "active"
        ? { active: 1 }
        : {
            conditions: [{ type: state, status: "True" }],
            ...(state === "Complete" ? { succeeded: 1 } : { failed: 1 }),
          },
  };
}

const names = (result: { children?: { metadata: { name: string } }[] }) =>
  (result.children ?? []).map((job) => job.metadata.name).sort();

describe("the schedule", () => {
  test("nothing is due before the first scheduled time: requeue at it", async () => {
    const result = await callSync(cronJobOperator, { parent: cronJob(), now: at("00:03:00") });
    assert.deepEqual(result.children, []);
    assert.equal(result.requeueAfterMs, 2 * 60_000);
    assert.equal(result.status?.lastScheduleTime, undefined);
  });

  test("a due run becomes a Job named after its time, from the template", async () => {
    const result = await callSync(cronJobOperator, { parent: cronJob(), now: at("00:05:02") });
    assert.deepEqual(names(result), [`report-${seconds("00:05:00")}`]);
    const job = result.children![0]!;
    assert.equal(job.metadata.annotations?.[scheduledAtAnnotation], "2030-01-01T00:05:00Z");
    assert.deepEqual(job.metadata.labels, { team: "a" });
    assert.equal(job.spec?.template.spec?.containers[0]?.image, "report:1");
    assert.equal(result.status?.lastScheduleTime, "2030-01-01T00:05:00Z");
    assert.deepEqual(result.status?.active, [], "listed once it exists");
    assert.equal(result.requeueAfterMs, 5 * 60_000 - 2_000, "requeued at 00:10:00");
  });

  test("the same time gives the same result: no new run after the last one", async () => {
    const parent = cronJob({}, { lastScheduleTime: "2030-01-01T00:05:00Z" });
    const result = await callSync(cronJobOperator, {
      parent,
      children: { jobs: [run("00:05:00", "active")] },
      now: at("00:07:00"),
    });
    assert.deepEqual(names(result), [`report-${seconds("00:05:00")}`]);
    assert.deepEqual(result.status?.active, [
      {
        apiVersion: "batch/v1",
        kind: "Job",
        name: `report-${seconds("00:05:00")}`,
        namespace: "default",
        uid: "job-00:05:00",
      },
    ]);
    assert.equal(result.requeueAfterMs, 3 * 60_000);
  });

  test("after missed runs only the latest starts", async () => {
    const parent = cronJob({}, { lastScheduleTime: "2030-01-01T00:05:00Z" });
    const result = await callSync(cronJobOperator, { parent, now: at("01:02:00") });
    assert.deepEqual(names(result), [`report-${seconds("01:00:00")}`]);
    assert.equal(result.status?.lastScheduleTime, "2030-01-01T01:00:00Z");
  });

  test("startingDeadlineSeconds: a run later than the deadline is skipped", async () => {
    const late = await callSync(cronJobOperator, {
      parent: cronJob({ startingDeadlineSeconds: 60 }),
      now: at("00:07:00"),
    });
    assert.deepEqual(late.children, []);
    assert.equal(late.status?.lastScheduleTime, undefined);
    assert.equal(late.requeueAfterMs, 3 * 60_000);
    const inTime = await callSync(cronJobOperator, {
      parent: cronJob({ startingDeadlineSeconds: 180 }),
      now: at("00:07:00"),
    });
    assert.deepEqual(names(inTime), [`report-${seconds("00:05:00")}`]);
  });

  test("the last run is read from the Jobs when the status does not have it yet", async () => {
    const result = await callSync(cronJobOperator, {
      parent: cronJob(),
      children: { jobs: [run("00:05:00")] },
      now: at("00:06:00"),
    });
    assert.deepEqual(names(result), [`report-${seconds("00:05:00")}`], "no second run for 00:05");
    assert.equal(result.status?.lastScheduleTime, "2030-01-01T00:05:00Z");
  });

  test("H is read the same way on every call; a schedule cron cannot read fails the sync", async () => {
    const hashed = () =>
      callSync(cronJobOperator, {
        parent: cronJob({ schedule: "H * * * *" }),
        now: at("00:00:40"),
      });
    assert.equal((await hashed()).requeueAfterMs, (await hashed()).requeueAfterMs, "H is stable");
    await assert.rejects(
      callSync(cronJobOperator, { parent: cronJob({ schedule: "@hourly" }), now: at("00:01:00") }),
      /expected 5 fields/,
    );
  });

  test("without the defaulting webhook, the tutorial's defaults apply", async () => {
    const parent = cronJob({}, { lastScheduleTime: "2030-01-01T00:05:00Z" });
    for (const field of [
      "concurrencyPolicy",
      "suspend",
      "successfulJobsHistoryLimit",
      "failedJobsHistoryLimit",
    ] as const) {
      delete parent.spec[field];
    }
    const jobs = [
      run("00:05:00"),
      run("00:10:00"),
      run("00:15:00"),
      run("00:20:00"),
      run("00:25:00", "active"),
    ];
    const result = await callSync(cronJobOperator, {
      parent,
      children: { jobs },
      now: at("00:30:01"),
    });
    assert.deepEqual(
      names(result),
      ["00:10:00", "00:15:00", "00:20:00", "00:25:00", "00:30:00"].map(
        (time) => `report-${seconds(time)}`,
      ),
      "Allow, not suspended, the newest 3 successful Jobs kept",
    );
  });
});

describe("concurrencyPolicy and suspend", () => {
  const parent = (spec: Partial<CronJob["spec"]>) =>
    cronJob(spec, { lastScheduleTime: "2030-01-01T00:05:00Z" });
  const children = { jobs: [run("00:05:00", "active")] };
  const now = at("00:10:01");

  test("Allow: the new run starts beside the active one", async () => {
    const result = await callSync(cronJobOperator, { parent: parent({}), children, now });
    assert.deepEqual(names(result), [
      `report-${seconds("00:05:00")}`,
      `report-${seconds("00:10:00")}`,
    ]);
    assert.equal(result.status?.active?.length, 1);
  });

  test("Forbid: no new run while one is active; it starts once the active one finished", async () => {
    const blocked = await callSync(cronJobOperator, {
      parent: parent({ concurrencyPolicy: "Forbid" }),
      children,
      now,
    });
    assert.deepEqual(names(blocked), [`report-${seconds("00:05:00")}`]);
    assert.equal(blocked.status?.lastScheduleTime, "2030-01-01T00:05:00Z");
    const later = await callSync(cronJobOperator, {
      parent: parent({ concurrencyPolicy: "Forbid" }),
      children: { jobs: [run("00:05:00", "Complete")] },
      now: at("00:11:00"),
    });
    assert.deepEqual(names(later), [
      `report-${seconds("00:05:00")}`,
      `report-${seconds("00:10:00")}`,
    ]);
  });

  test("Replace: the active run is no longer returned (so deleted) and the new one starts", async () => {
    const result = await callSync(cronJobOperator, {
      parent: parent({ concurrencyPolicy: "Replace" }),
      children,
      now,
    });
    assert.deepEqual(names(result), [`report-${seconds("00:10:00")}`]);
    assert.deepEqual(result.status?.active, []);
  });

  test("suspend: no run and no requeue; the Jobs that exist are kept", async () => {
    const result = await callSync(cronJobOperator, {
      parent: parent({ suspend: true }),
      children,
      now,
    });
    assert.deepEqual(names(result), [`report-${seconds("00:05:00")}`]);
    assert.equal(result.requeueAfterMs, undefined);
    assert.equal(result.status?.lastScheduleTime, "2030-01-01T00:05:00Z");
  });
});

test("history limits keep the newest finished Jobs; the others are no longer returned", async () => {
  const jobs = [
    run("00:05:00"),
    run("00:10:00", "Failed"),
    run("00:15:00"),
    run("00:20:00", "Failed"),
    run("00:25:00"),
    run("00:30:00", "active"),
  ];
  const result = await callSync(cronJobOperator, {
    parent: cronJob(
      { successfulJobsHistoryLimit: 2, failedJobsHistoryLimit: 1 },
      { lastScheduleTime: "2030-01-01T00:30:00Z" },
    ),
    children: { jobs },
    now: at("00:31:00"),
  });
  assert.deepEqual(
    names(result),
    ["00:15:00", "00:20:00", "00:25:00", "00:30:00"].map((time) => `report-${seconds(time)}`),
  );
  const none = await callSync(cronJobOperator, {
    parent: cronJob(
      { successfulJobsHistoryLimit: 0, failedJobsHistoryLimit: 0 },
      { lastScheduleTime: "2030-01-01T00:30:00Z" },
    ),
    children: { jobs },
    now: at("00:31:00"),
  });
  assert.deepEqual(names(none), [`report-${seconds("00:30:00")}`]);
  assert.equal(none.status?.lastScheduleTime, "2030-01-01T00:30:00Z", "kept past the history");
});
