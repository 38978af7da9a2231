/**
 * The reconcile trace: the record of every sync and finalize (the operator layer's
 * `ReconcileAttempt`, turned into plain JSON), kept in memory with a bound per parent and in
 * total, queried by parent, kind, namespace, errors or churn, and pushed to subscribers as it
 * grows. The manager fills it; its HTTP handler, the viewer, `operon dev`'s lines and the
 * OpenTelemetry exporter read it.
 */
import type {
  AttemptPhase,
  AttemptTrigger,
  FunctionCall,
  NextStep,
  ObjectVersion,
  ReconcileAttempt,
  RecordedParentEvent,
} from "../operator/attempt.ts";
import type { ChildAction } from "../operator/child-applier.ts";
import type { SyncReason } from "../operator/declaration.ts";
import type { FieldDiff } from "../operator/field-diff.ts";
import type { SyncedState } from "../operator/status.ts";
import type { ApiWrite } from "../operator/traced-client.ts";

/** Limits of a {@link TraceStore}. */
export interface TraceLimits {
  /** Records kept per parent, the latest. Default 50. */
  perParent?: number;
  /** Records kept in all; the oldest go first. Default 5,000. */
  total?: number;
}

/** Default records kept per parent. */
export const defaultPerParent = 50;
/** Default records kept in all. */
export const defaultTotal = 5_000;
/** Children listed per record; the rest are counted in `childrenOmitted`. */
export const maxChildrenPerRecord = 200;

/** How a reconcile ended, in one word (the viewer's filters and colours use it). */
export type TraceOutcome =
  /** Nothing failed and nothing waits. */
  | "ok"
  /** The attempt failed and is retried with backoff. */
  | "error"
  /** The result kept changing while its inputs did not: slowed down. */
  | "not-converging"
  /** A desired child's name is held by an object the parent does not control. */
  | "conflict"
  /** Waiting: children going away, `finalize` not done, a requested requeue, a hold. */
  | "waiting"
  /** The parent no longer exists. */
  | "gone";

/** A trigger as recorded, with the reconcile whose write caused it when there is one. */
export interface TraceTrigger extends AttemptTrigger {
  /** The `reconcileId` whose API write produced this event (an echo of Operon's own write). */
  causedBy?: string;
}

/** One reconcile of one parent, as plain JSON. */
export interface TraceRecord {
  /** Position in the store, increasing: ask for records `since` one seen. */
  seq: number;
  reconcileId: string;
  operator: string;
  /** The parent's `apiVersion` and `kind`. */
  apiVersion: string;
  kind: string;
  /** The parent's key: `namespace/name`, or `name` when cluster-scoped. */
  key: string;
  namespace?: string;
  name: string;
  phase: AttemptPhase;
  outcome: TraceOutcome;
  reasons: SyncReason[];
  /** The watch events that queued the parent (traced operators). */
  triggers: TraceTrigger[];
  /** The objects `sync`/`finalize` read, at the versions read. */
  read: ObjectVersion[];
  /** The parent's `resourceVersion` as read. */
  parentResourceVersion?: string;
  attempt: number;
  startedAt: string;
  /** The start in ms since the epoch, precise (traced operators). */
  startedAtMs?: number;
  durationMs: number;
  /** Time in the user's `sync` or `finalize`. */
  functionMs?: number;
  /** Time in Operon's writes (children, status, finalizer). */
  writesMs: number;
  call?: FunctionCall;
  finalizer?: "added" | "removed" | "conflict";
  /** Per child: the action, writes, and the field diff of what changed on the server. */
  children: ChildAction[];
  /** Children not listed (beyond the first 200). */
  childrenOmitted?: number;
  synced?: SyncedState;
  statusWritten: boolean;
  statusDiff?: FieldDiff;
  events: RecordedParentEvent[];
  churn?: { rounds: number; delayMs: number; message: string };
  heldForMs?: number;
  writes: number;
  apiWrites: ApiWrite[];
  error?: { name: string; message: string };
  next: NextStep;
}

/** A parent in the trace, with its health from its latest record. */
export interface TraceParent {
  operator: string;
  apiVersion: string;
  kind: string;
  key: string;
  namespace?: string;
  name: string;
  /** The latest record's outcome. */
  health: TraceOutcome;
  /** Why, in a few words: the error, the Synced message, the wait. */
  summary: string;
  lastSeq: number;
  lastAt: string;
  /** Records kept for it. */
  records: number;
  /** Reconciles seen since the store started (also those no longer kept). */
  reconciles: number;
  errors: number;
}

/** What to select; every field narrows. */
export interface TraceQuery {
  operator?: string;
  /** A parent key (`namespace/name`). */
  key?: string;
  kind?: string;
  namespace?: string;
  /** Only failed attempts. */
  errors?: boolean;
  /** Only attempts slowed down for not converging. */
  churn?: boolean;
  /** Only records after this `seq`. */
  since?: number;
  /** The latest this many. Default all. */
  limit?: number;
}

