/**
 * Turns what `sync` returned into children ready to apply: checks each one (a clear error naming
 * the child for anything malformed), fills in the namespace, and adds the ownership marks and the
 * desired-state hash.
 */
import type { KubeObject, ResourceType } from "../resources/object.ts";
import type { DesiredChild, PropagationPolicy, UpdateStrategy } from "./declaration.ts";
import { desiredHashAnnotation, stableHash } from "./drift.ts";
import {
  managedByLabel,
  ownerReferenceTo,
  parentNameLabel,
  parentNamespaceLabel,
  parentUidLabel,
} from "./ownership.ts";

/** A child ready to apply. */
export interface PreparedChild {
  /** The declared name of its type (the key in `children`). */
  group: string;
  type: ResourceType;
  strategy: UpdateStrategy;
  /** How the child's own dependents are deleted with it. */
  propagationPolicy: PropagationPolicy;
  /** The child outlives its parent: tracked by labels, without an ownerReference. */
  retained: boolean;
  namespaced: boolean;
  name: string;
  namespace: string | undefined;
  /** The full object to apply, with ownership marks and hash. */
  object: Record<string, unknown> & { metadata: KubeObject["metadata"] };
  hash: string;
  /** `Kind namespace/name`, for messages. */
  label: string;
}

/** A desired child that cannot be applied; the message names it and says why. */
export class MalformedChildError extends Error {
  override readonly name = "MalformedChildError";
}

export interface ChildTypeInfo {
  group: string;
  type: ResourceType;
  strategy: UpdateStrategy;
  propagationPolicy: PropagationPolicy;
  /** Declared `whenParentDeleted: "Retain"`. */
  retained: boolean;
  namespaced: boolean;
}

export interface PrepareOptions {
  operatorName: string;
  parent: KubeObject;
  parentNamespaced: boolean;
  /** Declared child types by `apiVersion/kind`. */
  childTypes: ReadonlyMap<string, ChildTypeInfo>;
  /**
   * Labels Operon puts on every child without counting them in the desired-state hash: labels
   * whose value moves while the child stays the same (the shard a parent is assigned to). When
   * one changes, the child is written once to carry it, not recorded as a new desired state.
   */
  extraLabels?: Readonly<Record<string, string>>;
}

function describe(child: Partial<DesiredChild> | undefined, index: number): string {
  const kind = child?.kind ?? "child";
  const name = child?.metadata?.name;
  return name ? `${kind} "${name}"` : `${kind} #${index + 1} of the returned children`;
}

/**
 * Validates and completes the desired children. Throws a {@link MalformedChildError} listing
 * every malformed child, so that nothing is applied or pruned on a partial desired state.
 */
export function prepareChildren(
  desired: readonly DesiredChild[],
  options: PrepareOptions,
): PreparedChild[] {
  const { parent, operatorName, childTypes } = options;
  const problems: string[] = [];
  const prepared: PreparedChild[] = [];
  const seen = new Set<string>();
  const declared = [...childTypes.keys()].join(", ") || "none";
  desired.forEach((child, index) => {
    const what = describe(child, index);
    if (!child || typeof child !== "object") {
      problems.push(`${what}: not an object`);
      return;
    }
    if (!child.apiVersion || !child.kind) {
      problems.push(`${what}: apiVersion and kind are required`);
      return;
    }
    const info = childTypes.get(`${child.apiVersion}/${child.kind}`);
    if (!info) {
      problems.push(
        `${what}: ${child.apiVersion} ${child.kind} is not a declared child type (declared: ${declared}); add it to the operator's children`,
      );
      return;
    }
    const name = child.metadata?.name;
    if (!name) {
      problems.push(`${what}: metadata.name is required`);
      return;
    }
    let namespace: string | undefined;
    if (info.namespaced) {
      namespace = child.metadata.namespace ?? parent.metadata.namespace;
      if (!namespace) {
        problems.push(`${what}: metadata.namespace is required (the parent is cluster-scoped)`);
        return;
      }
      if (parent.metadata.namespace && namespace !== parent.metadata.namespace) {
        problems.push(
          `${what}: namespace "${namespace}" differs from the parent's ("${parent.metadata.namespace}"); ` +
            "children live in their parent's namespace so that ownership and garbage collection work",
        );
        return;
      }
    } else if (child.metadata.namespace) {
      problems.push(`${what}: ${child.kind} is cluster-scoped; remove metadata.namespace`);
      return;
    }
    const identity = `${child.apiVersion}/${child.kind}/${namespace ?? ""}/${name}`;
    if (seen.has(identity)) {
      problems.push(`${what}: returned twice`);
      return;
    }
    seen.add(identity);

    // An ownerReference cannot point from a cluster-scoped object to a namespaced one: such
    // children are tracked by labels and removed by Operon's finalizer instead. Children that
    // outlive their parent carry no ownerReference either, so that no deletion cascades to them.
    const trackedByLabels = info.retained || (!info.namespaced && options.parentNamespaced);
    const labels: Record<string, string> = {
      ...(child.metadata.labels ?? {}),
      [managedByLabel]: operatorName,
    };
    if (trackedByLabels) {
      if (parent.metadata.namespace) labels[parentNamespaceLabel] = parent.metadata.namespace;
      labels[parentNameLabel] = parent.metadata.name!;
      labels[parentUidLabel] = parent.metadata.uid!;
    }
    const { metadata, ...rest } = child;
    const body = {
      ...rest,
      metadata: {
        ...metadata,
        name,
        ...(namespace ? { namespace } : {}),
        labels,
        ...(trackedByLabels ? {} : { ownerReferences: [ownerReferenceTo(parent)] }),
      },
    };
    const hash = stableHash(body);
    body.metadata.annotations = { ...(metadata.annotations ?? {}), [desiredHashAnnotation]: hash };
    if (options.extraLabels) body.metadata.labels = { ...labels, ...options.extraLabels };
    prepared.push({
      group: info.group,
      type: info.type,
      strategy: info.strategy,
      propagationPolicy: info.propagationPolicy,
      retained: info.retained,
      namespaced: info.namespaced,
      name,
      namespace,
      object: body as PreparedChild["object"],
      hash,
      label: `${child.kind} ${namespace ? `${namespace}/` : ""}${name}`,
    });
  });
  if (problems.length > 0) {
    throw new MalformedChildError(`sync returned malformed children:\n- ${problems.join("\n- ")}`);
  }
  return prepared;
}
