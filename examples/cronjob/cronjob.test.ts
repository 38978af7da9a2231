/** The CronJob example without a server: its schedule, its conversion, its webhooks, its sync. */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Job } from "kube-operon";
import { callSync } from "kube-operon/testkit";
import { CronSchedule, splitSchedule } from "./cron.ts";
import cronjob, { type CronJob, cronJobConversion, scheduledAtAnnotation } from "./cronjob.ts";

const at = (iso: string) => new Date(iso);

test("schedules: steps, ranges, lists, and the day fields joined by or", () => {
  const next = (schedule: string, after: string) =>
    CronSchedule.parse(schedule).next(at(after))?.toISOString();
  assert.equal(next("*/5 * * * *", "2026-01-01T00:03:30Z"), "2026-01-01T00:05:00.000Z");
  assert.equal(next("0 3 * * *", "2026-01-01T03:00:00Z"), "2026-01-02T03:00:00.000Z");
  assert.equal(next("30 9-17/4 * * 1-5", "2026-01-02T18:00:00Z"), "2026-01-05T09:30:00.000Z");
  assert.equal(next("0 0 1,15 * *", "2026-02-02T00:00:00Z"), "2026-02-15T00:00:00.000Z");
  assert.equal(next("0 0 13 * 5", "2026-02-01T00:00:00Z"), "2026-02-06T00:00:00.000Z");
  assert.equal(next("0 0 * * 7", "2026-01-01T00:00:00Z"), "2026-01-04T00:00:00.000Z");
  assert.equal(next("0 0 30 2 *", "2026-01-01T00:00:00Z"), undefined);
  assert.throws(() => CronSchedule.parse("* * *"), /expected 5 fields/);
  assert.throws(() => CronSchedule.parse("61 * * * *"), /minute "61" is out of range 0-59/);
  assert.throws(() => CronSchedule.parse("a * * * *"), /minute "a" is not a cron field/);
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
  assert.throws(() => cronJobConversion.convert(v1("daily"), "v2"), /expected 5 fields/);
});

test("sync starts the run that is due, keeps history, and asks to be called at the next one", async () => {
  const now = Date.now();
  const parent = v1("* * * * *");
  parent.metadata.creationTimestamp = new Date(now - 150_000).toISOString();
  const finished = (name: string, minutesAgo: number, type: "Complete" | "Failed"): Job => ({
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name,
      namespace: "jobs",
      annotations: { [scheduledAtAnnotation]: new Date(now - minutesAgo * 60_000).toISOString() },
    },
    status: { conditions: [{ type, status: "True" }] },
  });
  const jobs = [
    finished("ok-1", 10, "Complete"),
    finished("ok-2", 9, "Complete"),
    finished("ok-3", 8, "Complete"),
    finished("ok-4", 7, "Complete"),
    finished("bad-1", 6, "Failed"),
    finished("bad-2", 5, "Failed"),
  ];
  const result = await callSync(cronjob, { parent, children: { jobs } });
  const names = result.children?.map((child) => child.metadata.name);
  const started = names?.at(-1);
  assert.match(started ?? "", /^nightly-\d+$/);
  assert.deepEqual(names?.slice(0, -1), ["ok-4", "ok-3", "ok-2", "bad-2"], "newest 3 and 1 kept");
  assert.deepEqual(result.status?.active, [started]);
  assert.ok(result.status?.lastScheduleTime);
  assert.ok((result.requeueAfterMs ?? 0) > 0 && (result.requeueAfterMs ?? 0) <= 60_000);

  parent.spec.suspend = true;
  const suspended = await callSync(cronjob, { parent, children: { jobs } });
  assert.equal(suspended.children?.length, 4);
});