/** The outcome word of an attempt. */
export function outcomeOf(attempt: ReconcileAttempt): TraceOutcome {
  if (attempt.phase === "gone") return "gone";
  if (attempt.error) return "error";
  if (attempt.churn) return "not-converging";
  if ((attempt.children?.conflicts.length ?? 0) > 0) return "conflict";
  if (attempt.next.kind === "requeue" && attempt.next.because !== "requested") return "waiting";
  if (attempt.call?.finalized === false) return "waiting";
  return "ok";
}

function summaryOf(record: TraceRecord): string {
  if (record.error) return record.error.message;
  if (record.phase === "gone") return "deleted";
  if (record.synced && record.synced.status !== "True") return record.synced.message;
  if (record.next.kind === "requeue" && record.next.because !== "requested")
    return `waiting (${record.next.because})`;
  return record.synced?.message ?? record.phase;
}

/** The JSON record of an attempt of `operator` on a parent of `parentType` (without its `seq`). */
export function traceRecordOf(
  operator: string,
  parentType: { apiVersion: string; kind: string },
  attempt: ReconcileAttempt,
): Omit<TraceRecord, "seq"> {
  const slash = attempt.key.indexOf("/");
  const namespace = slash >= 0 ? attempt.key.slice(0, slash) : undefined;
  const name = slash >= 0 ? attempt.key.slice(slash + 1) : attempt.key;
  const detail = attempt.detail;
  const actions = attempt.children?.actions ?? [];
  return {
    reconcileId: attempt.reconcileId,
    operator,
    apiVersion: parentType.apiVersion,
    kind: parentType.kind,
    key: attempt.key,
    ...(namespace ? { namespace } : {}),
    name,
    phase: attempt.phase,
    outcome: outcomeOf(attempt),
    reasons: attempt.reasons,
    triggers: detail?.triggers ?? [],
    read: detail?.read ?? [],
    ...(detail?.parent?.resourceVersion
      ? { parentResourceVersion: detail.parent.resourceVersion }
      : {}),
    attempt: attempt.attempt,
    startedAt: attempt.startedAt,
    ...(detail ? { startedAtMs: Math.round(detail.startedAtMs * 1000) / 1000 } : {}),
    durationMs: attempt.durationMs,
    ...(attempt.call ? { functionMs: attempt.call.durationMs, call: attempt.call } : {}),
    writesMs: attempt.writesMs,
    ...(attempt.finalizer ? { finalizer: attempt.finalizer } : {}),
    children: actions.slice(0, maxChildrenPerRecord),
    ...(actions.length > maxChildrenPerRecord
      ? { childrenOmitted: actions.length - maxChildrenPerRecord }
      : {}),
    ...(attempt.synced ? { synced: attempt.synced } : {}),
    statusWritten: attempt.statusWritten,
    ...(detail?.statusDiff ? { statusDiff: detail.statusDiff } : {}),
    events: attempt.events,
    ...(attempt.churn
      ? {
          churn: {
            rounds: attempt.churn.rounds,
            delayMs: attempt.churn.delayMs,
            message: attempt.churn.message,
          },
        }
      : {}),
    ...(attempt.heldForMs !== undefined ? { heldForMs: attempt.heldForMs } : {}),
    writes: attempt.writes,
    apiWrites: detail?.apiWrites ?? [],
    ...(attempt.error
      ? {
          error: {
            name: attempt.error.name,
            message: attempt.error.message || attempt.error.name,
          },
        }
      : {}),
    next: attempt.next,
  };
}

interface ParentEntry {
  summary: TraceParent;
  records: TraceRecord[];
}

const maxWriteIndex = 20_000;

/**
 * Records of reconciles, bounded per parent (50 by default) and in total (5,000 by default):
 * the oldest go first.
 *
 * @example
 * const store = new TraceStore({ perParent: 20 });
 * store.add("myapp", MyApp, attempt);
 * store.records({ key: "default/shop", errors: true });
 */
export class TraceStore {
  readonly perParent: number;
  readonly total: number;
  readonly #parents = new Map<string, ParentEntry>();
  /** Insertion order of every record kept (or dropped since per parent): parent id and seq. */
  #order: { id: string; seq: number }[] = [];
  #orderHead = 0;
  #count = 0;
  #seq = 0;
  /** `uid@resourceVersion` of objects Operon wrote → the reconcile that wrote them. */
  readonly #writers = new Map<string, string>();
  readonly #listeners = new Set<(record: TraceRecord) => void>();

  constructor(limits: TraceLimits = {}) {
    this.perParent = Math.max(1, limits.perParent ?? defaultPerParent);
    this.total = Math.max(1, limits.total ?? defaultTotal);
  }

  /** Records kept now. */
  get size(): number {
    return this.#count;
  }

  /** Adds the record of an attempt of `operator` on a parent of `parentType`; returns it. */
  add(
    operator: string,
    parentType: { apiVersion: string; kind: string },
    attempt: ReconcileAttempt,
  ): TraceRecord {
    return this.addRecord(traceRecordOf(operator, parentType, attempt));
  }

