/**
 * Rolling updates with ControllerRevisions, as Metacontroller keeps them: each distinct value of
 * the parent's revision fields (`revisionHistory.fieldPaths`, default `spec`) is a
 * ControllerRevision naming the children that belong to it. The sync hook is called once per
 * revision (with the parent as that revision had it); children move to the latest revision one
 * at a time, and only while every child already moved passes its status checks. The progress is
 * reported in an `Updated` condition in the parent's status and persisted in the revisions, so a
 * restart resumes where the rollout was.
 */
import { createHash } from "node:crypto";
import type { Informer } from "../cache/index.ts";
import type { KubeClient } from "../client/client.ts";
import { isAlreadyExists, isNotFound } from "../client/errors.ts";
import { jsonEqual } from "../common/json.ts";
import { isSubset } from "../operator/drift.ts";
import type { KubeObject } from "../resources/object.ts";
import {
  type ChildKind,
  claimChildren,
  comparable,
  controllerRef,
  desiredBody,
} from "./children.ts";
import type { CompositeResponse } from "./composite.ts";
import type { ResolvedResource } from "./context.ts";
import { goJson } from "./go-json.ts";
import { withCondition } from "./parent.ts";
import { type Matcher, selectorMatcher } from "./selector.ts";
import {
  type CompositeController,
  type ControllerRevision,
  type ControllerRevisionChildren,
  ControllerRevisionType,
  metacontrollerApiVersion,
  type StatusConditionCheck,
} from "./types.ts";

export const labelApiGroup = "metacontroller.k8s.io/apiGroup";
export const labelResource = "metacontroller.k8s.io/resource";
const updatedCondition = "Updated";

export function isRolling(kind: ChildKind): boolean {
  return kind.method === "RollingRecreate" || kind.method === "RollingInPlace";
}

const revisionKind: ChildKind = {
  apiVersion: metacontrollerApiVersion,
  kind: "ControllerRevision",
  group: "metacontroller.k8s.io",
  plural: "controllerrevisions",
  namespaced: true,
  type: ControllerRevisionType,
  method: "OnDelete",
  statusChecks: [],
};

// ---------------------------------------------------------------------------------------------
// Parent patches

type Json = Record<string, unknown>;

function nested(source: Json, path: string[]): { found: boolean; value?: unknown } {
  let node: unknown = source;
  for (const part of path) {
    if (node === null || typeof node !== "object" || Array.isArray(node)) {
      throw new Error(`${path.join(".")} accessor error: ${String(node)} is not a map`);
    }
    if (!(part in (node as Json))) return { found: false };
    node = (node as Json)[part];
  }
  return { found: true, value: node };
}

function setNested(target: Json, path: string[], value: unknown): void {
  let node = target;
  for (const part of path.slice(0, -1)) {
    const next = node[part];
    if (next === null || typeof next !== "object" || Array.isArray(next)) node[part] = {};
    node = node[part] as Json;
  }
  node[path[path.length - 1]!] = value;
}

/** The parent's revision fields, as a partial object (`{ spec: { template: ... } }`). */
export function makePatch(parent: Json, fieldPaths: readonly string[]): Json {
  const patch: Json = {};
  for (const fieldPath of fieldPaths) {
    const path = fieldPath.split(".");
    const { found, value } = nested(parent, path);
    if (found) setNested(patch, path, structuredClone(value));
  }
  return patch;
}

/** `parent` with the revision fields of `patch` written over it. */
export function applyPatch(parent: Json, patch: Json, fieldPaths: readonly string[]): Json {
  const result = structuredClone(parent);
  for (const fieldPath of fieldPaths) {
    const path = fieldPath.split(".");
    const { found, value } = nested(patch, path);
    if (found) setNested(result, path, structuredClone(value));
  }
  return result;
}

