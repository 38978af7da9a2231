/**
 * Children are created with a plain create (POST), which fails when the name is taken, so a
 * foreign object is never touched; but the server records a create as an `Update` by Operon's
 * field manager, and fields owned through `Update` are not removed when a later apply stops
 * setting them. These helpers find fields left in that `Update` entry and fold them into the
 * `Apply` entry, after which the next apply removes them like any field Operon stopped applying.
 */

import type { ManagedFieldsEntry } from "../resources/object.ts";

/** A `FieldsV1` trie: keys such as `f:data`, `k:{...}`, `v:...`, and `.` for the node itself. */
export type FieldSet = { [key: string]: FieldSet };

function isMainResourceEntry(
  entry: ManagedFieldsEntry,
  manager: string,
  operation: ManagedFieldsEntry["operation"],
): boolean {
  return entry.manager === manager && entry.operation === operation && !entry.subresource;
}

/** True when every field of `inner` (ignoring `.`, the containers themselves) is in `outer`. */
export function fieldsWithin(inner: FieldSet, outer: FieldSet | undefined): boolean {
  for (const [key, children] of Object.entries(inner)) {
    if (key === ".") continue;
    const other = outer?.[key];
    if (other === undefined) return false;
    if (!fieldsWithin(children, other)) return false;
  }
  return true;
}

/** The union of two field sets. */
export function unionFields(a: FieldSet, b: FieldSet): FieldSet {
  const result: FieldSet = { ...a };
  for (const [key, children] of Object.entries(b)) {
    const existing = result[key];
    result[key] = existing ? unionFields(existing, children) : children;
  }
  return result;
}

/**
 * When `manager` still owns fields through an `Update` entry (left by the create) that its
 * `Apply` entry does not cover, the managed fields with that entry folded into the `Apply` entry;
 * otherwise `undefined`, and nothing needs doing.
 */
export function foldCreatedFields(
  managedFields: readonly ManagedFieldsEntry[] | undefined,
  manager: string,
): ManagedFieldsEntry[] | undefined {
  if (!managedFields) return undefined;
  const created = managedFields.find((entry) => isMainResourceEntry(entry, manager, "Update"));
  if (!created?.fieldsV1) return undefined;
  const applied = managedFields.find((entry) => isMainResourceEntry(entry, manager, "Apply"));
  const createdFields = created.fieldsV1 as FieldSet;
  const appliedFields = applied?.fieldsV1 as FieldSet | undefined;
  if (fieldsWithin(createdFields, appliedFields)) return undefined;
  const merged: ManagedFieldsEntry = {
    manager,
    operation: "Apply",
    apiVersion: applied?.apiVersion ?? created.apiVersion,
    fieldsType: "FieldsV1",
    fieldsV1: unionFields(appliedFields ?? {}, createdFields),
    ...(applied?.time ? { time: applied.time } : {}),
  };
  return [...managedFields.filter((entry) => entry !== created && entry !== applied), merged];
}
