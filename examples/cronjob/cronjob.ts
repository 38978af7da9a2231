/**
 * CronJob, after the Kubebuilder book's tutorial: a Job from a template at each time of a cron
 * schedule, and the API's move from v1 (`schedule: "*\/5 * * * *"`) to v2 (a structured
 * schedule), with a conversion webhook between them, a defaulting webhook and a validating
 * webhook.
 *
 * A run starts when it is due and not later than `startingDeadlineSeconds`, unless the CronJob
 * is suspended or its `concurrencyPolicy` says otherwise (`Forbid`: not while a run is active;
 * `Replace`: the active runs are deleted first). Finished Jobs are kept up to the history
 * limits. The status lists the active Jobs and the time of the last run; `sync` asks to be
 * called again at the next scheduled time.
 *
 * Where the tutorial lists, deletes and creates Jobs itself, `sync` returns the Jobs that should
 * exist: a Job it stops returning (old history, a replaced run) is deleted by Operon with
 * background propagation, so its Pods go too. The time comes from `request.now`, so tests choose
 * it. Schedules are read by the `cron-parser` package, in UTC (`cron.ts`).
 *
 * Objects are stored as v1, the hub: v2 converts to and from it. Either version can be created
 * and read (`kubectl get cronjobs.v2.batch.tutorial.kubebuilder.io`).
 */
import {
  child,
  defineConversion,
  defineOperator,
  defineResource,
  desired,
  Job,
  type JobTemplateSpec,
  K8s,
  mutatingWebhook,
  type ObjectOf,
  Type,
  validatingWebhook,
} from "kube-operon";
import { lastDueTime, nextTime, parseSchedule, splitSchedule } from "./cron.ts";

const common = {
  startingDeadlineSeconds: Type.Optional(
    Type.Integer({
      minimum: 0,
      description: "Seconds after its scheduled time a missed run may still start.",
    }),
  ),
  concurrencyPolicy: Type.Optional(
    K8s.Enum(["Allow", "Forbid", "Replace"], {
      description: "What to do when a run is due while the previous one still runs.",
    }),
  ),
  suspend: Type.Optional(Type.Boolean({ description: "Start no more runs." })),
  jobTemplate: K8s.Opaque<JobTemplateSpec>({ description: "The Job each run creates." }),
  successfulJobsHistoryLimit: Type.Optional(
    Type.Integer({ minimum: 0, description: "How many successful Jobs to keep (default 3)." }),
  ),
  failedJobsHistoryLimit: Type.Optional(
    Type.Integer({ minimum: 0, description: "How many failed Jobs to keep (default 1)." }),
  ),
};

const status = K8s.Status({
  active: Type.Optional(
    Type.Array(
      Type.Object({
        apiVersion: Type.String(),
        kind: Type.String(),
        name: Type.String(),
        namespace: Type.String(),
        uid: Type.String(),
      }),
      { description: "The Jobs running now." },
    ),
  ),
  lastScheduleTime: Type.Optional(
    K8s.DateTime({ description: "When the last run was scheduled to start." }),
  ),
});

const columns = [
  { name: "Suspend", type: "boolean", jsonPath: ".spec.suspend" },
  { name: "Last Schedule", type: "date", jsonPath: ".status.lastScheduleTime" },
] as const;

const field = (description: string) => Type.Optional(Type.String({ description }));

export const CronJob = defineResource({
  group: "batch.tutorial.kubebuilder.io",
  kind: "CronJob",
  plural: "cronjobs",
  scope: "Namespaced",
  description: "Jobs from a template, on a cron schedule.",
  versions: {
    v1: {
      storage: true,
      spec: Type.Object({
        schedule: Type.String({ description: 'The schedule in cron format, e.g. "*/5 * * * *".' }),
        ...common,
      }),
      status,
      printerColumns: [
        { name: "Schedule", type: "string", jsonPath: ".spec.schedule" },
        ...columns,
      ],
    },
    v2: {
      spec: Type.Object({
        schedule: Type.Object(
          {
            minute: field("Minutes, e.g. */5"),
            hour: field("Hours"),
            dayOfMonth: field("Days of the month"),
            month: field("Months"),
            dayOfWeek: field("Days of the week, 0 (Sunday) to 6"),
          },
          { description: "The schedule, field by field; a missing field is *." },
        ),
        ...common,
      }),
      status,
      printerColumns: [...columns],
    },
  },
});
export type CronJob = ObjectOf<typeof CronJob>;

/** v2 converts to and from v1, the storage version, field by field. */
export const cronJobConversion = defineConversion(CronJob, {
  hub: "v1",
  spokes: {
    v2: {
      toHub: ({ spec, status }) => {
        const fields = [
          spec.schedule.minute,
          spec.schedule.hour,
          spec.schedule.dayOfMonth,
          spec.schedule.month,
          spec.schedule.dayOfWeek,
        ].map((value) => value ?? "*");
        const spaced = fields.find((value) => /\s/.test(value));
        if (spaced !== undefined) {
          throw new Error(`schedule field "${spaced}" holds a space, which a v1 schedule cannot`);
        }
        return { spec: { ...spec, schedule: fields.join(" ") }, ...(status ? { status } : {}) };
      },
      fromHub: ({ spec, status }) => ({
        spec: { ...spec, schedule: splitSchedule(spec.schedule) },
        ...(status ? { status } : {}),
      }),
    },
  },
});

/** The tutorial's defaults, set when the API server admits a CronJob. */
export const defaultCronJob = mutatingWebhook(CronJob, {
  mutate({ object }) {
    if (!object) return;
    object.spec.concurrencyPolicy ??= "Allow";
    object.spec.suspend ??= false;
    object.spec.successfulJobsHistoryLimit ??= 3;
    object.spec.failedJobsHistoryLimit ??= 1;
  },
});

