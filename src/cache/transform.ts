/**
 * Transforms applied to objects before they are stored.
 *
 * @module
 */
import type { KubeObject } from "../resources/object.ts";
import { internStrings } from "./intern.ts";

/** Rewrites an object before it is stored; it must return an object with the same key. */
export type Transform<T extends KubeObject> = (object: T) => T;

/**
 * The default transform: drops `metadata.managedFields`, which controllers rarely read and which
 * is often the larger part of a small object's memory.
 */
export function stripManagedFields<T extends KubeObject>(object: T): T {
  if (object.metadata?.managedFields === undefined) return object;
  const { managedFields: _dropped, ...metadata } = object.metadata;
  return { ...object, metadata };
}

/**
 * The informers' default transform: {@link stripManagedFields}, then one shared copy of the
 * strings that repeat across objects ({@link internStrings}: namespaces, apiVersions, kinds,
 * label values, condition messages...).
 */
export function defaultTransform<T extends KubeObject>(object: T): T {
  return internStrings(stripManagedFields(object));
}

/** Keeps objects exactly as the server sent them. */
export function keepObject<T extends KubeObject>(object: T): T {
  return object;
}
