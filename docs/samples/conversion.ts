import { defineConversion, defineResource, K8s, type ObjectOf, Type } from "kube-operon";

// A kind whose API changed: v1 had a single `size` string ("10Gi"), v2 splits it in two.
export const Volume = defineResource({
  group: "example.com",
  kind: "Volume",
  plural: "volumes",
  scope: "Namespaced",
  versions: {
    v1: {
      spec: Type.Object({ size: Type.String({ pattern: "^[0-9]+(Mi|Gi)$" }) }),
      deprecationWarning: "example.com/v1 Volume is deprecated; use example.com/v2",
    },
    v2: {
      storage: true,
      spec: Type.Object({
        amount: Type.Integer({ minimum: 1 }),
        unit: K8s.Enum(["Mi", "Gi"]),
      }),
    },
  },
});
export type VolumeV1 = ObjectOf<typeof Volume.versions.v1>;

// Every version converts to the hub (here the storage version) and back, typed by both schemas.
// A function that throws refuses the object: the client sees its message.
export const volumeConversion = defineConversion(Volume, {
  hub: "v2",
  spokes: {
    v1: {
      toHub: ({ spec }) => {
        const match = /^([0-9]+)(Mi|Gi)$/.exec(spec.size);
        if (!match) throw new Error(`size "${spec.size}" is not a number of Mi or Gi`);
        return { spec: { amount: Number(match[1]), unit: match[2] as "Mi" | "Gi" } };
      },
      fromHub: ({ spec }) => ({ spec: { size: `${spec.amount}${spec.unit}` } }),
    },
  },
});
