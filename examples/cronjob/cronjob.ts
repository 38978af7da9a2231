/**
 * CronJob, after Kubebuilder's tutorial: Jobs from a template on a cron schedule, and the API's
 * move from v1 (`schedule: "*\/5 * * * *"`) to v2 (a structured schedule), with a conversion
 * webhook between them, a defaulting webhook and a validating webhook.
 *
 * Objects are stored as v1, the hub: v2 converts to and from it. Either version can be created
 * and read (`kubectl get cronjobs.v2.batch.tutorial.kubebuilder.io`).
 */
import {
  child,
  type Desired,
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
import { CronSchedule, splitSchedule } from "./cron.ts";

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
  successfulJobsHistoryLimit: Type.Optional(Type.Integer({ minimum: 0 })),
  failedJobsHistoryLimit: Type.Optional(Type.Integer({ minimum: 0 })),
};

const status = K8s.Status({
  active: Type.Optional(Type.Array(Type.String(), { description: "Jobs running now." })),
  lastScheduleTime: Type.Optional(K8s.DateTime()),
});

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
      printerColumns: [{ name: "Schedule", type: "string", jsonPath: ".spec.schedule" }],
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
    // Job names are `<name>-<minutes>` and must fit a 63-character label.
    if ((object.metadata.name ?? "").length > 52) {
      causes.push({ field: "metadata.name", message: "must be no more than 52 characters" });
    }
    try {
      CronSchedule.parse(object.spec.schedule);
    } catch (error) {
      causes.push({ field: "spec.schedule", message: (error as Error).message });
    }
    if (causes.length > 0) {
      return { allowed: false, reason: `CronJob ${object.metadata.name} is invalid`, causes };
    }
  },
});

/** When a Job was scheduled to run. */
export const scheduledAtAnnotation = "batch.tutorial.kubebuilder.io/scheduled-at";

function finished(job: Job): "Complete" | "Failed" | undefined {
  const done = job.status?.conditions?.find(
    (condition) =>
      (condition.type === "Complete" || condition.type === "Failed") && condition.status === "True",
  );
  return done?.type as "Complete" | "Failed" | undefined;
}

const scheduledAt = (job: Job) =>
  Date.parse(job.metadata.annotations?.[scheduledAtAnnotation] ?? "");

export default defineOperator({
  name: "cronjob",
  parent: CronJob,
  children: { jobs: child(Job, { strategy: "onDelete" }) },
  sync({ parent, children }) {
    const now = new Date();
    const { spec } = parent;
    const schedule = CronSchedule.parse(spec.schedule);
    const jobs = [...children.jobs.list()].sort((a, b) => scheduledAt(b) - scheduledAt(a));

    // The latest run due since the last one (or the creation), within the starting deadline.
    const since = parent.status?.lastScheduleTime ?? parent.metadata.creationTimestamp ?? now;
    let due: Date | undefined;
    let next = schedule.next(new Date(since));
    for (let missed = 0; next && next <= now && missed < 100; missed++) {
      due = next;
      next = schedule.next(next);
    }
    const deadline = spec.startingDeadlineSeconds;
    if (due && deadline !== undefined && now.getTime() - due.getTime() > deadline * 1000) {
      due = undefined;
    }

    const active = jobs.filter((job) => !finished(job));
    const policy = spec.concurrencyPolicy ?? "Allow";
    const start = due && !spec.suspend && !(policy === "Forbid" && active.length > 0);
    const kept = [
      ...(start && policy === "Replace" ? [] : active),
      ...jobs
        .filter((job) => finished(job) === "Complete")
        .slice(0, spec.successfulJobsHistoryLimit ?? 3),
      ...jobs
        .filter((job) => finished(job) === "Failed")
        .slice(0, spec.failedJobsHistoryLimit ?? 1),
    ];
    const jobsToKeep: Desired<Job>[] = kept.map((job) =>
      desired(Job, {
        metadata: { name: job.metadata.name!, annotations: { ...job.metadata.annotations } },
        ...(job.spec ? { spec: job.spec } : {}),
      }),
    );
    const running = start && policy === "Replace" ? [] : active.map((job) => job.metadata.name!);
    if (start && due) {
      const template = spec.jobTemplate;
      const name = `${parent.metadata.name}-${Math.floor(due.getTime() / 60_000)}`;
      jobsToKeep.push(
        desired(Job, {
          metadata: {
            name,
            labels: { ...template.metadata?.labels },
            annotations: {
              ...template.metadata?.annotations,
              [scheduledAtAnnotation]: due.toISOString(),
            },
          },
          ...(template.spec ? { spec: template.spec } : {}),
        }),
      );
      running.push(name);
    }
    const lastScheduleTime = start && due ? due.toISOString() : parent.status?.lastScheduleTime;
    return {
      status: { active: running, ...(lastScheduleTime ? { lastScheduleTime } : {}) },
      children: jobsToKeep,
      ...(next ? { requeueAfterMs: Math.max(next.getTime() - now.getTime(), 1_000) } : {}),
    };
  },
});
