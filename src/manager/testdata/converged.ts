/** Checks shared by the manager's integration tests: has every Chore been synced correctly? */
import type { KubeClient } from "../../client/client.ts";
import { ConfigMap } from "../../resources/core.ts";
import type { KubeObject } from "../../resources/object.ts";
import { Chore } from "./chores.ts";

interface Condition {
  type: string;
  status: string;
}

/**
 * `undefined` when every Chore in `namespace` is converged: its status holds its value for its
 * current generation, Synced is True, and exactly one ConfigMap is controlled by it, with the
 * value; else what is still missing.
 */
export async function notConverged(
  client: KubeClient,
  namespace: string,
): Promise<string | undefined> {
  const chores = (await client.list(Chore, { namespace })).items;
  const configMaps = (await client.list(ConfigMap, { namespace })).items;
  const missing: string[] = [];
  for (const chore of chores) {
    const name = chore.metadata.name!;
    const status = chore.status as
      | { value?: string; observedGeneration?: number; conditions?: Condition[] }
      | undefined;
    const synced = status?.conditions?.find((c) => c.type === "Synced");
    if (status?.value !== chore.spec.value) missing.push(`${name}: status.value`);
    if (status?.observedGeneration !== chore.metadata.generation)
      missing.push(`${name}: observedGeneration`);
    if (synced?.status !== "True") missing.push(`${name}: Synced is ${synced?.status}`);
    const children = configMaps.filter((cm: KubeObject) =>
      cm.metadata.ownerReferences?.some((o) => o.controller && o.uid === chore.metadata.uid),
    );
    if (children.length !== 1) missing.push(`${name}: ${children.length} children`);
    else if (children[0]!.data?.value !== chore.spec.value) missing.push(`${name}: child data`);
  }
  return missing.length > 0 ? missing.join(", ") : undefined;
}
