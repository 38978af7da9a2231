/**
 * Children the way Metacontroller manages them, on server-side apply:
 * - claims (the ControllerRef rules): a parent keeps the objects it controls that still match its
 *   selector, adopts orphans that match, releases what no longer matches, and never touches an
 *   object another owner controls;
 * - the desired children the hook returned: created when missing (a plain create, so a foreign
 *   object with the same name is never overwritten), brought up to date by the child type's
 *   update method (`OnDelete`, `Recreate`, `InPlace`, and the rolling variants), deleted when the
 *   hook leaves them out.
 *
 * Writes happen only when something differs: an `InPlace` child is applied when the hook's
 * desired state changed or a field it sets differs on the server; a `Recreate` child is deleted
 * only when a dry-run apply shows the server would change it, so fields other managers set are
 * never a reason to recreate.
 */
import type { KubeClient } from "../client/client.ts";
import { isAlreadyExists, isConflict, isNotFound } from "../client/errors.ts";
import { jsonEqual } from "../common/json.ts";
import { isSubset, stableHash } from "../operator/drift.ts";
import { foldCreatedFields } from "../operator/field-ownership.ts";
import type { KubeObject, OwnerReference, ResourceType } from "../resources/object.ts";
import type { Matcher } from "./selector.ts";
import type { ChildUpdateMethod, StatusConditionCheck } from "./types.ts";

/** A child (or attachment) type of a controller, resolved through discovery. */
export interface ChildKind {
  apiVersion: string;
  kind: string;
  /** API group, `""` for the core group. */
  group: string;
  plural: string;
  namespaced: boolean;
  type: ResourceType;
  method: ChildUpdateMethod;
  statusChecks: StatusConditionCheck[];
}

/** Metacontroller's annotation of the last applied configuration (its client-side apply). */
export const lastAppliedAnnotation = "metacontroller.k8s.io/last-applied-configuration";

/** `group/Kind`: how children are matched regardless of version. */
export function groupKind(apiVersion: string, kind: string): string {
  const slash = apiVersion.indexOf("/");
  return `${slash < 0 ? "" : apiVersion.slice(0, slash)}/${kind}`;
}

function childId(object: { apiVersion: string; kind: string; metadata: KubeObject["metadata"] }) {
  return `${groupKind(object.apiVersion, object.kind)}/${object.metadata.namespace ?? ""}/${object.metadata.name}`;
}

/** `Kind namespace/name`, for messages. */
export function describeObject(object: KubeObject): string {
  const { namespace, name } = object.metadata;
  return `${object.kind} ${namespace ? `${namespace}/` : ""}${name}`;
}

