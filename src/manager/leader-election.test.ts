/**
 * The election algorithm on a manual clock with an in-memory Lease: who acquires, when a standby
 * may take over, that a leader gives up before anyone else may start, and release on stop.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ManualClock } from "../queue/manual-clock.ts";
import type { LeaseSpec } from "../resources/coordination.ts";
import {
  LeaderElector,
  type LeaderElectorOptions,
  type LeaseLock,
  type LeaseRecord,
  microTime,
  validateElectionTimings,
} from "./leader-election.ts";

/** One stored Lease shared by several replicas' locks. */
class Store {
  record: LeaseRecord | undefined;
  version = 0;
  writes: { at: number; spec: LeaseSpec }[] = [];
  readonly clock: ManualClock;
  constructor(clock: ManualClock) {
    this.clock = clock;
  }
  write(spec: LeaseSpec): LeaseRecord {
    this.version++;
    this.record = { spec: structuredClone(spec), resourceVersion: String(this.version) };
    this.writes.push({ at: this.clock.now(), spec: structuredClone(spec) });
    return structuredClone(this.record);
  }
}

/** A replica's view of the store; `down` makes its requests fail (a network partition). */
class MemoryLock implements LeaseLock {
  readonly description = "test/lease";
  down = false;
  readonly store: Store;
  constructor(store: Store) {
    this.store = store;
  }
  #check(signal: AbortSignal) {
    if (this.down) throw new Error("connection refused");
    if (signal.aborted) throw signal.reason;
  }
  async get(signal: AbortSignal) {
    this.#check(signal);
    return this.store.record ? structuredClone(this.store.record) : undefined;
  }
  async create(spec: LeaseSpec, signal: AbortSignal) {
    this.#check(signal);
    if (this.store.record) throw new Error("already exists");
    return this.store.write(spec);
  }
  async update(spec: LeaseSpec, resourceVersion: string, signal: AbortSignal) {
    this.#check(signal);
    if (this.store.record?.resourceVersion !== resourceVersion) throw new Error("conflict");
    return this.store.write(spec);
  }
}

const epoch = Date.UTC(2030, 0, 1);

function replica(
  clock: ManualClock,
  store: Store,
  identity: string,
  options: Partial<LeaderElectorOptions> = {},
) {
  const lock = new MemoryLock(store);
  const events: { at: number; what: "elected" | "lost" }[] = [];
  const elector = new LeaderElector({
    lock,
    identity,
    clock,
    wallClock: () => epoch + clock.now(),
    random: () => 0.5,
    onElected: () => events.push({ at: clock.now(), what: "elected" }),
    onLost: () => events.push({ at: clock.now(), what: "lost" }),
    ...options,
  });
  return { elector, lock, events };
}

