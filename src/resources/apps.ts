/**
 * Workload kinds of the `apps/v1` group: Deployment, StatefulSet, DaemonSet and ReplicaSet.
 */
import type { ConditionStatus } from "./conditions.ts";
import type {
  PersistentVolumeClaimSpec,
  PersistentVolumeClaimStatus,
  PodTemplateSpec,
} from "./core.ts";
import type { IntOrString, LabelSelector, Time } from "./meta.ts";
import { type ObjectMeta, resourceType } from "./object.ts";

/**
 * A condition of a workload (`Available`, `Progressing`, `ReplicaFailure`, ...). Unlike
 * `metav1.Condition`, workload conditions have optional reason and message.
 */
export interface WorkloadCondition {
  type: string;
  status: ConditionStatus;
  lastTransitionTime?: Time;
  reason?: string;
  message?: string;
}

/** A Deployment condition; also records when it was last probed. */
export interface DeploymentCondition extends WorkloadCondition {
  lastUpdateTime?: Time;
}

/** How a Deployment replaces old pods. */
export interface DeploymentStrategy {
  /** Default `RollingUpdate`. */
  type?: "Recreate" | "RollingUpdate";
  rollingUpdate?: {
    /** A number or percentage, e.g. `"25%"`. */
    maxUnavailable?: IntOrString;
    maxSurge?: IntOrString;
  };
}

/** The desired state of a Deployment. */
export interface DeploymentSpec {
  /** Default 1. */
  replicas?: number;
  /** Must match `template.metadata.labels`; immutable. */
  selector: LabelSelector;
  template: PodTemplateSpec;
  strategy?: DeploymentStrategy;
  minReadySeconds?: number;
  revisionHistoryLimit?: number;
  paused?: boolean;
  progressDeadlineSeconds?: number;
}

/** The observed state of a Deployment. */
export interface DeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
  terminatingReplicas?: number;
  conditions?: DeploymentCondition[];
  collisionCount?: number;
}

/**
 * A Deployment (`apps/v1/Deployment`).
 *
 * @example
 * const web: Deployment = {
 *   apiVersion: "apps/v1",
 *   kind: "Deployment",
 *   metadata: { name: "web" },
 *   spec: {
 *     replicas: 2,
 *     selector: { matchLabels: { app: "web" } },
 *     template: {
 *       metadata: { labels: { app: "web" } },
 *       spec: { containers: [{ name: "web", image: "nginx:1.27" }] },
 *     },
 *   },
 * };
 */
export type Deployment = {
  apiVersion: "apps/v1";
  kind: "Deployment";
  metadata: ObjectMeta;
  spec?: DeploymentSpec;
  status?: DeploymentStatus;
};
/** The `Deployment` kind: `apps/v1`, `deployments`, namespaced. */
export const Deployment = resourceType<Deployment>("apps/v1", "Deployment", "deployments", true);

/** A PersistentVolumeClaim template of a StatefulSet: one claim per pod. */
export interface PersistentVolumeClaimTemplateObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: PersistentVolumeClaimSpec;
  status?: PersistentVolumeClaimStatus;
}

/** The desired state of a StatefulSet. */
export interface StatefulSetSpec {
  replicas?: number;
  selector: LabelSelector;
  template: PodTemplateSpec;
  volumeClaimTemplates?: PersistentVolumeClaimTemplateObject[];
  /** The headless Service that gives the pods their network identity. */
  serviceName?: string;
  podManagementPolicy?: "OrderedReady" | "Parallel";
  updateStrategy?: {
    type?: "RollingUpdate" | "OnDelete";
    rollingUpdate?: { partition?: number; maxUnavailable?: IntOrString };
  };
  revisionHistoryLimit?: number;
  minReadySeconds?: number;
  persistentVolumeClaimRetentionPolicy?: {
    whenDeleted?: "Retain" | "Delete";
    whenScaled?: "Retain" | "Delete";
  };
  ordinals?: { start?: number };
}

/** The observed state of a StatefulSet. */
export interface StatefulSetStatus {
  observedGeneration?: number;
  replicas: number;
  readyReplicas?: number;
  currentReplicas?: number;
  updatedReplicas?: number;
  availableReplicas?: number;
  currentRevision?: string;
  updateRevision?: string;
  collisionCount?: number;
  conditions?: WorkloadCondition[];
}

/** A StatefulSet (`apps/v1/StatefulSet`): pods with stable names and storage. */
export type StatefulSet = {
  apiVersion: "apps/v1";
  kind: "StatefulSet";
  metadata: ObjectMeta;
  spec?: StatefulSetSpec;
  status?: StatefulSetStatus;
};
/** The `StatefulSet` kind: `apps/v1`, `statefulsets`, namespaced. */
export const StatefulSet = resourceType<StatefulSet>(
  "apps/v1",
  "StatefulSet",
  "statefulsets",
  true,
);

/** The desired state of a DaemonSet. */
export interface DaemonSetSpec {
  selector: LabelSelector;
  template: PodTemplateSpec;
  updateStrategy?: {
    type?: "RollingUpdate" | "OnDelete";
    rollingUpdate?: { maxUnavailable?: IntOrString; maxSurge?: IntOrString };
  };
  minReadySeconds?: number;
  revisionHistoryLimit?: number;
}

/** The observed state of a DaemonSet. */
export interface DaemonSetStatus {
  currentNumberScheduled: number;
  numberMisscheduled: number;
  desiredNumberScheduled: number;
  numberReady: number;
  observedGeneration?: number;
  updatedNumberScheduled?: number;
  numberAvailable?: number;
  numberUnavailable?: number;
  collisionCount?: number;
  conditions?: WorkloadCondition[];
}

/** A DaemonSet (`apps/v1/DaemonSet`): one pod per (matching) node. */
export type DaemonSet = {
  apiVersion: "apps/v1";
  kind: "DaemonSet";
  metadata: ObjectMeta;
  spec?: DaemonSetSpec;
  status?: DaemonSetStatus;
};
/** The `DaemonSet` kind: `apps/v1`, `daemonsets`, namespaced. */
export const DaemonSet = resourceType<DaemonSet>("apps/v1", "DaemonSet", "daemonsets", true);

/** The desired state of a ReplicaSet. */
export interface ReplicaSetSpec {
  replicas?: number;
  minReadySeconds?: number;
  selector: LabelSelector;
  template?: PodTemplateSpec;
}

/** The observed state of a ReplicaSet. */
export interface ReplicaSetStatus {
  replicas: number;
  fullyLabeledReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  terminatingReplicas?: number;
  observedGeneration?: number;
  conditions?: WorkloadCondition[];
}

/** A ReplicaSet (`apps/v1/ReplicaSet`), usually owned by a Deployment. */
export type ReplicaSet = {
  apiVersion: "apps/v1";
  kind: "ReplicaSet";
  metadata: ObjectMeta;
  spec?: ReplicaSetSpec;
  status?: ReplicaSetStatus;
};
/** The `ReplicaSet` kind: `apps/v1`, `replicasets`, namespaced. */
export const ReplicaSet = resourceType<ReplicaSet>("apps/v1", "ReplicaSet", "replicasets", true);