/** A controller ownerReference to `parent`. */
export function controllerRef(parent: KubeObject): OwnerReference {
  return {
    apiVersion: parent.apiVersion,
    kind: parent.kind,
    name: parent.metadata.name!,
    uid: parent.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function controllerOf(object: KubeObject): OwnerReference | undefined {
  return object.metadata.ownerReferences?.find((ref) => ref.controller === true);
}

// ---------------------------------------------------------------------------------------------
// Claims

export interface ClaimContext {
  client: KubeClient;
  /** Checks (once per sync, with an uncached read) that the parent may still adopt. */
  canAdopt: () => Promise<void>;
  signal?: AbortSignal;
  /** Called after each adoption or release (a write). */
  onWrite?: (what: "adopted" | "released", object: KubeObject) => void;
}

/**
 * Applies the ControllerRef rules to `candidates` (objects of one child type the parent controls,
 * plus orphans): returns those the parent now owns. Failures are collected, not thrown, so one
 * object does not stop the others.
 */
export async function claimChildren(
  parent: KubeObject,
  kind: ChildKind,
  candidates: readonly KubeObject[],
  matches: Matcher,
  context: ClaimContext,
): Promise<{ claimed: KubeObject[]; errors: Error[] }> {
  const claimed: KubeObject[] = [];
  const errors: Error[] = [];
  const uid = parent.metadata.uid!;
  const deleting = parent.metadata.deletionTimestamp !== undefined;
  await Promise.all(
    candidates.map(async (child) => {
      const owner = controllerOf(child);
      const selected = matches(child.metadata.labels);
      if (owner) {
        if (owner.uid !== uid) return; // someone else's
        if (selected) {
          claimed.push(child);
          return;
        }
        if (deleting) return;
        try {
          await setOwnerReferences(
            context.client,
            kind,
            child,
            (child.metadata.ownerReferences ?? []).filter((ref) => ref.uid !== uid),
            context.signal,
          );
          context.onWrite?.("released", child);
        } catch (error) {
          if (!isNotFound(error))
            errors.push(asError(error, `can't release ${describeObject(child)}`));
        }
        return;
      }
      // An orphan.
      if (deleting || !selected || child.metadata.deletionTimestamp) return;
      try {
        await context.canAdopt();
        const refs = (child.metadata.ownerReferences ?? []).filter((ref) => ref.uid !== uid);
        refs.push(controllerRef(parent));
        const adopted = await setOwnerReferences(context.client, kind, child, refs, context.signal);
        context.onWrite?.("adopted", child);
        claimed.push(adopted);
      } catch (error) {
        if (!isNotFound(error)) {
          errors.push(
            asError(
              error,
              `can't adopt ${kind.kind} ${child.metadata.namespace ?? ""}/${child.metadata.name}`,
            ),
          );
        }
      }
    }),
  );
  return { claimed, errors };
}

function asError(error: unknown, context: string): Error {
  const message = error instanceof Error ? error.message : String(error);
  return new Error(`${context}: ${message}`, { cause: error });
}

/** Replaces the ownerReferences, failing with a conflict if the object changed since it was read. */
function setOwnerReferences(
  client: KubeClient,
  kind: ChildKind,
  child: KubeObject,
  refs: OwnerReference[],
  signal: AbortSignal | undefined,
): Promise<KubeObject> {
  return client.patch(
    kind.type,
    child.metadata.name!,
    { metadata: { resourceVersion: child.metadata.resourceVersion, ownerReferences: refs } },
    {
      ...(child.metadata.namespace ? { namespace: child.metadata.namespace } : {}),
      ...(signal ? { signal } : {}),
    },
  );
}

// ---------------------------------------------------------------------------------------------
// Managing children

/**
 * What was last applied to each child (by UID): the hash of the desired state and the
 * resourceVersion the server returned. A child still at that version with the same desired state
 * needs nothing; a changed desired state is applied even when every field it sets already
 * matches, since it may drop fields.
 */
export class AppliedState {
  readonly #entries = new Map<string, { hash: string; resourceVersion: string }>();

  remember(uid: string, hash: string, resourceVersion: string): void {
    this.#entries.set(uid, { hash, resourceVersion });
  }

  matches(uid: string, hash: string, resourceVersion: string | undefined): boolean {
    const entry = this.#entries.get(uid);
    return entry !== undefined && entry.hash === hash && entry.resourceVersion === resourceVersion;
  }

  hashOf(uid: string): string | undefined {
    return this.#entries.get(uid)?.hash;
  }

  forget(uid: string | undefined): void {
    if (uid) this.#entries.delete(uid);
  }

  get size(): number {
    return this.#entries.size;
  }
}

/** What one pass over a parent's children did. */
export interface ManageOutcome {
  writes: number;
  created: string[];
  updated: string[];
  deleted: string[];
  recreated: string[];
  /** Desired names held by objects the parent does not control. */
  conflicts: string[];
  errors: Error[];
}

export interface ManageOptions {
  client: KubeClient;
  fieldManager: string;
  memory: AppliedState;
  /** The child type of a desired or observed object, by `group/Kind`. */
  kindOf(apiVersion: string, kind: string): ChildKind | undefined;
  /** The cached object of a type with this name, whoever controls it (to spot foreign objects). */
  cached(kind: ChildKind, namespace: string | undefined, name: string): KubeObject | undefined;
  signal?: AbortSignal;
}

/** Metadata the server owns: never a difference worth a write. */
const systemMetadata = [
  "selfLink",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "managedFields",
] as const;

/** The object without server-owned metadata and status, for comparisons. */
export function comparable(object: KubeObject): Record<string, unknown> {
  const { status: _status, metadata, ...rest } = object;
  const meta: Record<string, unknown> = { ...metadata };
  for (const field of systemMetadata) delete meta[field];
  return { ...rest, metadata: meta };
}

/** The desired child as it is applied: status and server-owned metadata removed, owned by the parent. */
export function desiredBody(parent: KubeObject, desired: KubeObject): KubeObject {
  const body = comparable(desired) as KubeObject;
  const annotations = body.metadata.annotations;
  if (annotations && lastAppliedAnnotation in annotations) {
    const { [lastAppliedAnnotation]: _dropped, ...rest } = annotations;
    body.metadata = { ...body.metadata, annotations: rest };
  }
  const refs = body.metadata.ownerReferences ?? [];
  if (!refs.some((ref) => ref.uid === parent.metadata.uid)) {
    body.metadata = { ...body.metadata, ownerReferences: [...refs, controllerRef(parent)] };
  }
  return body;
}

function where(namespace: string | undefined, signal: AbortSignal | undefined) {
  return { ...(namespace ? { namespace } : {}), ...(signal ? { signal } : {}) };
}

/**
 * Brings the children to `desired`: deletes observed children the hook left out, creates the
 * missing ones and updates the others by their type's method. Every child is handled on its own;
 * the outcome lists what failed.
 */
export async function manageChildren(
  parent: KubeObject,
  observed: readonly KubeObject[],
  desired: readonly KubeObject[],
  options: ManageOptions,
): Promise<ManageOutcome> {
  const outcome: ManageOutcome = {
    writes: 0,
    created: [],
    updated: [],
    deleted: [],
    recreated: [],
    conflicts: [],
    errors: [],
  };
  const { client, fieldManager, memory, signal } = options;
  const wanted = new Set(desired.map(childId));
  const byId = new Map(observed.map((object) => [childId(object), object]));

  const deletions = observed.map(async (object) => {
    if (object.metadata.deletionTimestamp || wanted.has(childId(object))) return;
    const kind = options.kindOf(object.apiVersion, object.kind);
    if (!kind) return;
    try {
      await client.delete(kind.type, object.metadata.name!, {
        ...where(object.metadata.namespace, signal),
        preconditions: { uid: object.metadata.uid! },
        // Some kinds orphan their dependents by default; users expect them gone.
        propagationPolicy: "Background",
      });
      memory.forget(object.metadata.uid);
      outcome.writes++;
      outcome.deleted.push(describeObject(object));
    } catch (error) {
      if (!isNotFound(error) && !isConflict(error)) {
        outcome.errors.push(asError(error, `can't delete ${describeObject(object)}`));
      }
    }
  });

  const updates = desired.map(async (child) => {
    const kind = options.kindOf(child.apiVersion, child.kind);
    if (!kind) {
      outcome.errors.push(
        new Error(
          `${describeObject(child)}: ${child.apiVersion} ${child.kind} is not a child resource of this controller`,
        ),
      );
      return;
    }
    const body = desiredBody(parent, child);
    const namespace = kind.namespaced ? child.metadata.namespace : undefined;
    const label = describeObject(child);
    const live = byId.get(childId(child));
    try {
      if (!live) {
        const cached = options.cached(kind, namespace, child.metadata.name!);
        const owner = cached ? controllerOf(cached) : undefined;
        if (owner && owner.uid !== parent.metadata.uid) {
          outcome.conflicts.push(`${label} exists and is ${ownerText(cached!)}`);
          return;
        }
        if (owner) return; // ours but no longer matching: released by the next claim
        if (cached) {
          // An orphan with the desired name: applying the desired state adopts it, as
          // Metacontroller's server-side apply does; nobody else controls it.
          outcome.writes += await apply(kind, body, namespace, stableHash(body), options);
          outcome.updated.push(label);
          return;
        }
        await create(kind, body, namespace, label, parent, outcome, options);
        return;
      }
      if (live.metadata.deletionTimestamp) return; // recreated once gone
      const hash = stableHash(body);
      const uid = live.metadata.uid!;
      if (memory.matches(uid, hash, live.metadata.resourceVersion)) return;
      const method = kind.method;
      if (method === "OnDelete") return;
      const changedSinceApply = memory.hashOf(uid) !== undefined && memory.hashOf(uid) !== hash;
      const differs = !isSubset(comparable(body), comparable(live));
      if (!differs && !changedSinceApply) {
        memory.remember(uid, hash, live.metadata.resourceVersion!);
        return;
      }
      if (method === "Recreate" || method === "RollingRecreate") {
        // Only a change the server would make is a reason to recreate: a dry run tells.
        const dryRun = await client.apply(kind.type, body as never, {
          fieldManager,
          force: true,
          dryRun: true,
          ...where(namespace, signal),
        });
        if (dryRun.metadata.uid !== uid) return; // replaced meanwhile: the watch brings it
        if (jsonEqual(comparable(dryRun), comparable(live))) {
          memory.remember(uid, hash, live.metadata.resourceVersion!);
          return;
        }
        await client.delete(kind.type, child.metadata.name!, {
          ...where(namespace, signal),
          preconditions: { uid },
          propagationPolicy: "Background",
        });
        memory.forget(uid);
        outcome.writes++;
        outcome.recreated.push(label);
        return;
      }
      // InPlace, RollingInPlace.
      if (live.metadata.annotations?.[lastAppliedAnnotation] !== undefined) {
        // Left by Metacontroller's client-side apply; its content would mislead anyone reading it.
        const escaped = lastAppliedAnnotation.replaceAll("~", "~0").replaceAll("/", "~1");
        await client.patch(
          kind.type,
          child.metadata.name!,
          [{ op: "remove", path: `/metadata/annotations/${escaped}` }],
          where(namespace, signal),
        );
        outcome.writes++;
      }
      outcome.writes += await apply(kind, body, namespace, hash, options);
      outcome.updated.push(label);
    } catch (error) {
      // Changed, created or deleted meanwhile: the watch brings the news and a new sync.
      if (isConflict(error) || isNotFound(error)) return;
      outcome.errors.push(asError(error, `can't update ${label}`));
    }
  });

  await Promise.all([...deletions, ...updates]);
  outcome.deleted.sort();
  return outcome;
}

function ownerText(object: KubeObject): string {
  const owner = controllerOf(object);
  return owner ? `controlled by ${owner.kind} ${owner.name}` : "not controlled by this parent";
}

async function create(
  kind: ChildKind,
  body: KubeObject,
  namespace: string | undefined,
  label: string,
  parent: KubeObject,
  outcome: ManageOutcome,
  options: ManageOptions,
): Promise<void> {
  const { client, fieldManager, memory, signal } = options;
  try {
    const created = await client.create(kind.type, body as never, {
      fieldManager,
      ...where(namespace, signal),
    });
    memory.remember(created.metadata.uid!, stableHash(body), created.metadata.resourceVersion!);
    outcome.writes++;
    outcome.created.push(label);
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
    // Taken by an object the caches have not seen: never overwrite it unless it is ours.
    const found = await client
      .get(kind.type, body.metadata.name!, where(namespace, signal))
      .catch((readError: unknown) => {
        if (isNotFound(readError)) return undefined;
        throw readError;
      });
    if (found && controllerOf(found)?.uid !== parent.metadata.uid) {
      outcome.conflicts.push(`${label} exists and is ${ownerText(found)}`);
    }
  }
}

/** Server-side apply of `body`; returns the writes it took. */
async function apply(
  kind: ChildKind,
  body: KubeObject,
  namespace: string | undefined,
  hash: string,
  options: ManageOptions,
): Promise<number> {
  const { client, fieldManager, memory, signal } = options;
  const write = () =>
    client.apply(kind.type, body as never, {
      fieldManager,
      force: true,
      ...where(namespace, signal),
    });
  let result = await write();
  let writes = 1;
  // Fields the create (or Metacontroller's client-side apply under the same manager) wrote are
  // owned through an `Update` entry; fold them into the apply entry so that fields the hook no
  // longer returns are removed.
  const folded = foldCreatedFields(result.metadata.managedFields, fieldManager);
  if (folded) {
    await client.patch(
      kind.type,
      body.metadata.name!,
      [
        { op: "test", path: "/metadata/resourceVersion", value: result.metadata.resourceVersion },
        { op: "replace", path: "/metadata/managedFields", value: folded },
      ],
      where(namespace, signal),
    );
    result = await write();
    writes += 2;
  }
  memory.remember(result.metadata.uid!, hash, result.metadata.resourceVersion!);
  return writes;
}