describe("LeaderElector", () => {
  test("creates a missing Lease, takes it, and renews it every retry period", async () => {
    const clock = new ManualClock();
    const store = new Store(clock);
    const a = replica(clock, store, "a");
    a.elector.start();
    await clock.advance(0);
    assert.deepEqual(a.events, [{ at: 0, what: "elected" }]);
    assert.equal(a.elector.isLeader, true);
    assert.deepEqual(store.record?.spec, {
      holderIdentity: "a",
      leaseDurationSeconds: 15,
      acquireTime: microTime(epoch),
      renewTime: microTime(epoch),
      leaseTransitions: 0,
    });
    await clock.advance(10_000);
    const renewals = store.writes.slice(1);
    assert.equal(renewals.length, 5, "one renewal per 2 s retry period");
    for (const write of renewals) {
      assert.equal(write.spec.holderIdentity, "a");
      assert.equal(write.spec.acquireTime, microTime(epoch), "the acquire time stays");
      assert.equal(write.spec.renewTime, microTime(epoch + write.at));
      assert.equal(write.spec.leaseTransitions, 0);
    }
    await a.elector.stop();
  });

  test("a standby waits while the leader renews, however long", async () => {
    const clock = new ManualClock();
    const store = new Store(clock);
    const a = replica(clock, store, "a");
    const b = replica(clock, store, "b");
    a.elector.start();
    await clock.advance(0);
    b.elector.start();
    await clock.advance(120_000);
    assert.deepEqual(b.events, [], "b never became leader while a renewed");
    assert.equal(b.elector.leader, "a");
    assert.equal(store.record?.spec.holderIdentity, "a");
    await Promise.all([a.elector.stop(), b.elector.stop()]);
  });

  test("candidates starting together: exactly one wins", async () => {
    const clock = new ManualClock();
    const store = new Store(clock);
    const replicas = ["a", "b", "c"].map((id) => replica(clock, store, id));
    for (const r of replicas) r.elector.start();
    await clock.advance(30_000);
    const leaders = replicas.filter((r) => r.elector.isLeader);
    assert.equal(leaders.length, 1);
    assert.equal(replicas.flatMap((r) => r.events).length, 1, "one election in all, and no loss");
    await Promise.all(replicas.map((r) => r.elector.stop()));
  });

  test("a leader that cannot renew gives up at the renew deadline, before a standby may take over", async () => {
    const clock = new ManualClock();
    const store = new Store(clock);
    const a = replica(clock, store, "a");
    const b = replica(clock, store, "b");
    a.elector.start();
    await clock.advance(0);
    b.elector.start();
    await clock.advance(9_000);
    a.lock.down = true;
    const lastRenewal = store.writes.at(-1)!.at;
    await clock.advance(40_000);

    const lost = a.events.find((e) => e.what === "lost");
    const elected = b.events.find((e) => e.what === "elected");
    assert.ok(lost && elected, "a lost the lease and b took it");
    assert.equal(a.elector.isLeader, false);
    // a's last renewal cycle started one retry period after its last success and gave up 10 s
    // later; b may only take the Lease 15 s after it last saw it change.
    assert.ok(lost.at <= lastRenewal + 2_000 + 10_000, `lost at ${lost.at}`);
    assert.ok(lost.at < elected.at, "the old leader stopped before the new one started");
    assert.ok(elected.at >= lastRenewal + 15_000, `elected at ${elected.at}`);
    assert.ok(elected.at <= lastRenewal + 15_000 + 2_000 * 2.2, `elected at ${elected.at}`);
    assert.equal(store.record?.spec.holderIdentity, "b");
    assert.equal(store.record?.spec.leaseTransitions, 1);
    assert.equal(store.record?.spec.acquireTime, microTime(epoch + elected.at));
    await Promise.all([a.elector.stop(), b.elector.stop()]);
  });

  test("renewals may fail for a while without losing the lease", async () => {
    const clock = new ManualClock();
    const store = new Store(clock);
    const a = replica(clock, store, "a");
    a.elector.start();
    await clock.advance(0);
    a.lock.down = true;
    await clock.advance(7_000);
    a.lock.down = false;
    await clock.advance(20_000);
    assert.deepEqual(
      a.events.map((e) => e.what),
      ["elected"],
    );
    assert.equal(store.record?.spec.holderIdentity, "a");
    await a.elector.stop();
  });

  test("another holder in the Lease ends leadership at the next renewal, not at the deadline", async () => {
    const clock = new ManualClock();
    const store = new Store(clock);
    const a = replica(clock, store, "a");
    a.elector.start();
    await clock.advance(1_000);
    store.write({ ...store.record!.spec, holderIdentity: "intruder", renewTime: microTime(epoch) });
    const written = clock.now();
    await clock.advance(5_000);
    const lost = a.events.find((e) => e.what === "lost");
    assert.ok(lost, "a noticed");
    assert.ok(lost.at - written <= 2_000, `lost ${lost.at - written} ms after the change`);
    assert.equal(store.record?.spec.holderIdentity, "intruder", "a wrote nothing over it");
    await a.elector.stop();
  });

  test("stop releases the Lease so a standby takes over at its next retry", async () => {
    const clock = new ManualClock();
    const store = new Store(clock);
    const a = replica(clock, store, "a");
    const b = replica(clock, store, "b");
    a.elector.start();
    await clock.advance(0);
    b.elector.start();
    await clock.advance(5_000);
    const stopping = a.elector.stop();
    await clock.advance(0);
    await stopping;
    const released = clock.now();
    assert.equal(store.record?.spec.holderIdentity, "");
    assert.equal(store.record?.spec.leaseDurationSeconds, 1);
    assert.equal(a.events.length, 1, "a graceful stop is not a loss");
    await clock.advance(5_000);
    const elected = b.events.find((e) => e.what === "elected");
    assert.ok(elected, "b took over");
    assert.ok(elected.at - released <= 2_000 * 2.2, `after ${elected.at - released} ms`);
    assert.equal(store.record?.spec.holderIdentity, "b");
    assert.equal(store.record?.spec.leaseTransitions, 1);
    await b.elector.stop();
  });

  test("without releaseOnStop the Lease is left to expire", async () => {
    const clock = new ManualClock();
    const store = new Store(clock);
    const a = replica(clock, store, "a", { releaseOnStop: false });
    a.elector.start();
    await clock.advance(0);
    await a.elector.stop();
    assert.equal(store.record?.spec.holderIdentity, "a");
  });

  test("a standby stopped before winning writes nothing", async () => {
    const clock = new ManualClock();
    const store = new Store(clock);
    const a = replica(clock, store, "a");
    const b = replica(clock, store, "b");
    a.elector.start();
    await clock.advance(0);
    b.elector.start();
    await clock.advance(3_000);
    const writes = store.writes.filter((w) => w.spec.holderIdentity === "b").length;
    await b.elector.stop();
    assert.equal(writes, 0);
    assert.equal(store.record?.spec.holderIdentity, "a");
    await a.elector.stop();
  });
});

describe("validateElectionTimings", () => {
  test("accepts client-go's defaults and refuses unsafe ones", () => {
    validateElectionTimings({
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
    });
    assert.throws(
      () =>
        validateElectionTimings({
          leaseDurationMs: 10_000,
          renewDeadlineMs: 10_000,
          retryPeriodMs: 2_000,
        }),
      /must be longer than the renew deadline/,
    );
    assert.throws(
      () =>
        validateElectionTimings({
          leaseDurationMs: 15_000,
          renewDeadlineMs: 2_000,
          retryPeriodMs: 2_000,
        }),
      /retry period/,
    );
    assert.throws(
      () => validateElectionTimings({ leaseDurationMs: 0, renewDeadlineMs: 1, retryPeriodMs: 1 }),
      /positive/,
    );
  });
});

test("microTime has six fractional digits", () => {
  assert.equal(microTime(Date.UTC(2030, 0, 2, 3, 4, 5, 678)), "2030-01-02T03:04:05.678000Z");
});