  /**
   * Adds a record made elsewhere (another process's store: `operon dev` keeps its operators'
   * records across restarts). Its `seq` is renumbered and its triggers linked to the writes
   * that caused them; returns it as stored.
   */
  addRecord(made: Omit<TraceRecord, "seq"> & { seq?: number }): TraceRecord {
    const triggers = made.triggers.map(({ causedBy: _stale, ...trigger }): TraceTrigger => {
      const object = trigger.object;
      const writer =
        object?.uid && object.resourceVersion
          ? this.#writers.get(`${object.uid}@${object.resourceVersion}`)
          : undefined;
      return writer ? { ...trigger, causedBy: writer } : trigger;
    });
    const record: TraceRecord = { ...made, seq: ++this.#seq, triggers };
    for (const write of record.apiWrites) {
      if (!write.uid || !write.resourceVersion || write.dryRun) continue;
      this.#writers.set(`${write.uid}@${write.resourceVersion}`, record.reconcileId);
      if (this.#writers.size > maxWriteIndex) {
        this.#writers.delete(this.#writers.keys().next().value!);
      }
    }
    const operator = record.operator;
    const id = `${operator}\u0000${record.key}`;
    let entry = this.#parents.get(id);
    if (!entry) {
      entry = {
        summary: {
          operator,
          apiVersion: record.apiVersion,
          kind: record.kind,
          key: record.key,
          ...(record.namespace ? { namespace: record.namespace } : {}),
          name: record.name,
          health: record.outcome,
          summary: "",
          lastSeq: 0,
          lastAt: record.startedAt,
          records: 0,
          reconciles: 0,
          errors: 0,
        },
        records: [],
      };
      this.#parents.set(id, entry);
    }
    entry.records.push(record);
    this.#count++;
    if (entry.records.length > this.perParent) {
      entry.records.shift();
      this.#count--;
    }
    const summary = entry.summary;
    summary.health = record.outcome;
    summary.summary = summaryOf(record);
    summary.lastSeq = record.seq;
    summary.lastAt = record.startedAt;
    summary.records = entry.records.length;
    summary.reconciles++;
    if (record.outcome === "error") summary.errors++;
    this.#order.push({ id, seq: record.seq });
    this.#evict();
    for (const listener of this.#listeners) listener(record);
    return record;
  }

  #evict(): void {
    while (this.#count > this.total && this.#orderHead < this.#order.length) {
      const { id, seq } = this.#order[this.#orderHead++]!;
      const entry = this.#parents.get(id);
      if (!entry || entry.records[0]?.seq !== seq) continue; // already dropped per parent
      entry.records.shift();
      this.#count--;
      entry.summary.records = entry.records.length;
      if (entry.records.length === 0) this.#parents.delete(id);
    }
    // The order list also holds entries dropped per parent: compact it now and then.
    if (this.#orderHead > this.total || this.#order.length > 2 * this.total + 1_000) {
      this.#order = this.#order.slice(this.#orderHead).filter(({ id, seq }) => {
        const records = this.#parents.get(id)?.records;
        return records !== undefined && records.length > 0 && records[0]!.seq <= seq;
      });
      this.#orderHead = 0;
    }
  }

  /** The parents with records, most recently reconciled first. */
  parents(query: Pick<TraceQuery, "operator" | "kind" | "namespace"> = {}): TraceParent[] {
    const out: TraceParent[] = [];
    for (const { summary } of this.#parents.values()) {
      if (query.operator !== undefined && summary.operator !== query.operator) continue;
      if (query.kind !== undefined && summary.kind !== query.kind) continue;
      if (query.namespace !== undefined && summary.namespace !== query.namespace) continue;
      out.push({ ...summary });
    }
    return out.sort((a, b) => b.lastSeq - a.lastSeq);
  }

  /** The records that match, oldest first. */
  records(query: TraceQuery = {}): TraceRecord[] {
    const entries =
      query.key !== undefined
        ? [...this.#parents.values()].filter((entry) => entry.summary.key === query.key)
        : [...this.#parents.values()];
    const out: TraceRecord[] = [];
    for (const entry of entries) {
      const { summary } = entry;
      if (query.operator !== undefined && summary.operator !== query.operator) continue;
      if (query.kind !== undefined && summary.kind !== query.kind) continue;
      if (query.namespace !== undefined && summary.namespace !== query.namespace) continue;
      for (const record of entry.records) {
        if (query.since !== undefined && record.seq <= query.since) continue;
        if (query.errors && record.outcome !== "error") continue;
        if (query.churn && record.outcome !== "not-converging") continue;
        out.push(record);
      }
    }
    out.sort((a, b) => a.seq - b.seq);
    return query.limit !== undefined ? out.slice(-query.limit) : out;
  }

  /** One record by its `reconcileId`. */
  record(reconcileId: string): TraceRecord | undefined {
    for (const entry of this.#parents.values()) {
      const found = entry.records.find((record) => record.reconcileId === reconcileId);
      if (found) return found;
    }
    return undefined;
  }

  /** Calls `listener` with every record added from now on; returns the unsubscribe function. */
  subscribe(listener: (record: TraceRecord) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
