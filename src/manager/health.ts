/**
 * Liveness and readiness: named checks the probe server answers `/healthz` and `/readyz` with,
 * and the work monitor behind the built-in liveness check.
 *
 * What "alive" means here: the process can still make progress on its work. Restarting a pod is
 * drastic, so liveness fails only for states a restart fixes and nothing else does:
 * - a sync has been running far longer than any sync should (default 10 minutes; the client
 *   gives up on a single request after 2 minutes, so a sync this old is waiting on something
 *   that will not come: a promise never settled, a lock never released);
 * - keys have been due for that long while no sync started or finished: the workers are gone.
 *
 * An unreachable API server does not fail liveness: a restart does not bring it back, and
 * restarting every operator at once during an outage only adds load when it returns. That is
 * what readiness and the informer metrics are for.
 *
 * @module
 */

/** A health check: healthy when it returns (or resolves); unhealthy when it throws (or rejects). */
export type HealthCheck = () => unknown;

/** The answer to one probe. */
export interface ProbeResult {
  healthy: boolean;
  /** Per check: `undefined` when it passed, else why it failed. */
  checks: { name: string; failure?: string }[];
}

/**
 * A set of named checks, run together for one probe.
 *
 * @example
 * const readiness = new HealthChecks();
 * readiness.add("caches", () => {
 *   if (!informers.hasSynced()) throw new Error("caches not synced yet");
 * });
 * const { healthy } = await readiness.run();
 */
export class HealthChecks {
  readonly #checks = new Map<string, HealthCheck>();

  /** Adds a check. Names are unique: they are the `/healthz/<name>` paths. */
  add(name: string, check: HealthCheck): void {
    if (!/^[a-z0-9][a-z0-9-._]*$/i.test(name))
      throw new TypeError(
        `health check name "${name}" must be letters, digits, ".", "-" or "_" (it is a URL path)`,
      );
    if (this.#checks.has(name)) throw new Error(`a health check named "${name}" exists already`);
    this.#checks.set(name, check);
  }

  names(): string[] {
    return [...this.#checks.keys()];
  }

  has(name: string): boolean {
    return this.#checks.has(name);
  }

  /** Runs every check (or only `only`), each bounded by `timeoutMs`. */
  async run(options: { only?: string; timeoutMs?: number } = {}): Promise<ProbeResult> {
    const timeoutMs = options.timeoutMs ?? 5_000;
    const entries = [...this.#checks].filter(([name]) => !options.only || name === options.only);
    const checks = await Promise.all(
      entries.map(async ([name, check]) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            Promise.resolve().then(check),
            new Promise((_, reject) => {
              timer = setTimeout(
                () => reject(new Error(`no answer within ${timeoutMs} ms`)),
                timeoutMs,
              );
            }),
          ]);
          return { name };
        } catch (error) {
          return { name, failure: error instanceof Error ? error.message : String(error) };
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    return { healthy: checks.every((check) => check.failure === undefined), checks };
  }
}

/**
 * Follows one controller's work to tell whether it still makes progress: the syncs running now
 * and since when, the number of due keys and since when there have been some, and the last time
 * a sync started or finished.
 *
 * @example
 * const monitor = new WorkMonitor();
 * monitor.resume();                 // the controller's workers started
 * monitor.started("ns/a"); ...; monitor.finished("ns/a");
 * monitor.problem(600_000);         // undefined while healthy
 */
export class WorkMonitor {
  readonly #now: () => number;
  readonly #running = new Map<string, number>();
  #depth = 0;
  #dueSince = 0;
  #lastProgress = 0;
  #active = false;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** The workers run from now on (the controller started, or this replica became the leader). */
  resume(): void {
    this.#active = true;
    this.#lastProgress = this.#now();
  }

  /** The workers stopped on purpose (shutdown, lost leadership): nothing to judge any more. */
  pause(): void {
    this.#active = false;
  }

  started(key: string): void {
    this.#running.set(key, this.#now());
    this.#lastProgress = this.#now();
  }

  finished(key: string): void {
    this.#running.delete(key);
    this.#lastProgress = this.#now();
  }

  /** The queue's count of due keys (its `depth` metric). */
  depth(depth: number): void {
    if (depth > 0 && this.#depth === 0) this.#dueSince = this.#now();
    this.#depth = depth;
  }

  /** Syncs running now, oldest first, with how long each has run (ms). */
  running(): { key: string; ms: number }[] {
    const now = this.#now();
    return [...this.#running]
      .map(([key, since]) => ({ key, ms: now - since }))
      .sort((a, b) => b.ms - a.ms);
  }

  /** Why the work loop looks stuck, or `undefined` when it does not. */
  problem(stuckAfterMs: number): string | undefined {
    if (!this.#active) return undefined;
    const now = this.#now();
    const oldest = this.running()[0];
    if (oldest && oldest.ms > stuckAfterMs) {
      return `the sync of ${oldest.key} has been running for ${Math.round(oldest.ms / 1000)} s (limit ${Math.round(stuckAfterMs / 1000)} s)`;
    }
    if (this.#depth > 0) {
      const waiting = now - Math.max(this.#dueSince, this.#lastProgress);
      if (waiting > stuckAfterMs) {
        return `${this.#depth} keys have waited ${Math.round(waiting / 1000)} s with no sync starting or finishing`;
      }
    }
    return undefined;
  }
}
