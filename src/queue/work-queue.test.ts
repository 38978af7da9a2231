import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { TokenBucket } from "../common/token-bucket.ts";
import { ExponentialBackoff } from "./backoff.ts";
import { systemClock } from "./clock.ts";
import { ManualClock, settle } from "./manual-clock.ts";
import type { WorkQueueMetrics } from "./metrics.ts";
import {
  DEFAULT_CONCURRENCY,
  type ProcessContext,
  type ProcessorReturn,
  type ProcessResult,
  type RetryInfo,
  WorkQueue,
  type WorkQueueOptions,
} from "./work-queue.ts";

// ---------------------------------------------------------------------------------------------
// Fixtures

interface Run {
  key: string;
  at: number;
  failures: number;
}

type Handler = (key: string, context: ProcessContext) => ProcessorReturn;

/**
 * A queue on a manual clock that records every run. Unless overridden: no jitter, no global
 * rate limit, so retry times are exact.
 */
function setup(options: Partial<WorkQueueOptions> & { handler?: Handler } = {}) {
  const clock = options.clock instanceof ManualClock ? options.clock : new ManualClock();
  const runs: Run[] = [];
  const { handler = () => undefined, ...rest } = options;
  const queue = new WorkQueue({
    name: "test",
    clock,
    rateLimiter: false,
    backoff: new ExponentialBackoff({ jitter: 0 }),
    ...rest,
    process: async (key, context) => {
      runs.push({ key, at: clock.now(), failures: context.failures });
      return handler(key, context);
    },
  });
  const keys = () => runs.map((run) => run.key);
  return { clock, runs, keys, queue };
}

/** Holds runs until the test releases them, one run at a time per key. */
class Gate {
  #waiting = new Map<string, ((result: ProcessResult | undefined) => void)[]>();

  readonly wait = (key: string): Promise<ProcessResult | undefined> =>
    new Promise((resolve) => {
      const list = this.#waiting.get(key) ?? [];
      list.push(resolve);
      this.#waiting.set(key, list);
    });

  /** How many runs of `key` are being held. */
  held(key: string): number {
    return this.#waiting.get(key)?.length ?? 0;
  }

  /** Ends the oldest held run of `key` with `result`, and lets the queue react. */
  async release(key: string, result?: ProcessResult): Promise<void> {
    const resolve = this.#waiting.get(key)?.shift();
    assert.ok(resolve, `no run of ${key} is being held`);
    resolve(result);
    await settle();
  }
}

/** Metrics hooks that record every call. */
class RecordingMetrics implements WorkQueueMetrics {
  readonly calls: { hook: keyof WorkQueueMetrics; name: string; values: number[] }[] = [];
  depth(name: string, depth: number) {
    this.calls.push({ hook: "depth", name, values: [depth] });
  }
  add(name: string) {
    this.calls.push({ hook: "add", name, values: [] });
  }
  queueDuration(name: string, seconds: number) {
    this.calls.push({ hook: "queueDuration", name, values: [seconds] });
  }
  workDuration(name: string, seconds: number) {
    this.calls.push({ hook: "workDuration", name, values: [seconds] });
  }
  retry(name: string) {
    this.calls.push({ hook: "retry", name, values: [] });
  }
  unfinishedWork(name: string, unfinishedSeconds: number, longestRunningSeconds: number) {
    this.calls.push({
      hook: "unfinishedWork",
      name,
      values: [unfinishedSeconds, longestRunningSeconds],
    });
  }
  of(hook: keyof WorkQueueMetrics): number[][] {
    return this.calls.filter((call) => call.hook === hook).map((call) => call.values);
  }
  count(hook: keyof WorkQueueMetrics): number {
    return this.of(hook).length;
  }
  lastDepth(): number | undefined {
    return this.of("depth").at(-1)?.[0];
  }
}

