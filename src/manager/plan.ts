/**
 * What operators would do to a live cluster, without doing it: the same runtime and reconcile
 * pipeline `operon run` uses — informers, the snapshot, the request `sync` receives, the child
 * diffing — driven once per parent with a client whose every write is a server-side dry run.
 * The API server validates and answers each write as it would store it, and stores nothing; no
 * Event is written and no parent being deleted is cleaned up.
 */
import { clientListWatch } from "../cache/client-source.ts";
import { InformerFactory } from "../cache/shared-informers.ts";
import type { KubeClient } from "../client/client.ts";
import { silentLogger } from "../logger.ts";
import type { Operator } from "../operator/declaration.ts";
import { OperatorRuntime } from "../operator/runtime.ts";
import { type TraceRecord, traceRecordOf } from "./trace-store.ts";

/** What a plan found for one parent. */
export interface PlannedParent {
  /** The record of the dry-run reconcile: children with actions and diffs, status diff, error. */
  record: Omit<TraceRecord, "seq">;
  /** Whether anything would change (a child written, the status, the finalizer). */
  changes: boolean;
}

/** Options of {@link planOperators}. */
export interface PlanOptions {
  /** Only parents whose key (`namespace/name` or `name`) this accepts. */
  parents?: (key: string) => boolean;
  /** Only parents in this namespace (the operators are limited to it). */
  namespace?: string;
  signal?: AbortSignal;
}

/** True when the record shows something that would be written. */
export function wouldChange(record: Omit<TraceRecord, "seq">): boolean {
  return (
    record.statusWritten ||
    record.finalizer === "added" ||
    record.children.some((child) => child.writes > 0 || child.action === "recreating")
  );
}

/**
 * Plans every parent of `operators`. `client` must make every write a dry run
 * (`KubeClient.fromKubeConfig({ dryRun: true })`); a client that does not is refused.
 *
 * @example
 * const client = await KubeClient.fromKubeConfig({ dryRun: true });
 * const planned = await planOperators(client, [myapp]);
 * planned.filter((p) => p.changes).map((p) => p.record.key);
 */
export async function planOperators(
  client: KubeClient,
  operators: readonly Operator[],
  options: PlanOptions = {},
): Promise<PlannedParent[]> {
  if (!client.dryRun) {
    throw new Error("a plan needs a client that makes every write a dry run ({ dryRun: true })");
  }
  const abort = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, abort.signal]) : abort.signal;
  const informers = new InformerFactory({ client: clientListWatch(client), logger: silentLogger });
  try {
    const runtimes: OperatorRuntime[] = [];
    for (const declared of operators) {
      const operator =
        options.namespace === undefined ? declared : { ...declared, namespace: options.namespace };
      const runtime = new OperatorRuntime(operator, {
        client,
        informers,
        logger: silentLogger,
        planOnly: true,
      });
      await runtime.setup();
      runtimes.push(runtime);
    }
    informers.start(signal);
    await informers.waitForSync(signal);
    const planned: PlannedParent[] = [];
    for (const runtime of runtimes) {
      for (const attempt of await runtime.planAll(options.parents, signal)) {
        const record = traceRecordOf(runtime.operator.name, runtime.operator.parent, attempt);
        planned.push({ record, changes: wouldChange(record) });
      }
    }
    return planned;
  } finally {
    abort.abort();
    await informers.stop().catch(() => {});
  }
}
