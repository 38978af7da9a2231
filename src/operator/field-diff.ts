/**
 * Field-level differences between two versions of an object, for people: which paths were
 * added, removed or changed, with their values kept small, and without the bookkeeping the
 * server changes on every write (`resourceVersion`, `managedFields`, ...). The trace records
 * them per child and for the status; `operon plan` prints them.
 */
import diff from "microdiff";
import { desiredHashAnnotation } from "./drift.ts";

/** One changed field. */
export interface FieldChange {
  /** Where, e.g. `spec.replicas`, `spec.template.spec.containers[0].image`, `metadata.labels["app"]`. */
  path: string;
  /** `add`: only in the new version; `remove`: only in the old one; `change`: in both, different. */
  op: "add" | "remove" | "change";
  /** The old value (absent for `add`); large values are summarised. */
  before?: unknown;
  /** The new value (absent for `remove`); large values are summarised. */
  after?: unknown;
}

/** A bounded list of changes: at most 50, with the count of those left out. */
export interface FieldDiff {
  changes: FieldChange[];
  /** Changes beyond the bound, not listed. */
  omitted?: number;
}

/** Most changes listed per diff. */
export const maxChanges = 50;
/** Longest JSON text of one value kept as is; longer values are summarised. */
const maxValueLength = 300;

/**
 * Metadata the server rewrites on every write: never a change anyone made. (Operon's
 * desired-state hash annotation is left out of diffs too.)
 */
const volatileMetadata = new Set([
  "resourceVersion",
  "managedFields",
  "generation",
  "uid",
  "creationTimestamp",
  "selfLink",
]);

const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `["metadata", "labels", "app.kubernetes.io/name"]` → `metadata.labels["app.kubernetes.io/name"]`. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else if (identifier.test(part)) out += out === "" ? part : `.${part}`;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out;
}

/** A value as recorded: itself when small, a short description when large. */
export function boundedValue(value: unknown): unknown {
  if (value === null || typeof value !== "object") {
    if (typeof value === "string" && value.length > maxValueLength) {
      return `${value.slice(0, maxValueLength)}… (${value.length} characters)`;
    }
    return value;
  }
  const text = JSON.stringify(value);
  if (text.length <= maxValueLength) return value;
  return Array.isArray(value)
    ? `[… ${value.length} items, ${text.length} bytes]`
    : `{… ${Object.keys(value).length} fields, ${text.length} bytes}`;
}

/** The object without the server's per-write bookkeeping (and, with `withoutStatus`, its status). */
function comparable(object: unknown, withoutStatus: boolean): Record<string, unknown> {
  if (object === null || typeof object !== "object" || Array.isArray(object)) return {};
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object as Record<string, unknown>)) {
    if (key === "status" && withoutStatus) continue;
    if (key === "metadata" && value !== null && typeof value === "object") {
      const kept: Record<string, unknown> = {};
      for (const [field, item] of Object.entries(value as Record<string, unknown>)) {
        if (volatileMetadata.has(field)) continue;
        // Operon's own record of what it applied changes with every change it makes: not news.
        if (field === "annotations" && item && typeof item === "object") {
          const { [desiredHashAnnotation]: _hash, ...annotations } = item as Record<
            string,
            unknown
          >;
          if (Object.keys(annotations).length > 0) kept[field] = annotations;
          continue;
        }
        kept[field] = item;
      }
      out.metadata = kept;
    } else {
      out[key] = value;
    }
  }
  return out;
}

