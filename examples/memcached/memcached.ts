/**
 * Memcached, after the Operator SDK's Go tutorial: a Deployment of `size` memcached Pods, the
 * names of those Pods in `status.nodes`, and the conditions `Available`, `Progressing` and
 * `Degraded`. The finalizer `cache.example.com/finalizer` holds a Memcached until `finalize` has
 * run, which records a Warning Event (where a real operator would, say, back up the cache).
 *
 * Where the tutorial creates the Deployment, compares its replicas and updates it, `sync` returns
 * the Deployment it wants and Operon creates it and keeps it so (an edit of its replicas is
 * reverted). The conditions follow the Deployment's rollout rather than the steps of the
 * reconcile: `Degraded` is true while a Pod crash-loops or the rollout passed its deadline.
 */
import {
  Deployment,
  defineOperator,
  defineResource,
  findCondition,
  K8s,
  type ObjectOf,
  Pod,
  Type,
} from "kube-operon";

export const Memcached = defineResource({
  group: "cache.example.com",
  version: "v1alpha1",
  kind: "Memcached",
  plural: "memcacheds",
  scope: "Namespaced",
  description: "A memcached cluster: a Deployment of `size` memcached Pods.",
  spec: Type.Object({
    size: Type.Integer({
      minimum: 1,
      maximum: 3,
      description: "How many memcached Pods run (1 to 3).",
    }),
    podAnnotations: Type.Optional(
      K8s.Map(Type.String(), { description: "Annotations on the memcached Pods." }),
    ),
  }),
  status: K8s.Status({
    nodes: Type.Optional(
      Type.Array(Type.String(), { description: "The names of the memcached Pods." }),
    ),
  }),
  printerColumns: [
    { name: "Size", type: "integer", jsonPath: ".spec.size" },
    {
      name: "Available",
      type: "string",
      jsonPath: '.status.conditions[?(@.type=="Available")].status',
    },
    {
      name: "Degraded",
      type: "string",
      jsonPath: '.status.conditions[?(@.type=="Degraded")].status',
    },
  ],
});
export type Memcached = ObjectOf<typeof Memcached>;

/** The image, from the environment as in the tutorial (`MEMCACHED_IMAGE`). */
const image = process.env.MEMCACHED_IMAGE ?? "memcached:1.6.26-alpine3.19";

/** The labels of a Memcached's Pods (the Deployment's selector). */
export function labelsFor(name: string): Record<string, string> {
  return {
    "app.kubernetes.io/name": "memcached",
    "app.kubernetes.io/instance": name,
    "app.kubernetes.io/part-of": "memcached-operator",
  };
}

/** Why a Pod is failing, if its containers crash or cannot start. */
function failing(pod: Pod): string | undefined {
  for (const container of pod.status?.containerStatuses ?? []) {
    const reason = container.state?.waiting?.reason;
    if (
      reason &&
      /CrashLoopBackOff|ErrImagePull|ImagePullBackOff|CreateContainerError/.test(reason)
    )
      return `${pod.metadata.name}: ${reason}`;
  }
  return undefined;
}

export default defineOperator({
  name: "memcached",
  parent: Memcached,
  finalizer: "cache.example.com/finalizer",
  children: { deployments: Deployment },
  related: {
    // The Deployment's Pods, for their names and health: selected by the Pods' labels.
    pods: { type: Pod, selectorFrom: (memcached) => labelsFor(memcached.metadata.name!) },
  },
  sync({ parent, children, related, now }) {
    const name = parent.metadata.name!;
    const { size, podAnnotations } = parent.spec;
    const labels = labelsFor(name);
    const deployment = children.deployments.get(name);
    const status = deployment?.status;
    const pods = related.pods.filter((pod) => !pod.metadata.deletionTimestamp);

    // The Deployment controller has seen the current spec, and every replica runs it.
    const observed =
      deployment !== undefined &&
      status?.observedGeneration === deployment.metadata.generation &&
      deployment.spec?.replicas === size;
    const available = status?.availableReplicas ?? 0;
    const rolledOut =
      observed &&
      (status?.updatedReplicas ?? 0) === size &&
      (status?.replicas ?? 0) === size &&
      available === size;
    // The Deployment says Progressing=False (ProgressDeadlineExceeded) once a rollout stalls.
    const progressing = findCondition(status?.conditions, "Progressing");
    const stalled = progressing?.status === "False" ? progressing : undefined;
    const replicaFailure = findCondition(status?.conditions, "ReplicaFailure");
    const crashing = pods.map(failing).filter((reason) => reason !== undefined);
    let degraded: { reason: string; message: string } | undefined;
    if (crashing.length > 0) {
      degraded = { reason: "PodsFailing", message: crashing.sort().join("; ") };
    } else if (stalled) {
      degraded = {
        reason: stalled.reason ?? "ProgressDeadlineExceeded",
        message: stalled.message ?? "",
      };
    } else if (replicaFailure?.status === "True") {
      degraded = {
        reason: replicaFailure.reason ?? "ReplicaFailure",
        message: replicaFailure.message ?? "",
      };
    }
    const time = now.toISOString();

    return {
      status: {
        nodes: pods.map((pod) => pod.metadata.name!).sort(),
        conditions: [
          {
            type: "Available",
            status: available >= size ? "True" : "False",
            reason: available >= size ? "MinimumReplicasAvailable" : "ReplicasUnavailable",
            message: `${available} of ${size} memcached Pods available`,
            lastTransitionTime: time,
          },
          {
            type: "Progressing",
            status: rolledOut || stalled ? "False" : "True",
            reason: rolledOut ? "RolloutComplete" : stalled ? "RolloutStalled" : "RollingOut",
            message: rolledOut
              ? `Deployment ${name} runs ${size} up-to-date Pods`
              : `${status?.updatedReplicas ?? 0} of ${size} Pods updated, ${available} available`,
            lastTransitionTime: time,
          },
          {
            type: "Degraded",
            status: degraded ? "True" : "False",
            reason: degraded?.reason ?? "AsExpected",
            message: degraded?.message ?? "",
            lastTransitionTime: time,
          },
        ],
      },
      children: [
        {
          apiVersion: "apps/v1",
          kind: "Deployment",
          metadata: { name, labels },
          spec: {
            replicas: size,
            selector: { matchLabels: labels },
            template: {
              metadata: {
                labels: { ...labels, "app.kubernetes.io/version": image.split(":")[1] ?? "latest" },
                ...(podAnnotations ? { annotations: podAnnotations } : {}),
              },
              spec: {
                securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
                containers: [
                  {
                    name: "memcached",
                    image,
                    imagePullPolicy: "IfNotPresent",
                    command: ["memcached", "--memory-limit=64", "-o", "modern", "-v"],
                    ports: [{ name: "memcached", containerPort: 11211 }],
                    securityContext: {
                      runAsNonRoot: true,
                      runAsUser: 1001,
                      allowPrivilegeEscalation: false,
                      capabilities: { drop: ["ALL"] },
                    },
                  },
                ],
              },
            },
          },
        },
      ],
    };
  },
  // Runs once a Memcached is deleted, before the finalizer is removed and the Memcached goes.
  finalize({ parent }) {
    return {
      finalized: true,
      events: [
        {
          type: "Warning",
          reason: "Deleting",
          message: `Custom Resource ${parent.metadata.name} is being deleted from the namespace ${parent.metadata.namespace}`,
        },
      ],
    };
  },
});
