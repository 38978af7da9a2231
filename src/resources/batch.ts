/**
 * Kinds of the `batch/v1` group: Job and CronJob.
 */
import type { ConditionStatus } from "./conditions.ts";
import type { PodTemplateSpec } from "./core.ts";
import type { LabelSelector, ObjectReference, Time } from "./meta.ts";
import { type ObjectMeta, resourceType } from "./object.ts";

/** A condition of a Job (`Complete`, `Failed`, `Suspended`, `FailureTarget`, `SuccessCriteriaMet`). */
export interface JobCondition {
  type: string;
  status: ConditionStatus;
  lastProbeTime?: Time;
  lastTransitionTime?: Time;
  reason?: string;
  message?: string;
}

/** One rule of a Job's pod failure policy. */
export interface PodFailurePolicyRule {
  action: "FailJob" | "FailIndex" | "Ignore" | "Count";
  onExitCodes?: {
    containerName?: string;
    operator: "In" | "NotIn";
    values: number[];
  };
  onPodConditions?: { type: string; status?: ConditionStatus }[];
}

/** The desired state of a Job. */
export interface JobSpec {
  parallelism?: number;
  completions?: number;
  activeDeadlineSeconds?: number;
  podFailurePolicy?: { rules: PodFailurePolicyRule[] };
  successPolicy?: { rules: { succeededIndexes?: string; succeededCount?: number }[] };
  /** Default 6. */
  backoffLimit?: number;
  backoffLimitPerIndex?: number;
  maxFailedIndexes?: number;
  selector?: LabelSelector;
  manualSelector?: boolean;
  template: PodTemplateSpec;
  ttlSecondsAfterFinished?: number;
  completionMode?: "NonIndexed" | "Indexed";
  suspend?: boolean;
  podReplacementPolicy?: "TerminatingOrFailed" | "Failed";
  managedBy?: string;
}

/** The observed state of a Job. */
export interface JobStatus {
  conditions?: JobCondition[];
  startTime?: Time;
  completionTime?: Time;
  active?: number;
  succeeded?: number;
  failed?: number;
  terminating?: number;
  ready?: number;
  completedIndexes?: string;
  failedIndexes?: string;
  uncountedTerminatedPods?: { succeeded?: string[]; failed?: string[] };
}

/**
 * A Job (`batch/v1/Job`): pods that run to completion.
 *
 * @example
 * const migrate: Job = {
 *   apiVersion: "batch/v1",
 *   kind: "Job",
 *   metadata: { name: "migrate" },
 *   spec: {
 *     backoffLimit: 2,
 *     template: { spec: { restartPolicy: "Never", containers: [{ name: "m", image: "app:1" }] } },
 *   },
 * };
 */
export type Job = {
  apiVersion: "batch/v1";
  kind: "Job";
  metadata: ObjectMeta;
  spec?: JobSpec;
  status?: JobStatus;
};
/** The `Job` kind: `batch/v1`, `jobs`, namespaced. */
export const Job = resourceType<Job>("batch/v1", "Job", "jobs", true);

/** The template of the Jobs a CronJob creates. */
export interface JobTemplateSpec {
  metadata?: ObjectMeta;
  spec?: JobSpec;
}

/** The desired state of a CronJob. */
export interface CronJobSpec {
  /** A cron expression, e.g. `"*\/5 * * * *"`. */
  schedule: string;
  timeZone?: string;
  startingDeadlineSeconds?: number;
  concurrencyPolicy?: "Allow" | "Forbid" | "Replace";
  suspend?: boolean;
  jobTemplate: JobTemplateSpec;
  successfulJobsHistoryLimit?: number;
  failedJobsHistoryLimit?: number;
}

/** A CronJob (`batch/v1/CronJob`): Jobs on a schedule. */
export type CronJob = {
  apiVersion: "batch/v1";
  kind: "CronJob";
  metadata: ObjectMeta;
  spec: CronJobSpec;
  status?: {
    active?: ObjectReference[];
    lastScheduleTime?: Time;
    lastSuccessfulTime?: Time;
  };
};
/** The `CronJob` kind: `batch/v1`, `cronjobs`, namespaced. */
export const CronJob = resourceType<CronJob>("batch/v1", "CronJob", "cronjobs", true);