/** `<plural>.<group or core>-<sha1(parent uid + patch JSON)>`, as Metacontroller names them. */
export function revisionName(
  parent: ResolvedResource,
  parentUid: string,
  patchJson: string,
): string {
  let prefix = `${parent.plural}.${parent.group || "core"}`;
  if (prefix.length > 253 - 41) prefix = prefix.slice(0, 253 - 41);
  const hash = createHash("sha1").update(parentUid).update(patchJson).digest("hex");
  return `${prefix}-${hash}`;
}

// ---------------------------------------------------------------------------------------------
// Revisions of one sync

interface ParentRevision {
  parent: KubeObject;
  revision: ControllerRevision;
  /** The revision as read (undefined for a new one). */
  observed: ControllerRevision | undefined;
  result?: CompositeResponse;
  /** Desired children by `group/Kind/name`. */
  desired: Map<string, KubeObject>;
}

function claimKey(group: string, kind: string): string {
  return `${kind}.${group}`;
}

function addChild(pr: ParentRevision, group: string, kind: string, name: string): void {
  const children = pr.revision.children ?? [];
  pr.revision.children = children;
  let entry = children.find((c) => c.apiGroup === group && c.kind === kind);
  if (!entry) {
    entry = { apiGroup: group, kind, names: [] };
    children.push(entry);
  }
  if (!entry.names.includes(name)) entry.names.push(name);
}

function removeChild(pr: ParentRevision, group: string, kind: string, name: string): void {
  const entry = pr.revision.children?.find((c) => c.apiGroup === group && c.kind === kind);
  if (!entry) return;
  const index = entry.names.indexOf(name);
  if (index >= 0) entry.names.splice(index, 1);
}

function countChildren(pr: ParentRevision): number {
  return (pr.revision.children ?? []).reduce((sum, c) => sum + c.names.length, 0);
}

function relativeName(parent: KubeObject, object: KubeObject): string {
  return !parent.metadata.namespace && object.metadata.namespace
    ? `${object.metadata.namespace}/${object.metadata.name}`
    : object.metadata.name!;
}

function apiGroupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

export interface RevisionSyncOptions {
  controller: CompositeController;
  parentResource: ResolvedResource;
  children: readonly ChildKind[];
  parent: KubeObject;
  observed: readonly KubeObject[];
  client: KubeClient;
  revisions: Informer<KubeObject>;
  fieldPaths: readonly string[] | undefined;
  generateSelector: boolean;
  /** The parent's child selector. */
  matches: Matcher;
  canAdopt: () => Promise<void>;
  /** Calls the sync (or finalize) hook for the parent as a revision had it. */
  callHook(parent: KubeObject): Promise<CompositeResponse | undefined>;
  signal?: AbortSignal;
}

export interface RevisionSync {
  /** One result for the parent: children from their revisions, status from the latest. */
  result: CompositeResponse | undefined;
  latestRevision: string;
}

function statusCheck(
  checks: readonly StatusConditionCheck[],
  child: KubeObject,
): string | undefined {
  const conditions = (child.status as { conditions?: unknown } | undefined)?.conditions;
  for (const check of checks) {
    const condition = Array.isArray(conditions)
      ? (conditions as Array<{ type?: string; status?: string; reason?: string }>).find(
          (c) => c?.type === check.type,
        )
      : undefined;
    if (!condition) return `required condition type missing: "${check.type}"`;
    if (check.status !== undefined && condition.status !== check.status) {
      return `"${check.type}" condition status is "${condition.status ?? ""}" (want "${check.status}")`;
    }
    if (check.reason !== undefined && condition.reason !== check.reason) {
      return `"${check.type}" condition reason is "${condition.reason ?? ""}" (want "${check.reason}")`;
    }
  }
  return undefined;
}