function bounded(changes: FieldChange[]): FieldDiff {
  if (changes.length <= maxChanges) return { changes };
  return { changes: changes.slice(0, maxChanges), omitted: changes.length - maxChanges };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The leaves of a value added or removed whole: one change per field, as people read them. */
function leaves(
  value: unknown,
  path: (string | number)[],
  op: "add" | "remove",
  out: FieldChange[],
): void {
  if (isPlainObject(value) && Object.keys(value).length > 0) {
    for (const [key, item] of Object.entries(value)) leaves(item, [...path, key], op, out);
    return;
  }
  if (Array.isArray(value) && value.length > 0) {
    value.forEach((item, index) => {
      leaves(item, [...path, index], op, out);
    });
    return;
  }
  const shown = boundedValue(value);
  out.push(
    op === "add"
      ? { path: formatPath(path), op, after: shown }
      : { path: formatPath(path), op, before: shown },
  );
}

function toChanges(
  before: Record<string, unknown> | unknown[],
  after: Record<string, unknown> | unknown[],
  prefix: readonly (string | number)[] = [],
): FieldChange[] {
  const out: FieldChange[] = [];
  for (const difference of diff(before, after)) {
    const path = [...prefix, ...difference.path];
    switch (difference.type) {
      case "CREATE":
        leaves(difference.value, path, "add", out);
        break;
      case "REMOVE":
        leaves(difference.oldValue, path, "remove", out);
        break;
      case "CHANGE":
        out.push({
          path: formatPath(path),
          op: "change",
          before: boundedValue(difference.oldValue),
          after: boundedValue(difference.value),
        });
        break;
    }
  }
  return out;
}

/**
 * What changed between two versions of a Kubernetes object, ignoring the metadata the server
 * rewrites on every write. `withoutStatus`: leave the status out (children: Operon writes only
 * their spec and metadata, and their status moves on its own).
 *
 * @example
 * diffObjects({ spec: { replicas: 3 } }, { spec: { replicas: 5 } });
 * // { changes: [{ path: "spec.replicas", op: "change", before: 3, after: 5 }] }
 */
export function diffObjects(
  before: unknown,
  after: unknown,
  options: { withoutStatus?: boolean } = {},
): FieldDiff {
  const withoutStatus = options.withoutStatus ?? false;
  return bounded(toChanges(comparable(before, withoutStatus), comparable(after, withoutStatus)));
}

/**
 * What changed between two JSON values (a status, say), paths starting at `prefix`.
 *
 * @example
 * diffValues({ ready: 1 }, { ready: 2 }, ["status"]); // changes: status.ready 1 → 2
 */
export function diffValues(
  before: unknown,
  after: unknown,
  prefix: readonly (string | number)[] = [],
): FieldDiff {
  const wrap = (value: unknown) =>
    value !== null && typeof value === "object" ? (value as Record<string, unknown>) : {};
  return bounded(toChanges(wrap(before), wrap(after), prefix));
}

/**
 * The fields of `desired` whose value in `live` differs: what applying `desired` would change,
 * seen without the server (fields `live` has and `desired` does not are not changes).
 *
 * @example
 * diffDesired({ spec: { replicas: 5 } }, { spec: { replicas: 3, paused: false } });
 * // { changes: [{ path: "spec.replicas", op: "change", before: 3, after: 5 }] }
 */
export function diffDesired(desired: unknown, live: unknown): FieldDiff {
  const changes: FieldChange[] = [];
  const walk = (want: unknown, have: unknown, path: (string | number)[]) => {
    if (want === undefined) return;
    if (isPlainObject(want)) {
      if (have === undefined || have === null) {
        leaves(want, path, "add", changes);
        return;
      }
      if (!isPlainObject(have)) {
        changes.push({
          path: formatPath(path),
          op: "change",
          before: boundedValue(have),
          after: boundedValue(want),
        });
        return;
      }
      for (const [key, value] of Object.entries(want as Record<string, unknown>)) {
        if (path.length === 1 && path[0] === "metadata" && volatileMetadata.has(key)) continue;
        if (path.length === 2 && path[1] === "annotations" && key === desiredHashAnnotation)
          continue;
        walk(value, (have as Record<string, unknown>)[key], [...path, key]);
      }
      return;
    }
    if (JSON.stringify(want) === JSON.stringify(have)) return;
    changes.push(
      have === undefined
        ? { path: formatPath(path), op: "add", after: boundedValue(want) }
        : {
            path: formatPath(path),
            op: "change",
            before: boundedValue(have),
            after: boundedValue(want),
          },
    );
  };
  walk(desired, live, []);
  return bounded(changes);
}
