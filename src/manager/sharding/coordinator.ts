/**
 * The coordinator of a sharded operator: one replica, the leader, assigns parents to the members
 * of the ring. It watches the parents' metadata (all of them, names and labels only in its
 * cache) and the member Leases, and for each parent:
 *
 * - unassigned (new, or let go by its member): label it with the member the ring names;
 * - assigned to a member whose Lease ended: label it with the ring's member at once (that member
 *   stopped writing before its Lease ran out);
 * - assigned to a live member the ring no longer names: ask that member to let it go (the drain
 *   label, naming the next member) and wait; once it has (both labels removed), assign it.
 *
 * Every label write carries the `resourceVersion` it was decided on, so a decision made on a stale
 * cache fails with a conflict and is made again. After the members change, children still
 * labelled for a member that left (ones no sync relabels, such as children no longer desired)
 * are handed to their parent's member. Leases of departed members are deleted.
 *
 * @module
 */
import { clientListWatch } from "../../cache/client-source.ts";
import type { Informer } from "../../cache/informer.ts";
import { internStrings } from "../../cache/intern.ts";
import type { InformerObserver } from "../../cache/observer.ts";
import { InformerFactory } from "../../cache/shared-informers.ts";
import type { PartialObjectMetadata } from "../../cache/source.ts";
import type { KubeClient } from "../../client/client.ts";
import { isConflict, isNotFound } from "../../client/errors.ts";
import type { Operator } from "../../operator/declaration.ts";
import { managedByLabel, parentKeyOf } from "../../operator/ownership.ts";
import type { OperatorLogger } from "../../operator/reconciler.ts";
import type { Clock, Timer } from "../../queue/clock.ts";
import { systemClock } from "../../queue/clock.ts";
import { WorkQueue } from "../../queue/work-queue.ts";
import { Lease } from "../../resources/coordination.ts";
import { objectKey } from "../../resources/object.ts";
import type { Runnable } from "../runnable.ts";
import { drainLabel, shardLabel } from "./labels.ts";
import type { ShardMembers } from "./members.ts";
import type { ShardMetrics } from "./metrics.ts";
import { DEFAULT_VIRTUAL_NODES, HashRing } from "./ring.ts";

/** Options of {@link ShardCoordinator}. */
export interface ShardCoordinatorOptions {
  operator: Operator;
  client: KubeClient;
  members: ShardMembers;
  /** Where the member Leases live (departed members' Leases are deleted there). */
  leaseNamespace: string;
  leaseDurationMs: number;
  virtualNodes?: number;
  /** Label writes in flight at once. Default 16. */
  concurrency?: number;
  logger: OperatorLogger;
  metrics: ShardMetrics;
  observer?: InformerObserver;
  clock?: Clock;
}

/** A rebalance under way: parents not yet where the ring puts them. */
interface Rebalance {
  startedAt: number;
  unsettled: Set<string>;
  moved: number;
  /** Look for children of departed members once it completes. */
  sweep: boolean;
}

/**
 * Assigns an operator's parents to the members of its ring; runs on the leader.
 *
 * @example
 * manager.#leader.add(new ShardCoordinator({ operator, client, members, ... }));
 */
export class ShardCoordinator implements Runnable {
  readonly name: string;
  readonly needLeaderElection = true;
  readonly #options: ShardCoordinatorOptions;
  readonly #operator: string;
  readonly #shard: string;
  readonly #drain: string;
  readonly #clock: Clock;
  #factory: InformerFactory | undefined;
  #parents: Informer<PartialObjectMetadata> | undefined;
  #parentNamespaced = true;
  #queue: WorkQueue | undefined;
  #ring: HashRing | undefined;
  #rebalance: Rebalance | undefined;
  /** When each parent was asked to be let go (monotonic), and for whom. */
  readonly #asked = new Map<string, { at: number; next: string }>();
  readonly #deletingLeases = new Set<string>();
  #expiryTimer: Timer | undefined;
  #sweepTimer: Timer | undefined;
  /** Wait before looking again for children whose parents are still moving: 1 s doubling to 30 s. */
  #sweepRetryMs = 1_000;
  #sweeping: Promise<void> | undefined;
  #unsubscribe: (() => void) | undefined;
  #abort: AbortController | undefined;
  #warnedEmpty = false;

  constructor(options: ShardCoordinatorOptions) {
    this.#options = options;
    this.#operator = options.operator.name;
    this.name = `shard coordinator ${this.#operator}`;
    this.#shard = shardLabel(this.#operator);
    this.#drain = drainLabel(this.#operator);
    this.#clock = options.clock ?? systemClock;
  }

