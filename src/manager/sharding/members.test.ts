import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { FakeSource } from "../../cache/fake-source.ts";
import { Informer } from "../../cache/informer.ts";
import { ManualClock } from "../../queue/manual-clock.ts";
import { Lease } from "../../resources/coordination.ts";
import { ShardMembers } from "./members.ts";

const stops: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()));
});

function lease(member: string, renewTime: string, holder = member, seconds = 15): Lease {
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name: `chores-shard-${member}`, namespace: "ops" },
    spec: { holderIdentity: holder, leaseDurationSeconds: seconds, renewTime },
  };
}

async function tracked(source: FakeSource, clock: ManualClock): Promise<ShardMembers> {
  const leases = new Informer<Lease>({ client: source, type: Lease, namespace: "ops" });
  const abort = new AbortController();
  stops.push(async () => {
    abort.abort();
    await leases.stop();
  });
  const members = new ShardMembers({ leases, leaseDurationMs: 15_000, clock });
  members.attach();
  leases.start(abort.signal);
  await leases.waitForSync(abort.signal);
  return members;
}

/** Lets the fake watch deliver. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

test("a member counts while its Lease changes within its duration, on this replica's clock", async () => {
  const source = new FakeSource();
  const clock = new ManualClock(1_000);
  // Renewed "long ago" by the writer's clock: never compared with ours.
  source.put(lease("a", "2001-01-01T00:00:00.000000Z"));
  source.put(lease("b", "2001-01-01T00:00:00.000000Z"));
  const members = await tracked(source, clock);
  let changes = 0;
  members.onChange(() => changes++);
  assert.deepEqual(members.live(), ["a", "b"]);
  assert.equal(members.nextExpiryInMs(), 15_000);

  await clock.advance(10_000);
  source.put(lease("a", "2001-01-01T00:00:10.000000Z")); // a renews, b does not
  await settle();
  assert.ok(changes > 0);
  assert.equal(members.nextExpiryInMs(), 5_000, "b runs out first");
  await clock.advance(5_000);
  assert.deepEqual(members.live(), ["a"], "b's Lease ran out on our clock");
  assert.ok(members.isAlive("a") && !members.isAlive("b"));

  // A released Lease (no holder) counts for nothing at once; a deleted one is gone.
  source.put(lease("a", "2001-01-01T00:00:20.000000Z", ""));
  await settle();
  assert.deepEqual(members.live(), []);
  source.remove("ops/chores-shard-a");
  await settle();
  assert.deepEqual(members.live(), []);
  assert.equal(members.nextExpiryInMs(), undefined);
});

test("stale Leases: dead for the grace period past their duration", async () => {
  const source = new FakeSource();
  const clock = new ManualClock(0);
  source.put(lease("a", "t0", "a", 4));
  source.put(lease("b", "t0", "", 4));
  const members = await tracked(source, clock);
  assert.deepEqual(
    members.stale(8_000).map((s) => s.name),
    [],
    "b was released just now",
  );
  await clock.advance(8_000);
  assert.deepEqual(
    members.stale(8_000).map((s) => s.name),
    ["chores-shard-b"],
  );
  await clock.advance(4_000);
  // a ran out at 4 s: 8 s past that.
  assert.deepEqual(
    members
      .stale(8_000)
      .map((s) => s.name)
      .sort(),
    ["chores-shard-a", "chores-shard-b"],
  );
  assert.ok(members.stale(8_000).every((s) => s.resourceVersion));
});