/** Calls the hook for every revision and advances the rollout by at most one child. */
export async function syncRevisions(options: RevisionSyncOptions): Promise<RevisionSync> {
  const { parent, parentResource, client, signal } = options;
  const fieldPaths = options.fieldPaths?.length ? options.fieldPaths : ["spec"];
  const rolling = new Map(
    options.children
      .filter((kind) => kind.method === "RollingInPlace" || kind.method === "RollingRecreate")
      .map((kind) => [claimKey(kind.group, kind.kind), kind]),
  );
  const observedByName = new Map<string, KubeObject>();
  for (const child of options.observed) {
    observedByName.set(
      `${apiGroupOf(child.apiVersion)}/${child.kind}/${relativeName(parent, child)}`,
      child,
    );
  }

  // Claim this parent's revisions (adopting orphans that match its selector and type labels).
  const typeLabels = {
    [labelApiGroup]: parentResource.group,
    [labelResource]: parentResource.plural,
  };
  const matchesType = selectorMatcher({ matchLabels: typeLabels });
  const matchesRevision: Matcher = (labels) => options.matches(labels) && matchesType(labels);
  const namespace = parent.metadata.namespace ?? "";
  const candidates = options.revisions.store
    .byIndex("namespace", namespace)
    .filter(
      (revision) =>
        revision.metadata.ownerReferences?.some(
          (ref) => ref.controller === true && ref.uid === parent.metadata.uid,
        ) || !revision.metadata.ownerReferences?.some((ref) => ref.controller === true),
    );
  const claimed = await claimChildren(parent, revisionKind, candidates, matchesRevision, {
    client,
    canAdopt: options.canAdopt,
    ...(signal ? { signal } : {}),
  });
  if (claimed.errors.length > 0) {
    throw new Error(
      `can't claim ControllerRevisions: ${claimed.errors.map((e) => e.message).join("; ")}`,
    );
  }
  const observedRevisions = claimed.claimed as ControllerRevision[];

  const latestPatch = makePatch(parent as Json, fieldPaths);
  const latest: ParentRevision = {
    parent,
    revision: undefined as unknown as ControllerRevision,
    observed: undefined,
    desired: new Map(),
  };
  const revisions: ParentRevision[] = [latest];
  for (const revision of observedRevisions) {
    const copy = structuredClone(revision);
    if (jsonEqual(revision.parentPatch ?? {}, latestPatch)) {
      latest.revision = copy;
      latest.observed = revision;
      continue;
    }
    revisions.push({
      parent: applyPatch(
        parent as Json,
        (revision.parentPatch ?? {}) as Json,
        fieldPaths,
      ) as KubeObject,
      revision: copy,
      observed: revision,
      desired: new Map(),
    });
  }
  if (!latest.revision) {
    const patchJson = goJson(latestPatch);
    // Labels that match the parent's selector, so the revision can be claimed again (after an
    // orphaning delete, or by this parent's next sync): the Pod template's, as Metacontroller
    // takes them, else the selector's own matchLabels.
    const spec = parent.spec as Json | undefined;
    const templateLabels = (
      (spec?.template as Json | undefined)?.metadata as
        | { labels?: Record<string, string> }
        | undefined
    )?.labels;
    const selectorLabels = (spec?.selector as { matchLabels?: Record<string, string> } | undefined)
      ?.matchLabels;
    const labels: Record<string, string> = options.generateSelector
      ? { "controller-uid": parent.metadata.uid! }
      : { ...(templateLabels ?? selectorLabels ?? {}) };
    Object.assign(labels, typeLabels);
    latest.revision = {
      apiVersion: metacontrollerApiVersion,
      kind: "ControllerRevision",
      metadata: {
        name: revisionName(parentResource, parent.metadata.uid!, patchJson),
        ...(parent.metadata.namespace ? { namespace: parent.metadata.namespace } : {}),
        labels,
        ownerReferences: [controllerRef(parent)],
      },
      parentPatch: latestPatch,
    };
  }

  // Every revision's idea of the desired children.
  await Promise.all(
    revisions.map(async (pr) => {
      pr.result = await options.callHook(pr.parent);
      if (!pr.result) return;
      for (const child of pr.result.children) {
        pr.desired.set(
          `${apiGroupOf(child.apiVersion)}/${child.kind}/${relativeName(parent, child)}`,
          child,
        );
      }
    }),
  );
  if (!latest.result) return { result: undefined, latestRevision: latest.revision.metadata.name! };

  rollOut(revisions, rolling, observedByName, parent, latest);

  // Revisions with no children left are forgotten (the latest is always kept).
  const kept = [latest, ...revisions.slice(1).filter((pr) => countChildren(pr) > 0)];
  await manageRevisions(client, parent, observedRevisions, kept, signal);

  // Children come from the revision that claims them.
  const desired = new Map(latest.desired);
  for (const pr of kept.slice(1)) {
    for (const entry of pr.revision.children ?? []) {
      for (const name of entry.names) {
        const key = `${entry.apiGroup}/${entry.kind}/${name}`;
        const child = pr.desired.get(key);
        if (child && desired.has(key)) desired.set(key, child);
      }
    }
  }
  let resync = 0;
  for (const pr of revisions) {
    const value = pr.result?.resyncAfterSeconds ?? 0;
    if (value > 0 && (resync === 0 || value < resync)) resync = value;
  }
  return {
    result: {
      status: latest.result.status,
      children: [...desired.values()],
      resyncAfterSeconds: resync,
      finalized: revisions.every((pr) => pr.result?.finalized === true),
    },
    latestRevision: latest.revision.metadata.name!,
  };
}

