/**
 * A sharded operator on one replica: it joins the operator's ring by holding its own member
 * Lease, reconciles the parents the coordinator labelled with its name (its informers select
 * only those, on the server), and lets a parent go when the coordinator asks (the drain label):
 * it finishes the sync in progress, starts no other, hands the parent's children to the next
 * member and removes both labels from the parent, so the coordinator can assign it on.
 *
 * Losing the member Lease (renewals failing for the renew deadline) stops everything at once,
 * before the Lease runs out on the coordinator's clock and the parents are reassigned.
 *
 * @module
 */
import type { HandlerRegistration } from "../../cache/handlers.ts";
import { CONTROLLER_INDEX, LABEL_INDEX } from "../../cache/indexes.ts";
import type { KubeClient } from "../../client/client.ts";
import { isNotFound } from "../../client/errors.ts";
import { parentUidLabel } from "../../operator/ownership.ts";
import type { OperatorLogger } from "../../operator/reconciler.ts";
import type { OperatorRuntime } from "../../operator/runtime.ts";
import { WorkQueue } from "../../queue/work-queue.ts";
import { Lease } from "../../resources/coordination.ts";
import type { KubeObject } from "../../resources/object.ts";
import { objectKey } from "../../resources/object.ts";
import { escapePointerToken } from "../../webhook/json-patch.ts";
import { KubeLeaseLock, LeaderElector } from "../leader-election.ts";
import type { Runnable } from "../runnable.ts";
import type { OperatorRunnable } from "../runnables.ts";
import { drainLabel, memberLeaseName, ringLabel, shardLabel } from "./labels.ts";
import type { ShardMetrics } from "./metrics.ts";

/** Lease timings, as leader election's. */
export interface LeaseTimings {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

/** Options of {@link ShardMemberRunnable}. */
export interface ShardMemberOptions {
  runtime: OperatorRuntime;
  /** Runs the operator's queue and workers. */
  operator: OperatorRunnable;
  /** For the parents' and children's labels. */
  client: KubeClient;
  /** For the member Lease (its own connections, as leader election's). */
  leaseClient: KubeClient;
  /** Where the member Leases live. */
  namespace: string;
  member: string;
  timings: LeaseTimings;
  logger: OperatorLogger;
  metrics: ShardMetrics;
  /** The member Lease was lost: the manager stops, as when leadership is lost. */
  onLost(reason: string): void;
}

/**
 * One replica's part of a sharded operator, as a runnable of every replica.
 *
 * @example
 * manager.#others.add(new ShardMemberRunnable({ runtime, operator, client, ... }));
 */
export class ShardMemberRunnable implements Runnable {
  readonly name: string;
  readonly needLeaderElection = false;
  readonly member: string;
  readonly #options: ShardMemberOptions;
  readonly #operatorName: string;
  readonly #shard: string;
  readonly #drain: string;
  readonly #lease: string;
  /** Parents let go of (or being let go of), until they leave this replica's cache. */
  readonly #released = new Set<string>();
  #elector: LeaderElector | undefined;
  #handovers: WorkQueue | undefined;
  #registration: HandlerRegistration | undefined;
  #holding = false;
  #lost = false;

  constructor(options: ShardMemberOptions) {
    this.#options = options;
    this.#operatorName = options.runtime.operator.name;
    this.member = options.member;
    this.name = `shard member ${this.#operatorName}`;
    this.#shard = shardLabel(this.#operatorName);
    this.#drain = drainLabel(this.#operatorName);
    this.#lease = memberLeaseName(this.#operatorName, options.member);
  }

  /** Whether this replica holds its member Lease. */
  get holding(): boolean {
    return this.#holding;
  }

  async start(signal: AbortSignal): Promise<void> {
    const { logger, metrics, namespace, timings } = this.#options;
    const labels = { operator: this.#operatorName, member: this.member };
    metrics.membership.set(labels, 0);
    await new Promise<void>((resolve, reject) => {
      const elector = new LeaderElector({
        lock: new KubeLeaseLock(this.#options.leaseClient, namespace, this.#lease, {
          labels: { [ringLabel]: this.#operatorName },
        }),
        identity: this.member,
        ...timings,
        // A graceful stop deletes the Lease instead (below); a stop at once leaves it to expire.
        releaseOnStop: false,
        // Its lines speak of "the leader": this replica says "joined the shard ring" instead,
        // and the manager reports a loss.
        logger: {
          debug: (fields, message) => logger.debug(fields, message),
          info: (fields, message) => logger.debug(fields, message),
          warn: (fields, message) => logger.warn(fields, message),
          error: (fields, message) => logger.error(fields, message),
        },
        onElected: resolve,
        onLost: (reason) => this.#loseMembership(reason),
        onLeaderChange: (holder) => {
          if (holder && holder !== this.member)
            logger.warn(
              { lease: `${namespace}/${this.#lease}`, holder },
              "the shard member Lease is held by another process (two replicas with one member id?); waiting for it to run out",
            );
        },
      });
      this.#elector = elector;
      const aborted = () => {
        void elector.stop();
        reject(signal.reason);
      };
      if (signal.aborted) return aborted();
      signal.addEventListener("abort", aborted, { once: true });
      elector.start();
    });
    this.#holding = true;
    metrics.membership.set(labels, 1);
    logger.info(
      { operator: this.#operatorName, member: this.member, lease: `${namespace}/${this.#lease}` },
      "joined the shard ring",
    );

    this.#handovers = new WorkQueue({
      name: `${this.#operatorName}-handovers`,
      concurrency: 8,
      process: (key, { signal }) => this.#handOver(key, signal),
      onError: (key, error, retry) =>
        logger.debug(
          { parent: key, err: error, retryInMs: retry.retryInMs },
          `could not let ${key} go yet; will retry`,
        ),
    });
    const { parents } = this.#options.runtime.informers();
    this.#registration = parents.addHandler(
      {
        add: (parent) => this.#seen(parent),
        update: (_old, parent) => this.#seen(parent),
        // The parent left this shard (let go, moved, or deleted): taken back if it returns.
        delete: (parent) => this.#seen(parent, true),
      },
      { name: `${this.#operatorName}/shard-handover` },
    );
    this.#handovers.start();
    try {
      await this.#options.operator.start(signal);
    } catch (error) {
      // Not started: nothing of this replica writes; the Lease runs out (the abort of `signal`
      // that follows stops renewing it).
      this.#registration.remove();
      await this.#handovers.shutdown(0);
      throw error;
    }
  }