/** The tutorial's rules: a name Jobs can be named after, and a schedule cron can read. */
export const validateCronJob = validatingWebhook(CronJob, {
  validate({ object }) {
    if (!object) return;
    const causes = [];
    // Job names are `<name>-<seconds since 1970>` and must fit a 63-character label.
    if ((object.metadata.name ?? "").length > 52) {
      causes.push({ field: "metadata.name", message: "must be no more than 52 characters" });
    }
    try {
      parseSchedule(object.spec.schedule);
    } catch (error) {
      causes.push({ field: "spec.schedule", message: (error as Error).message });
    }
    if (causes.length > 0) {
      return { allowed: false, reason: `CronJob ${object.metadata.name} is invalid`, causes };
    }
  },
});

/** The annotation on each Job that says when its run was scheduled. */
export const scheduledAtAnnotation = "batch.tutorial.kubebuilder.io/scheduled-at";

/** `Complete` or `Failed` once a Job has finished, else undefined. */
function finished(job: Job): "Complete" | "Failed" | undefined {
  for (const condition of job.status?.conditions ?? []) {
    if (
      (condition.type === "Complete" || condition.type === "Failed") &&
      condition.status === "True"
    )
      return condition.type;
  }
  return undefined;
}

/** When a Job's run was scheduled (its annotation; its creation for Jobs made otherwise). */
function scheduledTime(job: Job): number {
  const at = job.metadata.annotations?.[scheduledAtAnnotation] ?? job.metadata.creationTimestamp;
  return at ? Date.parse(at) : 0;
}

/** Kubernetes' time format: RFC 3339 in seconds. */
const formatTime = (time: number) => new Date(time).toISOString().replace(/\.\d{3}Z$/, "Z");

export default defineOperator({
  name: "cronjob",
  parent: CronJob,
  children: {
    // A Job runs as it was made: never updated ("onDelete"). One no longer returned is deleted
    // with background propagation (the default), so its Pods go with it.
    jobs: child(Job, { strategy: "onDelete", propagationPolicy: "Background" }),
  },
  sync({ parent, children, now }) {
    const { spec } = parent;
    // The defaulting webhook sets these; without it (a test, a cluster without webhooks) the
    // same defaults apply here.
    const policy = spec.concurrencyPolicy ?? "Allow";
    const name = parent.metadata.name!;
    const seed = `${parent.metadata.namespace}/${name}`;
    // Newest first; Jobs already being deleted are gone as far as the schedule is concerned.
    const jobs = children.jobs
      .list()
      .filter((job) => !job.metadata.deletionTimestamp)
      .sort((a, b) => scheduledTime(b) - scheduledTime(a));
    const active = jobs.filter((job) => !finished(job));

    // The last run: the status remembers it after its Job is gone from the history.
    const recorded = parent.status?.lastScheduleTime;
    let lastRun = Math.max(recorded ? Date.parse(recorded) : 0, ...jobs.map(scheduledTime));

    // The run due now, if any: the latest scheduled time since the last run (or the creation),
    // unless it is past the starting deadline. Older missed runs are skipped, as Kubernetes does.
    let due: Date | undefined;
    if (!spec.suspend) {
      const since = new Date(lastRun || (parent.metadata.creationTimestamp ?? now.toISOString()));
      due = lastDueTime(spec.schedule, seed, since, now);
      const deadline = spec.startingDeadlineSeconds;
      if (due && deadline !== undefined && now.getTime() - due.getTime() > deadline * 1000) {
        due = undefined;
      }
      if (due && policy === "Forbid" && active.length > 0) due = undefined;
    }

    // The Jobs to keep: active ones (unless replaced), then the newest finished ones.
    const replaced = due !== undefined && policy === "Replace";
    const kept = [
      ...(replaced ? [] : active),
      ...jobs
        .filter((job) => finished(job) === "Complete")
        .slice(0, spec.successfulJobsHistoryLimit ?? 3),
      ...jobs
        .filter((job) => finished(job) === "Failed")
        .slice(0, spec.failedJobsHistoryLimit ?? 1),
    ];
    const returned = kept.map((job) => jobFor(parent, scheduledTime(job), job.metadata.name));
    if (due) {
      returned.push(jobFor(parent, due.getTime()));
      lastRun = Math.max(lastRun, due.getTime());
    }

    return {
      status: {
        // The Jobs that exist and run; a Job created now is listed once it exists.
        active: (replaced ? [] : active).map((job) => ({
          apiVersion: "batch/v1",
          kind: "Job",
          name: job.metadata.name!,
          namespace: job.metadata.namespace!,
          uid: job.metadata.uid!,
        })),
        ...(lastRun > 0 ? { lastScheduleTime: formatTime(lastRun) } : {}),
      },
      // Each Job is named after its scheduled time, so every sync returns the same Jobs.
      children: returned,
      // Look again at the next scheduled time, even if nothing changes before.
      ...(spec.suspend
        ? {}
        : { requeueAfterMs: nextTime(spec.schedule, seed, now).getTime() - now.getTime() }),
    };
  },
});

/** The Job of the run scheduled at `time` (ms since the epoch), named after that time. */
function jobFor(parent: CronJob, time: number, name?: string) {
  const { metadata, spec } = parent.spec.jobTemplate;
  return desired(Job, {
    metadata: {
      name: name ?? `${parent.metadata.name}-${Math.floor(time / 1000)}`,
      labels: { ...metadata?.labels },
      annotations: { ...metadata?.annotations, [scheduledAtAnnotation]: formatTime(time) },
    },
    spec: spec ?? { template: {} },
  });
}
