/** Health checks and the work monitor behind liveness, on a fake clock. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HealthChecks, WorkMonitor } from "./health.ts";

describe("WorkMonitor", () => {
  function monitor() {
    let now = 1_000;
    const work = new WorkMonitor(() => now);
    return {
      work,
      advance: (ms: number) => {
        now += ms;
      },
    };
  }

  test("judges nothing until the workers run", () => {
    const { work, advance } = monitor();
    work.depth(5);
    work.started("ns/a");
    advance(60 * 60_000);
    assert.equal(work.problem(60_000), undefined, "a standby's queue fills without workers");
  });

  test("a sync running past the limit is a problem, named by key", () => {
    const { work, advance } = monitor();
    work.resume();
    work.started("ns/slow");
    advance(30_000);
    work.started("ns/fast");
    advance(30_001);
    assert.match(work.problem(60_000) ?? "", /ns\/slow has been running for 60 s/);
    work.finished("ns/slow");
    assert.equal(work.problem(60_000), undefined);
    assert.deepEqual(
      work.running().map((r) => r.key),
      ["ns/fast"],
    );
  });

  test("due keys with no sync starting or finishing mean the workers are gone", () => {
    const { work, advance } = monitor();
    work.resume();
    advance(10 * 60_000); // idle for long: not a problem
    work.depth(3);
    assert.equal(work.problem(60_000), undefined, "keys just became due");
    advance(30_000);
    work.started("ns/a");
    work.finished("ns/a");
    advance(59_000);
    assert.equal(work.problem(60_000), undefined, "progress was made 59 s ago");
    advance(2_000);
    assert.match(work.problem(60_000) ?? "", /3 keys have waited 61 s/);
    work.depth(0);
    assert.equal(work.problem(60_000), undefined);
  });

  test("paused workers are not judged", () => {
    const { work, advance } = monitor();
    work.resume();
    work.started("ns/a");
    work.pause();
    advance(3_600_000);
    assert.equal(work.problem(60_000), undefined);
  });
});

describe("HealthChecks", () => {
  test("runs every check, reports each failure, bounds slow ones", async () => {
    const checks = new HealthChecks();
    checks.add("ok", () => {});
    checks.add("async-ok", async () => "fine");
    checks.add("broken", () => {
      throw new Error("no database");
    });
    checks.add("slow", () => new Promise(() => {}));
    const result = await checks.run({ timeoutMs: 50 });
    assert.equal(result.healthy, false);
    assert.deepEqual(result.checks, [
      { name: "ok" },
      { name: "async-ok" },
      { name: "broken", failure: "no database" },
      { name: "slow", failure: "no answer within 50 ms" },
    ]);
    assert.deepEqual(await checks.run({ only: "ok" }), { healthy: true, checks: [{ name: "ok" }] });
  });

  test("names are unique URL segments", () => {
    const checks = new HealthChecks();
    checks.add("a", () => {});
    assert.throws(() => checks.add("a", () => {}), /exists already/);
    assert.throws(() => checks.add("a/b", () => {}), /URL path/);
  });
});
