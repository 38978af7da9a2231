/**
 * CatSet, after Metacontroller's example: a StatefulSet written as an operator. Pods
 * `<name>-0` to `<name>-<replicas-1>` start one at a time, each once every Pod below it is
 * Ready; each Pod gets its own PersistentVolumeClaims from `volumeClaimTemplates` and a DNS name
 * from a headless Service. Scaling down removes the highest ordinal first, one Pod at a time,
 * and keeps the claims; a new template rolls the Pods from the highest ordinal down, each
 * replaced once the others are Ready.
 *
 * `sync` decides every step from what it reads (which Pods exist and are Ready, which carry the
 * current template's revision) and returns the Pods that should exist: Operon creates the
 * missing one and deletes the one left out. Claims outlive the CatSet (`whenParentDeleted:
 * "Retain"`) and are kept on scale-down by returning every claim that exists.
 */
import { createHash } from "node:crypto";
import {
  child,
  defineOperator,
  defineResource,
  desired,
  isConditionTrue,
  K8s,
  type ObjectOf,
  PersistentVolumeClaim,
  type PersistentVolumeClaimTemplate,
  Pod,
  type PodTemplateSpec,
  Service,
  Type,
} from "kube-operon";

export const CatSet = defineResource({
  group: "ctl.enisoc.com",
  version: "v1",
  kind: "CatSet",
  plural: "catsets",
  scope: "Namespaced",
  description:
    "A StatefulSet-like set of Pods <name>-0 to <name>-N-1, started one at a time, each with its own volume claims.",
  spec: Type.Object({
    replicas: Type.Integer({ minimum: 0, default: 1, description: "How many Pods run." }),
    serviceName: Type.Optional(
      Type.String({
        description:
          "The headless Service that gives each Pod a DNS name; default: the CatSet's name.",
      }),
    ),
    template: K8s.Opaque<PodTemplateSpec>({ description: "The Pods' template." }),
    volumeClaimTemplates: Type.Optional(
      K8s.OpaqueList<PersistentVolumeClaimTemplate>({
        description:
          "Claims each Pod gets, named <template name>-<CatSet name>-<ordinal> and mounted as the volume of the template's name.",
      }),
    ),
  }),
  status: K8s.Status({
    replicas: Type.Optional(Type.Integer({ description: "Pods that exist." })),
    readyReplicas: Type.Optional(Type.Integer({ description: "Pods that are Ready." })),
    updatedReplicas: Type.Optional(
      Type.Integer({ description: "Pods made from the current template." }),
    ),
    updateRevision: Type.Optional(
      Type.String({ description: "The revision of the current template." }),
    ),
  }),
  printerColumns: [
    { name: "Desired", type: "integer", jsonPath: ".spec.replicas" },
    { name: "Ready", type: "integer", jsonPath: ".status.readyReplicas" },
    { name: "Updated", type: "integer", jsonPath: ".status.updatedReplicas" },
  ],
  scale: { specReplicasPath: ".spec.replicas", statusReplicasPath: ".status.replicas" },
});
export type CatSet = ObjectOf<typeof CatSet>;

/** The label that names a Pod's CatSet (the Service's selector). */
export const setLabel = "ctl.enisoc.com/catset";
/** The label with the revision of the template a Pod was made from. */
export const revisionLabel = "ctl.enisoc.com/revision";

/** A short hash of the Pod template: Pods made from another template are rolled. */
export function revisionOf(template: PodTemplateSpec): string {
  return createHash("sha256").update(JSON.stringify(template)).digest("hex").slice(0, 10);
}

/** The ordinal of `<set>-<n>`, or -1 for another name. */
function ordinalOf(set: string, name: string): number {
  const suffix = name.startsWith(`${set}-`) ? name.slice(set.length + 1) : "";
  return /^(0|[1-9]\d*)$/.test(suffix) ? Number(suffix) : -1;
}

const isReady = (pod: Pod | undefined): pod is Pod =>
  pod !== undefined &&
  !pod.metadata.deletionTimestamp &&
  isConditionTrue(pod.status?.conditions, "Ready");

