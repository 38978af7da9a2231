/**
 * Builds what `sync` and `finalize` receive from a snapshot of plain objects: the one place the
 * children view is assembled, used by the reconciler (from the caches) and by the testkit's
 * `callSync` (from objects a test wrote).
 */
import type { KubeClient } from "../client/client.ts";
import type { KubeObject } from "../resources/object.ts";
import { childGroup } from "./child-group.ts";
import type {
  ChildGroup,
  ChildSpec,
  FinalizeRequest,
  Operator,
  SyncReason,
  SyncRequest,
} from "./declaration.ts";

/** What a parent's `sync` reads: the parent, its children and related objects, by declared name. */
export interface Snapshot {
  parent: KubeObject;
  /** Children per declared child name (missing names: none). */
  children: Readonly<Record<string, readonly KubeObject[] | undefined>>;
  /** Related objects per declared related name (missing names: none). */
  related: Readonly<Record<string, readonly KubeObject[] | undefined>>;
}

/** The circumstances of one call: why, how many failures before, the clock and the client. */
export interface CallCircumstances {
  reasons: ReadonlySet<SyncReason>;
  attempt: number;
  signal: AbortSignal;
  now: Date;
  client: KubeClient;
}

/** The read-only child groups of a snapshot, one per declared child name. */
export function childGroups(
  operator: Operator,
  snapshot: Pick<Snapshot, "parent" | "children">,
): Record<string, ChildGroup<KubeObject>> {
  const namespace = snapshot.parent.metadata.namespace;
  return Object.fromEntries(
    [...operator.childTypes.keys()].map((group) => [
      group,
      childGroup(snapshot.children[group] ?? [], namespace),
    ]),
  );
}

/** The request `sync` receives. */
export function buildSyncRequest(
  operator: Operator,
  snapshot: Snapshot,
  circumstances: CallCircumstances,
): SyncRequest<KubeObject, Record<string, ChildSpec>, Record<string, KubeObject>> {
  const related = Object.fromEntries(
    Object.keys(operator.related ?? {}).map((name) => [name, [...(snapshot.related[name] ?? [])]]),
  );
  return {
    parent: snapshot.parent,
    children: childGroups(operator, snapshot),
    related,
    reasons: circumstances.reasons,
    attempt: circumstances.attempt,
    signal: circumstances.signal,
    now: circumstances.now,
    client: circumstances.client,
  };
}

/** The request `finalize` receives. */
export function buildFinalizeRequest(
  operator: Operator,
  snapshot: Pick<Snapshot, "parent" | "children">,
  circumstances: Omit<CallCircumstances, "reasons">,
): FinalizeRequest<KubeObject, Record<string, ChildSpec>> {
  return {
    parent: snapshot.parent,
    children: childGroups(operator, snapshot),
    attempt: circumstances.attempt,
    signal: circumstances.signal,
    now: circumstances.now,
    client: circumstances.client,
  };
}