  /** The ring as last built (tests and metrics). */
  get ring(): HashRing | undefined {
    return this.#ring;
  }

  async start(signal: AbortSignal): Promise<void> {
    const { operator, client, logger, metrics, observer } = this.#options;
    const abort = new AbortController();
    this.#abort = abort;
    signal.addEventListener("abort", () => abort.abort(signal.reason), { once: true });
    const info = await client.discovery.resourceFor(operator.parent, signal);
    this.#parentNamespaced = info.namespaced;
    // The metadata of every parent, so only what assignment reads: name, namespace, version and
    // the two labels (not annotations, owners, finalizers), and no indexes.
    const shard = this.#shard;
    const drain = this.#drain;
    this.#factory = new InformerFactory({
      client: clientListWatch(client),
      logger,
      ...(observer ? { observer } : {}),
      builtinIndexes: false,
      transform: (object) => {
        const { name, namespace, resourceVersion, labels } = object.metadata;
        const kept: Record<string, string> = {};
        if (labels?.[shard] !== undefined) kept[shard] = labels[shard];
        if (labels?.[drain] !== undefined) kept[drain] = labels[drain];
        return internStrings({
          apiVersion: object.apiVersion,
          kind: object.kind,
          metadata: {
            name,
            ...(namespace ? { namespace } : {}),
            ...(resourceVersion ? { resourceVersion } : {}),
            labels: kept,
          },
        });
      },
    });
    const parents = this.#factory.metadataInformer(
      operator.parent,
      info.namespaced && operator.namespace ? { namespace: operator.namespace } : {},
    );
    this.#parents = parents;
    const queue = new WorkQueue({
      name: `${this.#operator}-shards`,
      concurrency: this.#options.concurrency ?? 16,
      // Aborted when the coordinator stops at once (leadership lost): no decision of it lands
      // after that, where the request has not left yet.
      process: (key, { signal }) => this.#place(key, signal),
      onError: (key, error, retry) => {
        if (!isConflict(error))
          logger.debug(
            { parent: key, err: error, retryInMs: retry.retryInMs },
            `could not assign ${key} yet; will retry`,
          );
      },
    });
    this.#queue = queue;
    parents.addHandler(
      {
        add: (parent) => this.#changed(objectKey(parent)),
        update: (old, parent) => {
          if (!sameLabels(old.metadata.labels, parent.metadata.labels))
            this.#changed(objectKey(parent));
        },
        delete: (parent) => {
          const key = objectKey(parent);
          this.#asked.delete(key);
          this.#settled(key, true);
        },
      },
      { name: `${this.#operator}/shard-coordinator` },
    );
    this.#factory.start(abort.signal);
    await this.#factory.waitForSync(signal);
    metrics.observeParents(this.#operator, () => this.#counts());
    this.#unsubscribe = this.#options.members.onChange(() => this.#membersChanged());
    this.#membersChanged(true);
    queue.start();
  }

  async stop(graceMs: number): Promise<void> {
    this.#unsubscribe?.();
    this.#expiryTimer?.cancel();
    this.#sweepTimer?.cancel();
    this.#options.metrics.observeParents(this.#operator, () => undefined);
    await this.#queue?.shutdown(Math.min(graceMs, 5_000));
    this.#abort?.abort(new Error("the shard coordinator stopped"));
    await this.#sweeping?.catch(() => {});
    await this.#factory?.stop();
  }

  #changed(key: string): void {
    this.#queue?.add(key);
    this.#settled(key);
  }

  /** Parents per shard from the cache ("" for unassigned). */
  #counts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const member of this.#ring?.members ?? []) counts.set(member, 0);
    for (const parent of this.#parents?.store.list() ?? []) {
      const shard = parent.metadata.labels?.[this.#shard] ?? "";
      counts.set(shard, (counts.get(shard) ?? 0) + 1);
    }
    return counts;
  }

  /** Where the parent is as it should be: with the ring's member, not asked to move. */
  #inPlace(key: string, labels: Record<string, string> | undefined): boolean {
    return labels?.[this.#shard] === this.#ring?.owner(key) && labels?.[this.#drain] === undefined;
  }

  /** Tracks the end of a rebalance: logged once every parent is in place. */
  #settled(key: string, gone = false): void {
    const rebalance = this.#rebalance;
    if (!rebalance?.unsettled.has(key)) return;
    if (!gone && !this.#inPlace(key, this.#parents?.store.get(key)?.metadata.labels)) return;
    rebalance.unsettled.delete(key);
    if (rebalance.unsettled.size > 0) return;
    this.#rebalance = undefined;
    if (rebalance.sweep) this.#sweepSoon(0);
    this.#options.logger.info(
      {
        operator: this.#operator,
        members: this.#ring?.members,
        moved: rebalance.moved,
        durationMs: Math.round(this.#clock.now() - rebalance.startedAt),
      },
      "shard rebalance complete: every parent is with its member",
    );
  }

  #membersChanged(initial = false): void {
    if (!this.#parents) return;
    const { members, logger } = this.#options;
    const live = members.live();
    this.#armExpiryTimer();
    this.#deleteStaleLeases();
    const previous = this.#ring;
    if (!initial && previous && sameList(previous.members, live)) return;
    const ring = new HashRing(live, this.#options.virtualNodes ?? DEFAULT_VIRTUAL_NODES);
    this.#ring = ring;
    const joined = live.filter((member) => !previous?.has(member));
    const left = (previous?.members ?? []).filter((member) => !ring.has(member));
    const unsettled = new Set<string>();
    const keys: string[] = [];
    for (const parent of this.#parents.store.list()) {
      const key = objectKey(parent);
      keys.push(key);
      if (!this.#inPlace(key, parent.metadata.labels)) unsettled.add(key);
    }
    const fields = {
      operator: this.#operator,
      members: live,
      ...(joined.length > 0 && !initial ? { joined } : {}),
      ...(left.length > 0 ? { left } : {}),
      parents: keys.length,
      toMove: unsettled.size,
    };
    if (live.length === 0) {
      if (!this.#warnedEmpty)
        logger.warn(fields, "the shard ring has no members: parents wait until a replica joins");
      this.#warnedEmpty = true;
    } else {
      this.#warnedEmpty = false;
      logger.info(
        fields,
        initial ? "coordinating the shard ring" : "shard ring members changed; rebalancing",
      );
    }
    // Children of members that left (or from before sharding) are looked for once the parents
    // are in place: parents still moving would send them to the wrong member.
    const sweep = initial || left.length > 0 || (this.#rebalance?.sweep ?? false);
    const carried = this.#rebalance?.moved ?? 0;
    this.#rebalance =
      unsettled.size > 0 && live.length > 0
        ? { startedAt: this.#clock.now(), unsettled, moved: carried, sweep }
        : undefined;
    for (const key of keys) this.#queue?.add(key);
    if (!this.#rebalance && sweep && live.length > 0) this.#sweepSoon(0);
  }

  /** Looks again when the next Lease runs out unless renewed: expiry comes without an event. */
  #armExpiryTimer(): void {
    this.#expiryTimer?.cancel();
    const next = this.#options.members.nextExpiryInMs();
    if (next === undefined) return;
    this.#expiryTimer = this.#clock.setTimer(() => this.#membersChanged(), next + 10);
  }

  /** Puts one parent where the ring says. */
  async #place(key: string, signal: AbortSignal): Promise<void> {
    const parent = this.#parents?.store.get(key);
    const ring = this.#ring;
    if (!parent || !ring || ring.size === 0) return;
    const labels = parent.metadata.labels ?? {};
    const current = labels[this.#shard] || undefined;
    const target = ring.owner(key)!;
    const { metrics } = this.#options;
    const operator = this.#operator;
    if (current === undefined) {
      if (!(await this.#label(parent, { [this.#shard]: target, [this.#drain]: null }, signal)))
        return;
      metrics.assignments.inc({ operator });
      const asked = this.#asked.get(key);
      if (asked !== undefined) {
        this.#asked.delete(key);
        metrics.drainSeconds.observe({ operator }, (this.#clock.now() - asked.at) / 1000);
        metrics.moves.inc({ operator, reason: "rebalance" });
        if (this.#rebalance) this.#rebalance.moved++;
        // The member handed the children to the member it was told; the ring changed since.
        if (asked.next !== target) this.#sweepSoon(1_000);
      }
      return;
    }
    if (!ring.has(current)) {
      // Its member's Lease ended: the member stopped writing before that, on its own clock.
      if (!(await this.#label(parent, { [this.#shard]: target, [this.#drain]: null }, signal)))
        return;
      this.#asked.delete(key);
      metrics.assignments.inc({ operator });
      metrics.moves.inc({ operator, reason: "member_gone" });
      if (this.#rebalance) this.#rebalance.moved++;
      return;
    }
    // With its member (a request to let it go, if any, completes; then it is assigned again).
    if (current === target) return;
    if (labels[this.#drain] === target) return; // asked already; waiting for the member
    if (!(await this.#label(parent, { [this.#drain]: target }, signal))) return;
    this.#asked.set(key, { at: this.#asked.get(key)?.at ?? this.#clock.now(), next: target });
  }

  /** A merge patch of labels, valid only against the version the decision was made on. */
  async #label(
    parent: PartialObjectMetadata,
    labels: Record<string, string | null>,
    signal: AbortSignal,
  ): Promise<boolean> {
    const { namespace, name, resourceVersion } = parent.metadata;
    try {
      await this.#options.client.patch(
        this.#options.operator.parent,
        name!,
        { metadata: { resourceVersion, labels } },
        { ...(namespace ? { namespace } : {}), type: "merge", signal },
      );
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /** Deletes Leases of members gone for two Lease durations (released, or left to expire). */
  #deleteStaleLeases(): void {
    const { members, client, leaseNamespace, leaseDurationMs, logger } = this.#options;
    for (const { name, resourceVersion } of members.stale(2 * leaseDurationMs)) {
      if (this.#deletingLeases.has(name)) continue;
      this.#deletingLeases.add(name);
      client
        .delete(Lease, name, {
          namespace: leaseNamespace,
          ...(resourceVersion ? { preconditions: { resourceVersion } } : {}),
        })
        .then(
          () =>
            logger.info(
              { lease: `${leaseNamespace}/${name}` },
              "deleted the Lease of a departed shard member",
            ),
          () => {},
        )
        .finally(() => this.#deletingLeases.delete(name));
    }
  }

  #sweepSoon(delayMs: number): void {
    if (this.#sweepTimer) return;
    this.#sweepTimer = this.#clock.setTimer(() => {
      this.#sweepTimer = undefined;
      const previous = this.#sweeping ?? Promise.resolve();
      this.#sweeping = previous
        .then(() => this.#sweep())
        .catch((error: unknown) =>
          this.#options.logger.warn(
            { operator: this.#operator, err: error },
            "could not hand children of departed shard members on; will try at the next change",
          ),
        );
    }, delayMs);
  }

  /**
   * Children labelled for no live member (their member left, or they predate sharding) go to
   * their parent's member, which then sees them (and prunes those no longer desired). One list
   * per child type, filtered by the server. Children whose parent is still on its way to a
   * member are looked at again a second later.
   */
  async #sweep(): Promise<void> {
    const ring = this.#ring;
    const signal = this.#abort?.signal;
    if (!ring || ring.size === 0 || signal?.aborted) return;
    const { operator, client, logger } = this.#options;
    const selector = `${managedByLabel}=${operator.name},${this.#shard} notin (${ring.members.join(",")})`;
    let handed = 0;
    let waiting = 0;
    for (const declaration of operator.childTypes.values()) {
      const type = declaration.type;
      const info = await client.discovery.resourceFor(type, signal);
      const namespace = info.namespaced && operator.namespace ? operator.namespace : undefined;
      for await (const page of client.listPages(type, {
        ...(namespace ? { namespace } : {}),
        labelSelector: selector,
        ...(signal ? { signal } : {}),
      })) {
        for (const child of page.items) {
          const key = parentKeyOf(child, operator.parent, this.#parentNamespaced);
          const parent = key ? this.#parents?.store.get(key) : undefined;
          if (!parent) continue; // its parent is gone; garbage collection takes it
          const member = parent.metadata.labels?.[this.#shard];
          if (
            !member ||
            !this.#ring?.has(member) ||
            parent.metadata.labels?.[this.#drain] !== undefined
          ) {
            waiting++;
            continue;
          }
          const { namespace: childNamespace, name } = child.metadata;
          await client
            .patch(
              type,
              name!,
              { metadata: { labels: { [this.#shard]: member } } },
              {
                ...(childNamespace ? { namespace: childNamespace } : {}),
                type: "merge",
                ...(signal ? { signal } : {}),
              },
            )
            .then(
              () => handed++,
              (error: unknown) => {
                if (!isNotFound(error)) throw error;
              },
            );
        }
      }
    }
    if (handed > 0)
      logger.info(
        { operator: this.#operator, children: handed },
        "handed children of departed shard members to their parents' members",
      );
    if (waiting > 0) {
      this.#sweepSoon(this.#sweepRetryMs);
      this.#sweepRetryMs = Math.min(this.#sweepRetryMs * 2, 30_000);
    } else {
      this.#sweepRetryMs = 1_000;
    }
  }
}

function sameLabels(
  a: Record<string, string> | undefined,
  b: Record<string, string> | undefined,
): boolean {
  const left = a ?? {};
  const right = b ?? {};
  const keys = Object.keys(left);
  if (keys.length !== Object.keys(right).length) return false;
  return keys.every((key) => left[key] === right[key]);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}
