import {
  defineResource,
  K8s,
  type ObjectOf,
  type PersistentVolumeClaim,
  type PodTemplateSpec,
  Type,
} from "kube-operon";

export const Database = defineResource({
  group: "example.com",
  version: "v1",
  kind: "Database",
  plural: "databases",
  scope: "Namespaced",
  spec: Type.Object({
    // Plain TypeBox: required unless Type.Optional; a default is filled in by the API server.
    replicas: Type.Integer({ minimum: 0, default: 1 }),
    // One of the given strings.
    tier: K8s.Enum(["standard", "premium"], { default: "standard" }),
    // A port number or name; a Kubernetes quantity ("1Gi", "500m", 2).
    port: K8s.IntOrString({ default: 5432 }),
    storage: K8s.Quantity({ default: "1Gi" }),
    // Go durations ("1h30m") and RFC 3339 timestamps.
    backupInterval: K8s.Duration({ default: "24h" }),
    restoreFrom: Type.Optional(K8s.Nullable(K8s.DateTime())),
    // string → string maps; lists merged by key, lists of unique values.
    settings: Type.Optional(K8s.Map(Type.String())),
    users: Type.Optional(
      K8s.ListMap(Type.Object({ name: Type.String(), role: Type.String() }), ["name"]),
    ),
    zones: Type.Optional(K8s.ListSet(Type.String(), { maxItems: 3 })),
    // Which Pods to watch, in the standard shape.
    selector: Type.Optional(K8s.LabelSelector()),
    // Kept as given, not validated: any JSON, a typed object, a typed list of objects.
    extensions: Type.Optional(K8s.Unknown()),
    template: Type.Optional(K8s.Opaque<PodTemplateSpec>()),
    volumeClaimTemplates: Type.Optional(K8s.OpaqueList<PersistentVolumeClaim>()),
    // Declared fields validated, other fields kept.
    tuning: Type.Optional(K8s.PreserveUnknownFields(Type.Object({ profile: Type.String() }))),
    // A whole Kubernetes object: apiVersion, kind and metadata validated, the rest kept.
    seed: Type.Optional(K8s.Embedded()),
    // CEL rules checked by the API server.
    storageClass: Type.Optional(K8s.Immutable(Type.String())),
    source: K8s.ExactlyOneOf(
      Type.Object({ image: Type.Optional(Type.String()), snapshot: Type.Optional(Type.String()) }),
      ["image", "snapshot"],
    ),
    limits: Type.Optional(
      K8s.Validate(Type.Object({ min: Type.Integer(), max: Type.Integer() }), {
        rule: "self.min <= self.max",
        message: "min must not exceed max",
      }),
    ),
  }),
  // observedGeneration and conditions (merged by type), plus your own fields.
  status: K8s.Status({ readyReplicas: Type.Optional(Type.Integer()) }),
});
export type Database = ObjectOf<typeof Database>;