/** Small deterministic PRNG so randomized cases are reproducible. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------------------------

describe("WorkQueue: deduplication and one run per key at a time", () => {
  it("runs each key once however often it was added while queued", async () => {
    const { queue, keys } = setup();
    for (const key of ["a", "b", "a", "a", "c", "b"]) queue.add(key);
    assert.equal(queue.len(), 3);
    queue.start();
    await settle();
    assert.deepEqual(keys(), ["a", "b", "c"]);
    assert.equal(queue.len(), 0);
  });

  it("hands keys to workers in the order they became due", async () => {
    const { queue, keys } = setup({ concurrency: 1 });
    const order = Array.from({ length: 50 }, (_, i) => `k${(i * 7) % 50}`);
    for (const key of order) queue.add(key);
    queue.start();
    await settle();
    assert.deepEqual(keys(), order);
  });

  it("waits for start before running anything", async () => {
    const { queue, keys } = setup();
    queue.add("a");
    await settle();
    assert.deepEqual(keys(), []);
    queue.start();
    queue.start();
    await settle();
    assert.deepEqual(keys(), ["a"]);
  });

  it("does not run processor code inside add", () => {
    const { queue, keys } = setup();
    queue.start();
    queue.add("a");
    assert.deepEqual(keys(), [], "the run starts on a later microtask");
  });

  it("never runs a key twice at once; adds during a run give exactly one more run", async () => {
    const gate = new Gate();
    const { queue, keys } = setup({ concurrency: 4, handler: gate.wait });
    queue.start();
    queue.add("a");
    await settle();
    assert.equal(gate.held("a"), 1);
    for (let i = 0; i < 5; i++) queue.add("a");
    await settle();
    assert.equal(gate.held("a"), 1, "still one run, although three workers are free");
    assert.deepEqual(queue.stats(), { queued: 1, delayed: 0, running: 1 });
    await gate.release("a");
    assert.equal(gate.held("a"), 1, "the second run started after the first ended");
    assert.deepEqual(queue.stats(), { queued: 0, delayed: 0, running: 1 });
    await gate.release("a");
    assert.deepEqual(keys(), ["a", "a"], "no third run");
    assert.deepEqual(queue.stats(), { queued: 0, delayed: 0, running: 0 });
  });

  it("reruns a key that adds itself while running, once", async () => {
    let runs = 0;
    const { queue, keys } = setup({
      handler: (key) => {
        runs++;
        if (runs === 1) {
          queue.add(key);
          queue.add(key);
        }
        return undefined;
      },
    });
    queue.add("self");
    queue.start();
    await settle();
    assert.deepEqual(keys(), ["self", "self"]);
  });

  it("lets other keys run while one key is held", async () => {
    const gate = new Gate();
    const { queue, keys } = setup({
      concurrency: 2,
      handler: (key) => (key === "slow" ? gate.wait(key) : undefined),
    });
    queue.start();
    queue.add("slow");
    for (let i = 0; i < 10; i++) queue.add(`fast${i}`);
    await settle();
    assert.equal(keys().length, 11);
    await gate.release("slow");
  });
});

describe("WorkQueue: concurrency", () => {
  it("defaults to a bound of 8", async () => {
    const gate = new Gate();
    const { queue } = setup({ handler: gate.wait });
    assert.equal(queue.concurrency, DEFAULT_CONCURRENCY);
    assert.equal(DEFAULT_CONCURRENCY, 8);
    for (let i = 0; i < 20; i++) queue.add(`k${i}`);
    queue.start();
    await settle();
    assert.deepEqual(queue.stats(), { queued: 12, delayed: 0, running: 8 });
    await gate.release("k0");
    assert.deepEqual(queue.stats(), { queued: 11, delayed: 0, running: 8 });
  });

  it("runs everything at once with Infinity", async () => {
    const gate = new Gate();
    const { queue } = setup({ concurrency: Number.POSITIVE_INFINITY, handler: gate.wait });
    for (let i = 0; i < 500; i++) queue.add(`k${i}`);
    queue.start();
    await settle();
    assert.equal(queue.stats().running, 500);
  });

  it("holds the bound and per-key exclusion under load (1,000 keys, re-adds, failures)", async () => {
    const random = seeded(7);
    const limit = 7;
    const running = new Set<string>();
    let maxRunning = 0;
    let event = 0;
    // The queue turns throws into retries, so violations are collected and asserted afterwards.
    const violations: string[] = [];
    const lastAdd = new Map<string, number>();
    const lastStart = new Map<string, number>();
    const keys = Array.from({ length: 1000 }, (_, i) => `ns/obj-${i}`);
    const add = (key: string) => {
      lastAdd.set(key, event++);
      queue.add(key);
    };
    const queue = new WorkQueue({
      name: "load",
      concurrency: limit,
      rateLimiter: false,
      // Retries must not outlive the test: 0 ms backoff.
      backoff: { fail: () => 0, forget() {}, failures: () => 0 },
      process: async (key) => {
        if (running.has(key)) violations.push(`${key} started while running`);
        running.add(key);
        lastStart.set(key, event++);
        maxRunning = Math.max(maxRunning, running.size);
        const turns = Math.floor(random() * 4);
        for (let i = 0; i < turns; i++) await settle();
        // Sometimes re-add a key (maybe this one) mid-run, like an event arriving.
        if (random() < 0.2) add(keys[Math.floor(random() * keys.length)]!);
        running.delete(key);
        if (random() < 0.05) throw new Error("transient");
      },
    });
    queue.start();
    for (const key of keys) add(key);
    for (let i = 0; i < 10_000; i++) {
      const { queued, delayed, running: busy } = queue.stats();
      if (queued + delayed + busy === 0) break;
      await settle();
    }
    assert.deepEqual(queue.stats(), { queued: 0, delayed: 0, running: 0 });
    assert.deepEqual(violations, []);
    assert.equal(maxRunning, limit, "the bound was reached but never passed");
    for (const key of keys) {
      assert.ok(lastStart.get(key)! > lastAdd.get(key)!, `${key} ran after its last add`);
    }
  });

  it("rejects a bound that is not a positive integer", () => {
    const process = async () => undefined;
    for (const concurrency of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => new WorkQueue({ name: "x", process, concurrency }), RangeError);
    }
  });
});

describe("WorkQueue: delayed adds", () => {
  it("runs a key once its delay has passed, not before", async () => {
    const { queue, runs, clock } = setup();
    queue.start();
    queue.addAfter("a", 100);
    await clock.advance(99);
    assert.equal(runs.length, 0);
    assert.deepEqual(queue.stats(), { queued: 0, delayed: 1, running: 0 });
    await clock.advance(1);
    assert.deepEqual(runs, [{ key: "a", at: 100, failures: 0 }]);
  });

  it("runs delayed keys in due-time order", async () => {
    const { queue, runs, clock } = setup({ concurrency: 1 });
    queue.start();
    queue.addAfter("c", 300);
    queue.addAfter("a", 100);
    queue.addAfter("b", 200);
    await clock.advance(1000);
    assert.deepEqual(
      runs.map((run) => [run.key, run.at]),
      [
        ["a", 100],
        ["b", 200],
        ["c", 300],
      ],
    );
  });

  it("keeps the earlier of two delays for a key, whichever came first", async () => {
    for (const delays of [
      [100, 50],
      [50, 100],
    ]) {
      const { queue, runs, clock } = setup();
      queue.start();
      for (const delay of delays) queue.addAfter("a", delay);
      await clock.advance(1000);
      assert.deepEqual(
        runs.map((run) => run.at),
        [50],
        `delays ${delays}`,
      );
    }
  });

  it("lets an immediate add supersede a pending delayed one", async () => {
    const { queue, runs, clock } = setup();
    queue.start();
    queue.addAfter("a", 100);
    await clock.advance(10);
    queue.add("a");
    await clock.advance(1000);
    assert.deepEqual(
      runs.map((run) => run.at),
      [10],
    );
  });

  it("ignores a delayed add for a key that is already due", async () => {
    const { queue, runs, clock } = setup();
    queue.add("a");
    queue.addAfter("a", 50);
    assert.deepEqual(queue.stats(), { queued: 1, delayed: 0, running: 0 });
    queue.start();
    await clock.advance(1000);
    assert.deepEqual(
      runs.map((run) => run.at),
      [0],
    );
  });

  it("treats a delay of 0 or less as an immediate add", async () => {
    const { queue, runs } = setup();
    queue.start();
    queue.addAfter("a", 0);
    queue.addAfter("b", -5);
    await settle();
    assert.deepEqual(
      runs.map((run) => run.key),
      ["a", "b"],
    );
  });

  it("rejects a delay that is not a finite number", () => {
    const { queue } = setup();
    assert.throws(() => queue.addAfter("a", Number.NaN), RangeError);
    assert.throws(() => queue.addAfter("a", Number.POSITIVE_INFINITY), RangeError);
  });

  it("runs a key delayed during its run after that run, at its due time", async () => {
    const gate = new Gate();
    const { queue, runs, clock } = setup({ handler: gate.wait });
    queue.start();
    queue.add("a");
    await settle();
    queue.addAfter("a", 100); // due at 100, the run ends at 30
    await clock.advance(30);
    await gate.release("a");
    await clock.advance(69);
    assert.equal(runs.length, 1);
    await clock.advance(1);
    assert.deepEqual(
      runs.map((run) => run.at),
      [0, 100],
    );
    await gate.release("a");
  });

  it("runs a key that fell due during its run right after that run", async () => {
    const gate = new Gate();
    const { queue, runs, clock } = setup({ handler: gate.wait });
    queue.start();
    queue.add("a");
    await settle();
    queue.addAfter("a", 100);
    await clock.advance(250);
    assert.deepEqual(queue.stats(), { queued: 1, delayed: 0, running: 1 });
    await gate.release("a");
    assert.deepEqual(
      runs.map((run) => run.at),
      [0, 250],
    );
    await gate.release("a");
  });

  it("orders 10,000 delayed keys by due time behind a single timer", async () => {
    const random = seeded(11);
    const { queue, runs, clock } = setup({ concurrency: 1 });
    const due = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) {
      const key = `k${i}`;
      const delay = 1 + Math.floor(random() * 5_000);
      due.set(key, delay);
      queue.addAfter(key, delay);
    }
    assert.equal(clock.pendingTimers, 1);
    queue.start();
    await clock.advance(5_000);
    assert.equal(runs.length, 10_000);
    let previous = 0;
    for (const run of runs) {
      const at = due.get(run.key)!;
      assert.equal(run.at, at, `${run.key} ran at its due time`);
      assert.ok(at >= previous, "in due order");
      previous = at;
    }
    assert.equal(clock.pendingTimers, 0);
  });
});

describe("WorkQueue: processor results, failures and backoff", () => {
  it("retries a failing key with growing backoff, and starts over after a success", async () => {
    let failuresLeft = 4;
    const { queue, runs, clock } = setup({
      handler: () => {
        if (failuresLeft-- > 0) throw new Error("boom");
      },
    });
    queue.start();
    queue.add("a");
    await clock.advance(1000);
    assert.deepEqual(
      runs.map((run) => [run.at, run.failures]),
      [
        [0, 0],
        [5, 1],
        [15, 2],
        [35, 3],
        [75, 4],
      ],
    );
    assert.equal(queue.failures("a"), 0, "the success forgot the failures");
    failuresLeft = 1;
    const again = clock.now();
    queue.add("a");
    await clock.advance(1000);
    assert.deepEqual(
      runs.slice(5).map((run) => run.at - again),
      [0, 5],
      "the next failure backs off from the base again",
    );
  });

  it("uses 5 ms with up to 20% jitter as the default first backoff", async () => {
    const clock = new ManualClock();
    let fail = true;
    const runs: number[] = [];
    const queue = new WorkQueue({
      name: "defaults",
      clock,
      process: async () => {
        runs.push(clock.now());
        if (fail) {
          fail = false;
          throw new Error("once");
        }
      },
    });
    queue.start();
    queue.add("a");
    await clock.advance(3.99);
    assert.equal(runs.length, 1);
    await clock.advance(1.01);
    assert.equal(runs.length, 2);
    assert.ok(runs[1]! >= 4 && runs[1]! <= 5, `${runs[1]}`);
  });

  it("treats a returned { error } like a throw", async () => {
    const errors: unknown[] = [];
    let first = true;
    const { queue, runs, clock } = setup({
      onError: (_key, error) => errors.push(error),
      handler: () => {
        if (!first) return undefined;
        first = false;
        return { error: "not ready" };
      },
    });
    queue.start();
    queue.add("a");
    await clock.advance(100);
    assert.deepEqual(errors, ["not ready"]);
    assert.deepEqual(
      runs.map((run) => run.at),
      [0, 5],
    );
  });

  it("handles a processor that throws synchronously", async () => {
    const clock = new ManualClock();
    let calls = 0;
    const queue = new WorkQueue({
      name: "sync",
      clock,
      rateLimiter: false,
      backoff: new ExponentialBackoff({ jitter: 0 }),
      process: () => {
        calls++;
        if (calls === 1) throw new Error("sync");
        return undefined;
      },
    });
    queue.start();
    queue.add("a");
    await clock.advance(10);
    assert.equal(calls, 2);
    assert.equal(queue.failures("a"), 0);
  });

  it("reports an unexpected result as an error", async () => {
    const errors: unknown[] = [];
    const { queue, clock } = setup({
      onError: (_key, error) => errors.push(error),
      handler: (key) =>
        key === "a" ? ({ done: true } as unknown as ProcessResult) : { requeueAfterMs: Number.NaN },
    });
    queue.start();
    queue.add("a");
    queue.add("b");
    await clock.advance(1);
    assert.equal(errors.length, 2);
    for (const error of errors) assert.ok(error instanceof TypeError);
    assert.match(String(errors[0]), /unexpected result for a/);
    assert.match(String(errors[1]), /requeueAfterMs NaN for b/);
  });

  it("runs a key again after requeueAfterMs, clearing its failures", async () => {
    let run = 0;
    const { queue, runs, clock } = setup({
      handler: () => {
        run++;
        if (run <= 3) throw new Error("boom");
        if (run === 4) return { requeueAfterMs: 1000 };
        return undefined;
      },
    });
    queue.start();
    queue.add("a");
    await clock.advance(5000);
    assert.deepEqual(
      runs.map((r) => [r.at, r.failures]),
      [
        [0, 0],
        [5, 1],
        [15, 2],
        [35, 3],
        [1035, 0],
      ],
    );
  });

  it("tells onError about each failure and when the key will run again", async () => {
    const seen: [string, string, RetryInfo][] = [];
    const { queue, clock } = setup({
      onError: (key, error, retry) => {
        seen.push([key, (error as Error).message, retry]);
        throw new Error("a broken hook is ignored");
      },
      handler: (_key, context) => {
        if (context.failures < 2) throw new Error(`fail ${context.failures}`);
      },
    });
    queue.start();
    queue.add("a");
    await clock.advance(100);
    assert.deepEqual(seen, [
      ["a", "fail 0", { failures: 1, retryInMs: 5 }],
      ["a", "fail 1", { failures: 2, retryInMs: 10 }],
    ]);
  });

  it("reruns a key that failed after being re-added during the run at once, still counting the failure", async () => {
    const gate = new Gate();
    const seen: RetryInfo[] = [];
    const { queue, runs, clock } = setup({
      handler: gate.wait,
      onError: (_k, _e, r) => seen.push(r),
    });
    queue.start();
    queue.add("a");
    await settle();
    queue.add("a");
    await clock.advance(7);
    await gate.release("a", { error: new Error("boom") });
    assert.deepEqual(seen, [{ failures: 1, retryInMs: 0 }]);
    assert.deepEqual(
      runs.map((r) => [r.at, r.failures]),
      [
        [0, 0],
        [7, 1],
      ],
    );
    await gate.release("a");
    await clock.advance(100);
    assert.equal(runs.length, 2, "the superseded backoff does not add another run");
  });

  it("lets a re-add during the run win over the run's requeueAfterMs", async () => {
    const gate = new Gate();
    const { queue, runs, clock } = setup({ handler: gate.wait });
    queue.start();
    queue.add("a");
    await settle();
    queue.add("a");
    await gate.release("a", { requeueAfterMs: 500 });
    await gate.release("a");
    await clock.advance(1000);
    assert.deepEqual(
      runs.map((r) => r.at),
      [0, 0],
    );
  });

  it("addRateLimited backs off a key and forget resets it", async () => {
    const { queue, runs, clock } = setup();
    queue.start();
    queue.addRateLimited("a");
    queue.addRateLimited("a"); // second failure: 10 ms; the earlier 5 ms request wins
    assert.equal(queue.failures("a"), 2);
    await clock.advance(5);
    assert.deepEqual(
      runs.map((r) => [r.at, r.failures]),
      [[5, 2]],
    );
    queue.forget("a");
    assert.equal(queue.failures("a"), 0);
    queue.addRateLimited("a");
    await clock.advance(100);
    assert.deepEqual(
      runs.map((r) => r.at),
      [5, 10],
    );
  });

  it("passes the number of earlier failures to the processor", async () => {
    const { queue, runs, clock } = setup({
      handler: (_key, context) => {
        if (context.failures < 3) throw new Error("again");
      },
    });
    queue.start();
    queue.add("a");
    await clock.advance(1000);
    assert.deepEqual(
      runs.map((r) => r.failures),
      [0, 1, 2, 3],
    );
  });
});

describe("WorkQueue: global rate limit", () => {
  it("spaces retries beyond the bucket's burst at its rate", async () => {
    const { queue, runs, clock } = setup({
      rateLimiter: new TokenBucket({ qps: 10, burst: 2 }),
      backoff: new ExponentialBackoff({ baseMs: 1, jitter: 0 }),
      handler: (_key, context) => {
        if (context.failures === 0) throw new Error("first run fails");
      },
    });
    queue.start();
    for (const key of ["a", "b", "c", "d", "e"]) queue.add(key);
    await clock.advance(1000);
    const retries = runs.filter((r) => r.failures === 1).map((r) => [r.key, r.at]);
    assert.deepEqual(retries, [
      ["a", 1],
      ["b", 1],
      ["c", 100],
      ["d", 200],
      ["e", 300],
    ]);
  });

  it("is on by default at 10 per second after a burst of 100, for retries only", async () => {
    const clock = new ManualClock();
    const firstRuns: number[] = [];
    const retries: number[] = [];
    const queue = new WorkQueue({
      name: "defaults",
      clock,
      concurrency: Number.POSITIVE_INFINITY,
      process: async (_key, context) => {
        (context.failures === 0 ? firstRuns : retries).push(clock.now());
        if (context.failures === 0) throw new Error("first run fails");
      },
    });
    queue.start();
    for (let i = 0; i < 105; i++) queue.add(`k${i}`);
    await settle();
    assert.equal(firstRuns.length, 105, "adds are not rate limited");
    await clock.advance(10);
    assert.equal(retries.length, 100, "the burst retries within the backoff");
    await clock.advance(490);
    assert.deepEqual(retries.slice(100), [100, 200, 300, 400, 500]);
  });

  it("can be turned off", async () => {
    const { queue, runs, clock } = setup({
      rateLimiter: false,
      backoff: new ExponentialBackoff({ baseMs: 1, jitter: 0 }),
      handler: (_key, context) => {
        if (context.failures === 0) throw new Error("first run fails");
      },
    });
    queue.start();
    for (let i = 0; i < 500; i++) queue.add(`k${i}`);
    await clock.advance(1);
    assert.equal(runs.filter((r) => r.failures === 1).length, 500);
  });
});

describe("WorkQueue: debounce", () => {
  it("merges adds within the window into one run at its end", async () => {
    const { queue, runs, clock } = setup({ debounceMs: 100 });
    queue.start();
    queue.add("a");
    await clock.advance(30);
    queue.add("a");
    await clock.advance(60);
    queue.add("a");
    await clock.advance(9);
    assert.equal(runs.length, 0);
    await clock.advance(1);
    assert.deepEqual(
      runs.map((r) => r.at),
      [100],
    );
    await clock.advance(50);
    queue.add("a");
    await clock.advance(1000);
    assert.deepEqual(
      runs.map((r) => r.at),
      [100, 250],
    );
  });

  it("does not hold a key past its first window when adds keep coming", async () => {
    const { queue, runs, clock } = setup({ debounceMs: 100 });
    queue.start();
    for (let t = 0; t < 300; t += 10) {
      queue.add("a");
      await clock.advance(10);
    }
    assert.deepEqual(
      runs.map((r) => r.at),
      [100, 200, 300],
    );
  });

  it("leaves addAfter(key, 0) immediate", async () => {
    const { queue, runs, clock } = setup({ debounceMs: 100 });
    queue.start();
    queue.add("a");
    await clock.advance(20);
    queue.addAfter("a", 0);
    await clock.advance(1000);
    assert.deepEqual(
      runs.map((r) => r.at),
      [20],
    );
  });

  it("reruns a key debounced during its run once, after the window", async () => {
    const gate = new Gate();
    const { queue, runs, clock } = setup({ debounceMs: 100, handler: gate.wait });
    queue.start();
    queue.add("a");
    await clock.advance(100);
    queue.add("a");
    queue.add("a");
    await clock.advance(20);
    await gate.release("a");
    await clock.advance(200);
    assert.deepEqual(
      runs.map((r) => r.at),
      [100, 200],
    );
    await gate.release("a");
  });

  it("rejects a negative window", () => {
    assert.throws(
      () => new WorkQueue({ name: "x", process: async () => undefined, debounceMs: -1 }),
      RangeError,
    );
  });
});

describe("WorkQueue: shutdown", () => {
  it("resolves true at once when nothing runs, and may be called again", async () => {
    const { queue } = setup();
    queue.add("a");
    assert.equal(await queue.shutdown(0), true);
    assert.equal(await queue.shutdown(), true);
    assert.equal(queue.shuttingDown, true);
    assert.throws(() => queue.start(), /shut down/);
  });

  it("lets running keys finish, starts nothing new and ignores adds", async () => {
    const gate = new Gate();
    const { queue, keys, clock } = setup({ concurrency: 1, handler: gate.wait });
    queue.start();
    queue.add("a");
    queue.add("b");
    queue.addAfter("c", 10);
    await settle();
    let result: boolean | undefined;
    void queue.shutdown(1000).then((drained) => {
      result = drained;
    });
    queue.add("d");
    queue.addAfter("e", 1);
    queue.addRateLimited("f");
    assert.deepEqual(queue.stats(), { queued: 0, delayed: 0, running: 1 });
    await clock.advance(500);
    assert.equal(result, undefined, "still waiting for a");
    await gate.release("a");
    assert.equal(result, true);
    await clock.advance(5000);
    assert.deepEqual(keys(), ["a"]);
    assert.equal(clock.pendingTimers, 0, "no timers left behind");
  });

  it("returns false after the timeout and aborts the runs' signal", async () => {
    const gate = new Gate();
    let signal: AbortSignal | undefined;
    const { queue, clock } = setup({
      handler: (key, context) => {
        signal = context.signal;
        return gate.wait(key);
      },
    });
    queue.start();
    queue.add("a");
    await settle();
    let result: boolean | undefined;
    void queue.shutdown(1000).then((drained) => {
      result = drained;
    });
    await clock.advance(999);
    assert.equal(result, undefined);
    assert.equal(signal?.aborted, false);
    await clock.advance(1);
    assert.equal(result, false);
    assert.equal(signal?.aborted, true);
    assert.equal((signal!.reason as DOMException).name, "TimeoutError");
    // The late run still finishes cleanly.
    await gate.release("a");
    assert.deepEqual(queue.stats(), { queued: 0, delayed: 0, running: 0 });
    assert.equal(await queue.shutdown(0), true);
  });

  it("answers each caller by its own timeout", async () => {
    const gate = new Gate();
    const { queue, clock } = setup({ handler: gate.wait });
    queue.start();
    queue.add("a");
    await settle();
    const results: [string, boolean][] = [];
    void queue.shutdown(100).then((d) => results.push(["short", d]));
    void queue.shutdown(Number.POSITIVE_INFINITY).then((d) => results.push(["forever", d]));
    await clock.advance(100_000);
    assert.deepEqual(results, [["short", false]]);
    await gate.release("a");
    assert.deepEqual(results, [
      ["short", false],
      ["forever", true],
    ]);
    assert.equal(clock.pendingTimers, 0);
  });

  it("does not retry, requeue or rerun keys that finish during shutdown", async () => {
    const gate = new Gate();
    const seen: RetryInfo[] = [];
    const { queue, keys, clock } = setup({
      handler: gate.wait,
      onError: (_key, _error, retry) => seen.push(retry),
    });
    queue.start();
    for (const key of ["fails", "requeues", "readded"]) queue.add(key);
    await settle();
    queue.add("readded");
    const drained = queue.shutdown(1000);
    await gate.release("fails", { error: new Error("boom") });
    await gate.release("requeues", { requeueAfterMs: 10 });
    await gate.release("readded");
    assert.equal(await drained, true);
    await clock.advance(10_000);
    assert.deepEqual(keys(), ["fails", "requeues", "readded"]);
    assert.deepEqual(seen, [{ failures: 1, retryInMs: undefined }]);
    assert.equal(clock.pendingTimers, 0);
  });

  it("rejects a negative timeout", () => {
    const { queue } = setup();
    assert.throws(() => queue.shutdown(-1), RangeError);
  });
});

describe("WorkQueue: metrics", () => {
  it("counts adds that ask for a run and tracks depth", async () => {
    const metrics = new RecordingMetrics();
    const gate = new Gate();
    const { queue } = setup({ metrics, handler: gate.wait });
    queue.add("a");
    queue.add("b");
    queue.add("a");
    queue.addAfter("c", 100);
    assert.equal(metrics.count("add"), 2, "a deduplicated add and a delayed add are not counted");
    assert.deepEqual(metrics.of("depth"), [[1], [2]]);
    queue.start();
    await settle();
    assert.equal(metrics.lastDepth(), 0);
    queue.add("a"); // re-added while running: due, so counted
    assert.equal(metrics.count("add"), 3);
    assert.equal(metrics.lastDepth(), 1);
    assert.equal(queue.len(), 1);
    await gate.release("a");
    assert.equal(metrics.lastDepth(), 0);
    assert.ok(metrics.calls.every((call) => call.name === "test"));
  });

  it("reports queue and work durations in seconds", async () => {
    const metrics = new RecordingMetrics();
    const gate = new Gate();
    const { queue, clock } = setup({ metrics, handler: gate.wait });
    queue.add("a");
    await clock.advance(250);
    queue.start();
    await settle();
    await clock.advance(1500);
    await gate.release("a");
    assert.deepEqual(metrics.of("queueDuration"), [[0.25]]);
    assert.deepEqual(metrics.of("workDuration"), [[1.5]]);
  });

  it("counts retries from failures and from addRateLimited", async () => {
    const metrics = new RecordingMetrics();
    const { queue, clock } = setup({
      metrics,
      handler: (_key, context) => {
        if (context.failures < 2) throw new Error("boom");
      },
    });
    queue.start();
    queue.add("a");
    await clock.advance(100);
    assert.equal(metrics.count("retry"), 2);
    queue.addRateLimited("b");
    assert.equal(metrics.count("retry"), 3);
  });

  it("reports the age of running work while it runs, and zeros when it ends", async () => {
    const metrics = new RecordingMetrics();
    const gate = new Gate();
    const { queue, clock } = setup({ metrics, metricsIntervalMs: 500, handler: gate.wait });
    queue.start();
    queue.add("a");
    await clock.advance(500); // first report: a has run 0.5 s
    queue.add("b");
    await clock.advance(1000); // reports at 1.0 s and 1.5 s
    assert.deepEqual(metrics.of("unfinishedWork"), [
      [0.5, 0.5],
      [1.5, 1.0],
      [2.5, 1.5],
    ]);
    await gate.release("a");
    await clock.advance(500);
    assert.deepEqual(metrics.of("unfinishedWork").at(-1), [1.5, 1.5], "b alone, at 1.5 s");
    await gate.release("b");
    assert.deepEqual(metrics.of("unfinishedWork").at(-1), [0, 0]);
    assert.equal(clock.pendingTimers, 0, "no reporting while idle");
  });

  it("reports nothing and sets no timer without metrics", async () => {
    const gate = new Gate();
    const { queue, clock } = setup({ handler: gate.wait });
    queue.start();
    queue.add("a");
    await settle();
    assert.equal(clock.pendingTimers, 0);
    await gate.release("a");
  });
});

describe("WorkQueue: real time", () => {
  it("runs delayed keys on the system clock", async () => {
    let resolve: (key: string) => void = () => {};
    const ran = new Promise<string>((r) => {
      resolve = r;
    });
    const queue = new WorkQueue({
      name: "real",
      clock: systemClock,
      process: async (key) => {
        resolve(key);
      },
    });
    queue.start();
    queue.addAfter("a", 5);
    assert.equal(await ran, "a");
    assert.equal(await queue.shutdown(), true);
  });

  it("does not keep the process alive with delayed keys or metrics reporting", async () => {
    const workQueue = fileURLToPath(new URL("./work-queue.ts", import.meta.url));
    // The child leaves two hour-long delayed keys behind and then has nothing left to do: it
    // must exit by itself.
    const script = `
      const { WorkQueue } = await import(${JSON.stringify(workQueue)});
      const metrics = { depth() {}, add() {}, queueDuration() {}, workDuration() {}, retry() {}, unfinishedWork() {} };
      const queue = new WorkQueue({
        name: "exit",
        metrics,
        process: async () => ({ requeueAfterMs: 3_600_000 }),
      });
      queue.addAfter("later", 3_600_000);
      queue.add("now");
      queue.start();
      await new Promise((resolve) => setTimeout(resolve, 20));
      const stats = queue.stats();
      if (stats.delayed !== 2) throw new Error("expected two delayed keys: " + JSON.stringify(stats));
      console.log("waiting");
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    const code = await new Promise<number | null>((resolve) => {
      // Only a guard against hanging forever, not a timing assertion.
      const guard = setTimeout(() => {
        child.kill();
        resolve(null);
      }, 60_000);
      child.on("exit", (exitCode) => {
        clearTimeout(guard);
        resolve(exitCode);
      });
    });
    assert.equal(code, 0, output);
    assert.match(output, /waiting/);
  });
});
