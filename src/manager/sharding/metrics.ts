/**
 * Sharding's Prometheus metrics, in the manager's registry: ring members and this replica's
 * membership (every replica), parents per shard, assignments, moves and drain latency (the
 * coordinator), handovers (each member).
 *
 * @module
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** Drain latencies: 10 ms to 5 minutes. */
const drainBuckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** Why a parent moved to another member. */
export type MoveReason = "rebalance" | "member_gone";

/** The metrics of sharding, registered in one registry. */
export class ShardMetrics {
  /** 1 while this replica holds its member Lease in the operator's ring. */
  readonly membership: Gauge<"operator" | "member">;
  /** Every assignment written on a parent: new parents, moves, reassignments. */
  readonly assignments: Counter<"operator">;
  /** Parents that moved from one member to another. */
  readonly moves: Counter<"operator" | "reason">;
  /** From asking a member to let a parent go until it did. */
  readonly drainSeconds: Histogram<"operator">;
  /** Parents this replica let go of when asked. */
  readonly handovers: Counter<"operator">;
  readonly #ringMembers = new Map<string, () => number>();
  readonly #parents = new Map<string, () => ReadonlyMap<string, number> | undefined>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.membership = new Gauge({
      name: "operon_shard_membership",
      help: "Whether this replica holds its member Lease in the operator's ring (1) or not (0)",
      labelNames: ["operator", "member"],
      registers,
    });
    const rings = this.#ringMembers;
    new Gauge({
      name: "operon_shard_ring_members",
      help: "Members of the operator's ring whose Lease counts, as this replica sees them",
      labelNames: ["operator"],
      registers,
      collect() {
        this.reset();
        for (const [operator, count] of rings) this.set({ operator }, count());
      },
    });
    const parents = this.#parents;
    new Gauge({
      name: "operon_shard_parents",
      help: 'Parents assigned to each shard (member), "" for unassigned; reported by the coordinator',
      labelNames: ["operator", "shard"],
      registers,
      collect() {
        this.reset();
        for (const [operator, counts] of parents) {
          for (const [shard, count] of counts() ?? []) this.set({ operator, shard }, count);
        }
      },
    });
    this.assignments = new Counter({
      name: "operon_shard_assignments_total",
      help: "Assignments of parents to shards written by the coordinator",
      labelNames: ["operator"],
      registers,
    });
    this.moves = new Counter({
      name: "operon_shard_moves_total",
      help: "Parents moved to another shard, by reason (rebalance: drained and handed over; member_gone: its member's Lease ended)",
      labelNames: ["operator", "reason"],
      registers,
    });
    this.drainSeconds = new Histogram({
      name: "operon_shard_drain_seconds",
      help: "Time from asking a member to let a parent go until it had",
      labelNames: ["operator"],
      buckets: drainBuckets,
      registers,
    });
    this.handovers = new Counter({
      name: "operon_shard_handovers_total",
      help: "Parents this replica let go of when the coordinator moved them",
      labelNames: ["operator"],
      registers,
    });
  }

  /** Reports the ring's size at each scrape. */
  observeRing(operator: string, count: () => number): void {
    this.#ringMembers.set(operator, count);
    this.moves.inc({ operator, reason: "rebalance" }, 0);
    this.moves.inc({ operator, reason: "member_gone" }, 0);
    this.handovers.inc({ operator }, 0);
  }

  /** Reports parents per shard at each scrape while `counts` answers (on the coordinator). */
  observeParents(operator: string, counts: () => ReadonlyMap<string, number> | undefined): void {
    this.#parents.set(operator, counts);
  }
}
