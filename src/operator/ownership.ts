/**
 * How Operon marks what it owns and recognises it again: a controller ownerReference to the
 * parent plus the managed-by label, or, for a cluster-scoped child of a namespaced parent (which
 * an ownerReference cannot express), labels naming the parent.
 */
import type { KubeObject, OwnerReference } from "../resources/object.ts";

export const managedByLabel = "app.kubernetes.io/managed-by";
/** Labels that tie a cluster-scoped child to its namespaced parent. */
export const parentNamespaceLabel = "operon.dev/parent-namespace";
export const parentNameLabel = "operon.dev/parent-name";
export const parentUidLabel = "operon.dev/parent-uid";

/** The controller ownerReference of an object, if any. */
export function controllerOf(object: KubeObject): OwnerReference | undefined {
  return object.metadata.ownerReferences?.find((reference) => reference.controller === true);
}

/** A controller ownerReference pointing at `parent`. */
export function ownerReferenceTo(parent: KubeObject): OwnerReference {
  return {
    apiVersion: parent.apiVersion,
    kind: parent.kind,
    name: parent.metadata.name!,
    uid: parent.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** True when `child` is controlled by `parent`: by ownerReference, or by the tracking labels. */
export function isControlledBy(child: KubeObject, parent: KubeObject): boolean {
  const uid = parent.metadata.uid;
  if (!uid) return false;
  if (controllerOf(child)?.uid === uid) return true;
  return child.metadata.labels?.[parentUidLabel] === uid;
}

function groupOfApiVersion(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

/**
 * The key of the parent a child belongs to, read from the child alone (for mapping child events
 * back to parents), or undefined when it names no parent of this kind.
 */
export function parentKeyOf(
  child: KubeObject,
  parentType: { apiVersion: string; kind: string },
  parentNamespaced: boolean,
): string | undefined {
  const labels = child.metadata.labels;
  if (labels?.[parentNameLabel]) {
    const namespace = labels[parentNamespaceLabel];
    return namespace ? `${namespace}/${labels[parentNameLabel]}` : labels[parentNameLabel];
  }
  const owner = controllerOf(child);
  if (!owner || owner.kind !== parentType.kind) return undefined;
  if (groupOfApiVersion(owner.apiVersion) !== groupOfApiVersion(parentType.apiVersion))
    return undefined;
  if (!parentNamespaced) return owner.name;
  // A namespaced owner is always in its dependent's namespace.
  return child.metadata.namespace ? `${child.metadata.namespace}/${owner.name}` : undefined;
}
