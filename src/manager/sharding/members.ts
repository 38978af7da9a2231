/**
 * Who is in a ring: the member Leases of one operator, as this replica has seen them. Every
 * replica tracks them from its start (the Leases are few and small), so whichever replica becomes
 * the coordinator already knows how long each Lease has gone without renewal.
 *
 * A member counts as alive while its Lease names a holder and has changed within its duration,
 * measured on this replica's own monotonic clock from when the change was *seen*, as leader
 * election does: clocks of different machines are never compared. A member that stops renewing
 * gives up its work after the renew deadline, before the Lease duration has passed here.
 *
 * @module
 */
import type { Informer } from "../../cache/informer.ts";
import type { Clock } from "../../queue/clock.ts";
import { systemClock } from "../../queue/clock.ts";
import type { Lease } from "../../resources/coordination.ts";

interface Seen {
  holder: string;
  durationMs: number;
  renewTime: string | undefined;
  /** Monotonic time the current record was first seen. */
  seenAt: number;
  resourceVersion: string | undefined;
}

/** Options of {@link ShardMembers}. */
export interface ShardMembersOptions {
  /** The informer of the ring's member Leases. */
  leases: Informer<Lease>;
  /** For Leases that state no duration. */
  leaseDurationMs: number;
  clock?: Clock;
}

/**
 * The members of one ring, from their Leases.
 *
 * @example
 * const members = new ShardMembers({ leases, leaseDurationMs: 15_000 });
 * members.attach();
 * members.live(); // ["replica-a-1f2e3d", "replica-b-9c8b7a"]
 */
export class ShardMembers {
  readonly #options: ShardMembersOptions;
  readonly #clock: Clock;
  /** By Lease name. */
  readonly #seen = new Map<string, Seen>();
  readonly #listeners = new Set<() => void>();
  #detach: (() => void) | undefined;

  constructor(options: ShardMembersOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
  }

  /** Starts following the Lease informer's events. */
  attach(): void {
    if (this.#detach) return;
    const registration = this.#options.leases.addHandler(
      {
        add: (lease) => this.#observe(lease),
        update: (_old, lease) => this.#observe(lease),
        delete: (lease) => {
          this.#seen.delete(lease.metadata.name!);
          this.#changed();
        },
      },
      { name: "shard members" },
    );
    this.#detach = () => registration.remove();
  }

  detach(): void {
    this.#detach?.();
    this.#detach = undefined;
  }

  /** Calls `listener` after every change of a member Lease; returns how to stop. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #observe(lease: Lease): void {
    const name = lease.metadata.name!;
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? "";
    const durationMs =
      spec.leaseDurationSeconds !== undefined
        ? spec.leaseDurationSeconds * 1000
        : this.#options.leaseDurationMs;
    const previous = this.#seen.get(name);
    const same =
      previous &&
      previous.holder === holder &&
      previous.renewTime === spec.renewTime &&
      previous.durationMs === durationMs;
    const resourceVersion = lease.metadata.resourceVersion;
    if (same) previous.resourceVersion = resourceVersion;
    else {
      const seenAt = this.#clock.now();
      this.#seen.set(name, {
        holder,
        durationMs,
        renewTime: spec.renewTime,
        seenAt,
        resourceVersion,
      });
    }
    this.#changed();
  }

  #changed(): void {
    for (const listener of this.#listeners) {
      try {
        listener();
      } catch {
        // A listener must not break the others.
      }
    }
  }

  #alive(seen: Seen, now: number): boolean {
    return seen.holder !== "" && seen.seenAt + seen.durationMs > now;
  }

  /** The members alive now, sorted. */
  live(): string[] {
    const now = this.#clock.now();
    const members = new Set<string>();
    for (const seen of this.#seen.values()) if (this.#alive(seen, now)) members.add(seen.holder);
    return [...members].sort();
  }

  /** Whether `member` holds a Lease that counts now. */
  isAlive(member: string): boolean {
    const now = this.#clock.now();
    for (const seen of this.#seen.values()) {
      if (seen.holder === member && this.#alive(seen, now)) return true;
    }
    return false;
  }

  /** Milliseconds until the next live member's Lease runs out unless renewed; undefined if none. */
  nextExpiryInMs(): number | undefined {
    const now = this.#clock.now();
    let next: number | undefined;
    for (const seen of this.#seen.values()) {
      if (!this.#alive(seen, now)) continue;
      const left = seen.seenAt + seen.durationMs - now;
      next = next === undefined ? left : Math.min(next, left);
    }
    return next;
  }

  /**
   * Leases that have counted for nothing for at least `graceMs` past their duration (released, or
   * left to expire by a member that died): the coordinator deletes them.
   */
  stale(graceMs: number): { name: string; resourceVersion: string | undefined }[] {
    const now = this.#clock.now();
    const found: { name: string; resourceVersion: string | undefined }[] = [];
    for (const [name, seen] of this.#seen) {
      const deadSince = seen.holder === "" ? seen.seenAt : seen.seenAt + seen.durationMs;
      if (now - deadSince >= graceMs) found.push({ name, resourceVersion: seen.resourceVersion });
    }
    return found;
  }
}
