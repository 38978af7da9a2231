/**
 * The maps of objects hooks receive (`children`, `attachments`, `related`): grouped by
 * `<Kind>.<apiVersion>`, then keyed by name, with the two key formats of hook versions:
 * - v1 (relative): `name`, or `namespace/name` for a namespaced object of a cluster-scoped parent;
 * - v2 (uniform): `namespace/name` for every namespaced object, `name` for cluster-scoped ones.
 */
import type { KubeObject } from "../resources/object.ts";
import type { HookVersion } from "./types.ts";

/** A group of an object map: `Pod.v1`, `StatefulSet.apps/v1`. */
export function groupKey(apiVersion: string, kind: string): string {
  return `${kind}.${apiVersion}`;
}

/** The key of `object` in its group, for a parent in `parentNamespace` (`""`: cluster-scoped). */
export function objectMapKey(
  version: HookVersion,
  parentNamespace: string | undefined,
  object: KubeObject,
): string {
  const { namespace, name } = object.metadata;
  if (!namespace) return name!;
  if (version === "v2" || !parentNamespace) return `${namespace}/${name}`;
  return name!;
}

/** `{ "<Kind>.<apiVersion>": { key: object } }`. */
export type ObjectMap = Record<string, Record<string, KubeObject>>;

/**
 * Builds an object map: one (possibly empty) group per entry of `groups`, every object under the
 * group of its own apiVersion and kind.
 */
export function buildObjectMap(
  version: HookVersion,
  parentNamespace: string | undefined,
  groups: Iterable<string>,
  objects: Iterable<KubeObject>,
): ObjectMap {
  const map: ObjectMap = {};
  for (const group of groups) map[group] ??= {};
  for (const object of objects) {
    const group = groupKey(object.apiVersion, object.kind);
    const entries = map[group] ?? {};
    map[group] = entries;
    entries[objectMapKey(version, parentNamespace, object)] = object;
  }
  return map;
}