export default defineOperator({
  name: "catset",
  parent: CatSet,
  children: {
    // Pods are never updated in place: sync rolls them by leaving one out (deleted) and
    // returning it again (created from the new template).
    pods: child(Pod, { strategy: "onDelete" }),
    // Claims are created once and outlive the CatSet, as a StatefulSet's do.
    claims: child(PersistentVolumeClaim, { strategy: "onDelete", whenParentDeleted: "Retain" }),
    services: Service,
  },
  sync({ parent, children }) {
    const name = parent.metadata.name!;
    const { replicas, template } = parent.spec;
    const claimTemplates = parent.spec.volumeClaimTemplates ?? [];
    const serviceName = parent.spec.serviceName ?? name;
    const revision = revisionOf(template);
    const claimName = (claim: PersistentVolumeClaimTemplate, ordinal: number) =>
      `${claim.metadata?.name}-${name}-${ordinal}`;
    for (const [index, claim] of claimTemplates.entries()) {
      if (!claim.metadata?.name)
        throw new Error(`volumeClaimTemplates[${index}] needs metadata.name`);
    }

    const pods = new Map<number, Pod>();
    for (const pod of children.pods) {
      const ordinal = ordinalOf(name, pod.metadata.name!);
      if (ordinal >= 0) pods.set(ordinal, pod);
    }

    // Start in order: a missing Pod is created once every Pod below it is Ready, one at a time.
    const keep = new Set<number>();
    let waiting = false;
    for (let ordinal = 0; ordinal < replicas; ordinal++) {
      const pod = pods.get(ordinal);
      if (pod || !waiting) keep.add(ordinal);
      if (!isReady(pod)) waiting = true;
    }
    // Pods past `replicas` stay until their turn: the highest goes first, once all others are Ready.
    const extra = [...pods.keys()].filter((ordinal) => ordinal >= replicas).sort((a, b) => b - a);
    for (const ordinal of extra) keep.add(ordinal);
    const [highest] = extra;
    if (highest !== undefined) {
      const othersReady = [...pods].every(([ordinal, pod]) => ordinal === highest || isReady(pod));
      if (!waiting && othersReady) keep.delete(highest);
    } else if (!waiting) {
      // Roll: the highest Pod of an older template goes; it comes back from the new one.
      const outdated = [...pods]
        .filter(([, pod]) => pod.metadata.labels?.[revisionLabel] !== revision)
        .map(([ordinal]) => ordinal)
        .sort((a, b) => b - a);
      if (outdated[0] !== undefined) keep.delete(outdated[0]);
    }

    const podFor = (ordinal: number) => {
      const podName = `${name}-${ordinal}`;
      const spec = template.spec ?? { containers: [] };
      return desired(Pod, {
        metadata: {
          name: podName,
          labels: { ...template.metadata?.labels, [setLabel]: name, [revisionLabel]: revision },
          ...(template.metadata?.annotations
            ? { annotations: { ...template.metadata.annotations } }
            : {}),
        },
        spec: {
          ...spec,
          hostname: podName,
          subdomain: serviceName,
          volumes: [
            ...(spec.volumes ?? []),
            ...claimTemplates.map((claim) => ({
              name: claim.metadata!.name!,
              persistentVolumeClaim: { claimName: claimName(claim, ordinal) },
            })),
          ],
        },
      });
    };

    // Claims: those of every Pod kept, and every claim that exists (kept on scale-down).
    const claims = new Map<string, ReturnType<typeof desired<PersistentVolumeClaim>>>();
    const claimFor = (claim: PersistentVolumeClaimTemplate, ordinal: number) =>
      desired(PersistentVolumeClaim, {
        metadata: {
          name: claimName(claim, ordinal),
          labels: { ...claim.metadata?.labels, [setLabel]: name },
        },
        spec: claim.spec,
      });
    for (const ordinal of keep) {
      for (const claim of claimTemplates)
        claims.set(claimName(claim, ordinal), claimFor(claim, ordinal));
    }
    for (const existing of children.claims) {
      const claimed = existing.metadata.name!;
      if (!claims.has(claimed)) {
        // Created once and never updated ("onDelete"): only the name matters from here on.
        claims.set(claimed, desired(PersistentVolumeClaim, { metadata: { name: claimed } }));
      }
    }

    const live = [...pods.values()].filter((pod) => !pod.metadata.deletionTimestamp);
    return {
      status: {
        replicas: live.length,
        readyReplicas: live.filter(isReady).length,
        updatedReplicas: live.filter((pod) => pod.metadata.labels?.[revisionLabel] === revision)
          .length,
        updateRevision: revision,
      },
      children: [
        {
          apiVersion: "v1",
          kind: "Service",
          metadata: { name: serviceName, labels: { [setLabel]: name } },
          // Headless: no virtual IP, a DNS record per Pod (<pod>.<service>).
          spec: { clusterIP: "None", selector: { [setLabel]: name } },
        },
        ...[...keep].sort((a, b) => a - b).map(podFor),
        ...claims.values(),
      ],
    };
  },
});