/** Moves children between revisions (at most one per sync) and sets the `Updated` condition. */
function rollOut(
  revisions: ParentRevision[],
  rolling: ReadonlyMap<string, ChildKind>,
  observed: ReadonlyMap<string, KubeObject>,
  parent: KubeObject,
  latest: ParentRevision,
): void {
  // Each child belongs to one revision; the latest wins; claims on children the latest no
  // longer wants, and on kinds that no longer roll, are dropped.
  const claims = new Map<string, ParentRevision>();
  for (const pr of revisions) {
    const kept: ControllerRevisionChildren[] = [];
    for (const entry of pr.revision.children ?? []) {
      if (!rolling.has(claimKey(entry.apiGroup, entry.kind))) continue;
      const names = entry.names.filter((name) => {
        const key = `${entry.apiGroup}/${entry.kind}/${name}`;
        if (!latest.desired.has(key) || claims.has(key)) return false;
        claims.set(key, pr);
        return true;
      });
      if (names.length > 0) kept.push({ ...entry, names });
    }
    pr.revision.children = kept;
  }

  const upToDate = (child: KubeObject, desired: KubeObject) =>
    isSubset(comparable(desiredBody(parent, desired)), comparable(child));

  for (const [key, desired] of latest.desired) {
    const group = apiGroupOf(desired.apiVersion);
    if (!rolling.has(claimKey(group, desired.kind))) continue;
    const name = key.slice(group.length + desired.kind.length + 2);
    const owner = claims.get(key);
    if (!owner) {
      addChild(latest, group, desired.kind, name);
      claims.set(key, latest);
      continue;
    }
    if (owner === latest) continue;
    // Already what the latest revision wants: move it now (no rollout step needed).
    const child = observed.get(key);
    if (child && upToDate(child, desired)) {
      addChild(latest, group, desired.kind, name);
      removeChild(owner, group, desired.kind, name);
      claims.set(key, latest);
    }
  }

  const status = latest.result!.status ?? {};
  for (const desired of latest.result!.children) {
    const group = apiGroupOf(desired.apiVersion);
    if (!rolling.has(claimKey(group, desired.kind))) continue;
    const name = relativeName(parent, desired);
    const key = `${group}/${desired.kind}/${name}`;
    if (claims.get(key) === latest) continue;
    const waiting = shouldContinue(latest, rolling, observed);
    if (waiting) {
      latest.result!.status = withCondition(status, {
        type: updatedCondition,
        status: "False",
        reason: "RolloutWaiting",
        message: waiting,
      });
      return;
    }
    addChild(latest, group, desired.kind, name);
    for (const pr of revisions.slice(1)) removeChild(pr, group, desired.kind, name);
    latest.result!.status = withCondition(status, {
      type: updatedCondition,
      status: "False",
      reason: "RolloutProgressing",
      message: `updating ${desired.kind} ${name}`,
    });
    return;
  }
  latest.result!.status = withCondition(status, {
    type: updatedCondition,
    status: "True",
    reason: "OnLatestRevision",
    message: `latest ControllerRevision: ${latest.revision.metadata.name}`,
  });
}