  /**
   * Every decision about a parent's handover runs on the handover queue, one at a time per
   * parent: a parent is never taken back while a handover of it may still remove its labels.
   */
  #seen(parent: KubeObject, deleted = false): void {
    const key = objectKey(parent);
    if (deleted || parent.metadata.labels?.[this.#drain] !== undefined || this.#released.has(key))
      this.#handovers?.add(key);
  }

  /** Lets one parent go: finish its sync, hand its children on, remove the labels. */
  async #handOver(key: string, signal: AbortSignal): Promise<void> {
    const { runtime, client, logger, metrics } = this.#options;
    const { parents } = runtime.informers();
    const parent = parents.store.get(key);
    const labels = parent?.metadata.labels ?? {};
    const next = labels[this.#drain];
    if (!parent || labels[this.#shard] !== this.member) {
      // Gone from this shard: taken back, should it return; what this replica kept of it goes.
      if (this.#released.delete(key)) runtime.resume(key);
      runtime.forget(key);
      return;
    }
    if (next === undefined) {
      // No longer asked (the label was removed): the parent stays.
      if (this.#released.delete(key)) {
        runtime.resume(key);
        runtime.enqueue(key);
      }
      return;
    }
    this.#released.add(key);
    await runtime.drain(key);
    if (next !== "") await this.#handChildren(parent, next, signal);
    const { namespace, name } = parent.metadata;
    try {
      // Only if it is still ours and still asked for: a changed request is retried with the
      // new next member.
      await client.patch(
        runtime.operator.parent,
        name!,
        [
          {
            op: "test",
            path: `/metadata/labels/${escapePointerToken(this.#shard)}`,
            value: this.member,
          },
          { op: "test", path: `/metadata/labels/${escapePointerToken(this.#drain)}`, value: next },
          { op: "remove", path: `/metadata/labels/${escapePointerToken(this.#drain)}` },
          { op: "remove", path: `/metadata/labels/${escapePointerToken(this.#shard)}` },
        ],
        { ...(namespace ? { namespace } : {}), type: "json", signal },
      );
    } catch (error) {
      if (isNotFound(error)) return;
      throw error;
    }
    metrics.handovers.inc({ operator: this.#operatorName });
    logger.debug({ parent: key, next: next || undefined }, `let ${key} go`);
  }

  /** Relabels the parent's children for the next member, so its caches hold them when it starts. */
  async #handChildren(parent: KubeObject, next: string, signal: AbortSignal): Promise<void> {
    const { runtime, client } = this.#options;
    const uid = parent.metadata.uid!;
    const writes: Promise<unknown>[] = [];
    for (const { type, informer } of runtime.informers().children.values()) {
      const children = new Set([
        ...informer.store.byIndex(CONTROLLER_INDEX, uid),
        ...informer.store.byIndex(LABEL_INDEX, `${parentUidLabel}=${uid}`),
      ]);
      for (const child of children) {
        if (child.metadata.labels?.[this.#shard] === next) continue;
        const { namespace, name } = child.metadata;
        writes.push(
          client
            .patch(
              type,
              name!,
              { metadata: { labels: { [this.#shard]: next } } },
              { ...(namespace ? { namespace } : {}), type: "merge", signal },
            )
            .catch((error: unknown) => {
              if (!isNotFound(error)) throw error;
            }),
        );
      }
    }
    await Promise.all(writes);
  }

  #loseMembership(reason: string): void {
    if (this.#lost) return;
    this.#lost = true;
    this.#holding = false;
    this.#options.metrics.membership.set({ operator: this.#operatorName, member: this.member }, 0);
    this.#options.onLost(`the shard member Lease was lost: ${reason}`);
  }

  async stop(graceMs: number): Promise<void> {
    const { logger, metrics, namespace } = this.#options;
    this.#registration?.remove();
    // Syncs first (they may write until the grace period ends), handovers next: the Lease goes
    // last, once nothing of this replica writes any more.
    await this.#options.operator.stop(graceMs);
    await this.#handovers?.shutdown(Math.min(graceMs, 2_000));
    await this.#elector?.stop().catch(() => {});
    const held = this.#holding;
    this.#holding = false;
    metrics.membership.set({ operator: this.#operatorName, member: this.member }, 0);
    // Lost, or stopped at once (syncs aborted, their requests may still be on the way): the
    // Lease is left to run out, so nobody takes the parents over before that.
    if (this.#lost || graceMs === 0 || !held) return;
    // Nothing of this replica writes any more: deleting the Lease lets the coordinator reassign
    // its parents at once.
    await this.#options.leaseClient.delete(Lease, this.#lease, { namespace }).then(
      () =>
        logger.info({ operator: this.#operatorName, member: this.member }, "left the shard ring"),
      (error: unknown) =>
        logger.warn(
          { operator: this.#operatorName, member: this.member, err: error },
          "could not delete the shard member Lease; it runs out on its own",
        ),
    );
  }
}
