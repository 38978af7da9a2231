import assert from "node:assert/strict";
import { test } from "node:test";
import { HashRing, ringPosition } from "./ring.ts";

const keyCount = 100_000;
const keys = Array.from({ length: keyCount }, (_, i) => `team-${i % 40}/app-${i}`);

function members(count: number, prefix = "operator-7c9d5f"): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${(i * 7919).toString(36)}`);
}

function owners(ring: HashRing): string[] {
  return keys.map((key) => ring.owner(key)!);
}

for (const count of [3, 10, 50]) {
  test(`${count} members, ${keyCount} keys: the most loaded holds at most 1.15 × the average; a join moves at most 1.2 × keys/N`, (t) => {
    const ring = new HashRing(members(count));
    const assigned = owners(ring);
    const load = new Map<string, number>();
    for (const owner of assigned) load.set(owner, (load.get(owner) ?? 0) + 1);
    assert.equal(load.size, count, "every member holds keys");
    const average = keyCount / count;
    const most = Math.max(...load.values());
    assert.ok(most <= 1.15 * average, `most loaded: ${most} keys, average ${average}`);

    const joined = new HashRing([...members(count), "operator-7c9d5f-joiner"]);
    let moved = 0;
    let movedElsewhere = 0;
    keys.forEach((key, i) => {
      const now = joined.owner(key);
      if (now === assigned[i]) return;
      moved++;
      if (now !== "operator-7c9d5f-joiner") movedElsewhere++;
    });
    assert.ok(moved <= 1.2 * (keyCount / count), `moved ${moved} keys on a join`);
    // A join takes keys only for the new member: nothing moves between the old ones.
    assert.equal(movedElsewhere, 0);
    t.diagnostic(
      `most loaded ${(most / average).toFixed(3)} × average; a join moved ${(moved / (keyCount / count)).toFixed(3)} × keys/N`,
    );
    // About its fair share of the new ring, too.
    assert.ok(moved >= 0.7 * (keyCount / (count + 1)), `the joiner took only ${moved} keys`);
  });
}

test("a leave moves only the keys of the member that left", () => {
  const all = members(5);
  const before = owners(new HashRing(all));
  const after = owners(new HashRing(all.filter((member) => member !== all[2])));
  keys.forEach((_, i) => {
    if (before[i] !== all[2]) assert.equal(after[i], before[i]);
    else assert.notEqual(after[i], all[2]);
  });
});

test("the assignment depends only on the member names, not their order or duplicates", () => {
  const a = new HashRing(["c", "a", "b"]);
  const b = new HashRing(["a", "b", "c", "a"]);
  assert.deepEqual(a.members, ["a", "b", "c"]);
  assert.ok(a.sameMembers(b));
  for (const key of keys.slice(0, 1_000)) assert.equal(a.owner(key), b.owner(key));
  assert.ok(!a.sameMembers(new HashRing(["a", "b"])));
});

test("an empty ring owns nothing; one member owns everything", () => {
  assert.equal(new HashRing([]).owner("ns/x"), undefined);
  const single = new HashRing(["only"]);
  for (const key of keys.slice(0, 100)) assert.equal(single.owner(key), "only");
  assert.throws(() => new HashRing(["a"], 0), RangeError);
});

test("ring positions are stable 48-bit integers", () => {
  // Every replica, version and platform must place keys identically: pin one value.
  assert.equal(ringPosition("default/app"), ringPosition("default/app"));
  const position = ringPosition("default/app");
  assert.ok(Number.isSafeInteger(position) && position >= 0 && position < 2 ** 48);
  assert.equal(position, 0x954f4d3cbcd5);
});