/** Why the rollout must wait (a child on the latest revision is not updated or not happy). */
function shouldContinue(
  latest: ParentRevision,
  rolling: ReadonlyMap<string, ChildKind>,
  observed: ReadonlyMap<string, KubeObject>,
): string | undefined {
  for (const entry of latest.revision.children ?? []) {
    const kind = rolling.get(claimKey(entry.apiGroup, entry.kind));
    if (!kind) continue;
    for (const name of entry.names) {
      const key = `${entry.apiGroup}/${entry.kind}/${name}`;
      const child = observed.get(key);
      if (!child) return `missing child ${entry.kind} ${name}`;
      const desired = latest.desired.get(key);
      if (
        desired &&
        !isSubset(comparable(desiredBody(latest.parent, desired)), comparable(child))
      ) {
        return `child ${entry.kind} ${name} is not updated yet`;
      }
      if (kind.method === "RollingInPlace") {
        const observedGeneration = (child.status as { observedGeneration?: unknown } | undefined)
          ?.observedGeneration;
        if (
          typeof observedGeneration === "number" &&
          observedGeneration > 0 &&
          observedGeneration < (child.metadata.generation ?? 0)
        ) {
          return `child ${entry.kind} ${name} with RollingInPlace update strategy hasn't observed latest spec`;
        }
      }
      const failed = statusCheck(kind.statusChecks, child);
      if (failed) return `child ${entry.kind} ${name} failed status check: ${failed}`;
    }
  }
  return undefined;
}

/** Creates, updates and deletes the parent's ControllerRevisions to match `desired`. */
async function manageRevisions(
  client: KubeClient,
  parent: KubeObject,
  observed: readonly ControllerRevision[],
  desired: readonly ParentRevision[],
  signal: AbortSignal | undefined,
): Promise<void> {
  const where = {
    ...(parent.metadata.namespace ? { namespace: parent.metadata.namespace } : {}),
    ...(signal ? { signal } : {}),
  };
  const wanted = new Set(desired.map((pr) => pr.revision.metadata.name));
  for (const revision of observed) {
    if (wanted.has(revision.metadata.name)) continue;
    await client
      .delete(ControllerRevisionType, revision.metadata.name!, {
        ...where,
        preconditions: { uid: revision.metadata.uid! },
      })
      .catch((error: unknown) => {
        if (!isNotFound(error)) throw error;
      });
  }
  for (const pr of desired) {
    const children = pr.revision.children?.length ? pr.revision.children : undefined;
    if (!pr.observed) {
      const { children: _children, ...rest } = pr.revision;
      await client
        .create(
          ControllerRevisionType,
          { ...rest, ...(children ? { children } : {}) } as never,
          where,
        )
        .catch((error: unknown) => {
          // Created by an earlier sync the cache has not caught up with: it comes with the watch.
          if (!isAlreadyExists(error)) throw error;
        });
      continue;
    }
    const before = pr.observed.children?.length ? pr.observed.children : undefined;
    if (jsonEqual(before ?? null, children ?? null)) continue;
    await client.patch(
      ControllerRevisionType,
      pr.revision.metadata.name!,
      {
        metadata: { resourceVersion: pr.observed.metadata.resourceVersion },
        children: children ?? null,
      },
      where,
    );
  }
}
