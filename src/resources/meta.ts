/**
 * Small shapes shared by many kinds: selectors, references, and the scalar aliases the API uses
 * for quantities, int-or-string values and timestamps.
 */

/**
 * A Kubernetes quantity (`resource.Quantity`), e.g. `"500m"`, `"1Gi"`, `2`. The API server always
 * returns the string form.
 */
export type Quantity = string | number;

/** A field that accepts a number or a string (`intstr.IntOrString`), e.g. a port number or name, or `"25%"`. */
export type IntOrString = number | string;

/** An RFC 3339 timestamp with second precision (`metav1.Time`), e.g. `"2024-05-01T12:00:00Z"`. */
export type Time = string;

/** An RFC 3339 timestamp with microsecond precision (`metav1.MicroTime`). */
export type MicroTime = string;

/** One requirement of a {@link LabelSelector}: `key operator values`. */
export interface LabelSelectorRequirement {
  key: string;
  operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
  /** Required for `In`/`NotIn`, must be empty for `Exists`/`DoesNotExist`. */
  values?: string[];
}

/**
 * Selects objects by labels (`metav1.LabelSelector`). All terms are ANDed; an empty selector
 * matches everything.
 *
 * @example
 * const selector: LabelSelector = { matchLabels: { app: "web" } };
 */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

/** A reference to an object in the same namespace, by name. */
export interface LocalObjectReference {
  name?: string;
}

/** A reference to any object (`core/v1.ObjectReference`), e.g. `Event.regarding`. */
export interface ObjectReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  /** A path into the object, e.g. `spec.containers{web}`. */
  fieldPath?: string;
}

/** A reference to an object of a given kind in the same namespace. `apiGroup` is empty for the core group. */
export interface TypedLocalObjectReference {
  apiGroup?: string;
  kind: string;
  name: string;
}

/** A reference to an object of a given kind, possibly in another namespace. */
export interface TypedObjectReference extends TypedLocalObjectReference {
  namespace?: string;
}
