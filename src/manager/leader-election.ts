/**
 * Leader election over a `coordination.k8s.io/v1` Lease, with the algorithm and defaults of
 * client-go's `leaderelection` package, so Operon replicas and Go controllers reason about a
 * Lease the same way:
 *
 * - the Lease names its holder (`holderIdentity`), when the holder took it (`acquireTime`), when
 *   it last renewed it (`renewTime`, MicroTime), for how long a renewal counts
 *   (`leaseDurationSeconds`) and how often it changed hands (`leaseTransitions`);
 * - every write is a create or an update carrying the `resourceVersion` last read, so of two
 *   replicas racing for the same Lease exactly one wins (the other gets a conflict);
 * - a candidate takes the Lease only when it is free (no holder) or when the record has not
 *   changed for a whole lease duration, measured on the candidate's own monotonic clock from
 *   when it *observed* the record: clocks of different machines are never compared;
 * - the leader renews every retry period; when renewals keep failing for the renew deadline
 *   (shorter than the lease duration), it gives up before anyone else may take over;
 * - on a graceful stop the leader releases the Lease (empty holder, 1 s duration), so a standby
 *   takes over at its next retry instead of waiting out the lease duration.
 *
 * @module
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { KubeClient } from "../client/client.ts";
import { isNotFound } from "../client/errors.ts";
import type { Logger } from "../logger.ts";
import { silentLogger } from "../logger.ts";
import type { Clock, Timer } from "../queue/clock.ts";
import { systemClock } from "../queue/clock.ts";
import { Lease, type LeaseSpec } from "../resources/coordination.ts";

/** client-go's defaults, which Kubebuilder and controller-runtime use as well. */
export const DEFAULT_LEASE_DURATION_MS = 15_000;
export const DEFAULT_RENEW_DEADLINE_MS = 10_000;
export const DEFAULT_RETRY_PERIOD_MS = 2_000;
/** Waits between acquire attempts are stretched by up to this factor (client-go's JitterFactor). */
const JITTER_FACTOR = 1.2;

/** A Lease as the elector sees it: its spec and the version to write against. */
export interface LeaseRecord {
  spec: LeaseSpec;
  resourceVersion: string;
}

/**
 * Where the lease lives. {@link KubeLeaseLock} keeps it in a Lease object; tests use an in-memory
 * one. `update` must fail when the stored version is not `resourceVersion`.
 */
export interface LeaseLock {
  /** For log lines: `namespace/name`. */
  readonly description: string;
  /** The current record, or `undefined` when there is none yet. */
  get(signal: AbortSignal): Promise<LeaseRecord | undefined>;
  create(spec: LeaseSpec, signal: AbortSignal): Promise<LeaseRecord>;
  update(spec: LeaseSpec, resourceVersion: string, signal: AbortSignal): Promise<LeaseRecord>;
}

/**
 * A {@link LeaseLock} kept in a `coordination.k8s.io/v1` Lease.
 *
 * @example
 * const lock = new KubeLeaseLock(client, "operators", "greeter-leader");
 */
export class KubeLeaseLock implements LeaseLock {
  readonly description: string;
  readonly #client: KubeClient;
  readonly #namespace: string;
  readonly #name: string;
  readonly #labels: Readonly<Record<string, string>> | undefined;
  /** The metadata last read or written: an update keeps it (labels, owners), as client-go does. */
  #metadata: Lease["metadata"] | undefined;

  /** `options.labels` are put on the Lease when it is created (e.g. to find a ring's members). */
  constructor(
    client: KubeClient,
    namespace: string,
    name: string,
    options: { labels?: Readonly<Record<string, string>> } = {},
  ) {
    this.#client = client;
    this.#namespace = namespace;
    this.#name = name;
    this.#labels = options.labels;
    this.description = `${namespace}/${name}`;
  }

  #record(lease: Lease): LeaseRecord {
    this.#metadata = lease.metadata;
    return { spec: lease.spec ?? {}, resourceVersion: lease.metadata.resourceVersion ?? "" };
  }

  async get(signal: AbortSignal): Promise<LeaseRecord | undefined> {
    try {
      return this.#record(
        await this.#client.get(Lease, this.#name, { namespace: this.#namespace, signal }),
      );
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async create(spec: LeaseSpec, signal: AbortSignal): Promise<LeaseRecord> {
    return this.#record(
      await this.#client.create(
        Lease,
        {
          metadata: {
            name: this.#name,
            namespace: this.#namespace,
            ...(this.#labels ? { labels: { ...this.#labels } } : {}),
          },
          spec,
        },
        { signal },
      ),
    );
  }

  async update(
    spec: LeaseSpec,
    resourceVersion: string,
    signal: AbortSignal,
  ): Promise<LeaseRecord> {
    const { managedFields: _managedFields, ...kept } = this.#metadata ?? {};
    return this.#record(
      await this.#client.update(
        Lease,
        {
          metadata: { ...kept, name: this.#name, namespace: this.#namespace, resourceVersion },
          spec,
        },
        { signal },
      ),
    );
  }
}

/** Options of {@link LeaderElector}. */
export interface LeaderElectorOptions {
  lock: LeaseLock;
  /** This replica's name in the Lease. Default {@link defaultIdentity}: `<hostname>_<uuid>`. */
  identity?: string;
  /** How long a Lease counts after its last renewal. Default 15 s. */
  leaseDurationMs?: number;
  /** How long the leader keeps retrying a failing renewal before it gives up. Default 10 s. */
  renewDeadlineMs?: number;
  /** How often candidates try to acquire and the leader renews. Default 2 s. */
  retryPeriodMs?: number;
  /** Clear the Lease on {@link LeaderElector.stop} so a standby takes over at once. Default true. */
  releaseOnStop?: boolean;
  /** Called once when this replica becomes the leader. */
  onElected?: () => void;
  /**
   * Called once when the leader lost the Lease: renewals failed for the renew deadline, or
   * another holder was found in it. The replica must stop writing at once.
   */
  onLost?: (reason: string) => void;
  /** Called whenever the observed holder changes (`""` when the Lease is free). */
  onLeaderChange?: (identity: string) => void;
  logger?: Logger;
  /** Monotonic time and timers. Default: the real clock. */
  clock?: Clock;
  /** Wall-clock time for the MicroTime fields (epoch ms). Default `Date.now`. */
  wallClock?: () => number;
  /** Uniform random source in [0, 1) for jitter. */
  random?: () => number;
}

/**
 * `<hostname>_<uuid>`: unique per process even when replicas share a hostname.
 *
 * @example
 * defaultIdentity(); // "greeter-7d9f8-abcde_6f1c...", in a pod whose name is its hostname
 */
export function defaultIdentity(): string {
  return `${hostname()}_${randomUUID()}`;
}

/**
 * A MicroTime (`metav1.MicroTime`): RFC 3339 with six fractional digits, the only form the API
 * server accepts in a Lease.
 *
 * @example
 * microTime(Date.UTC(2030, 0, 1)); // "2030-01-01T00:00:00.000000Z"
 */
export function microTime(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(0, 23)}000Z`;
}

/**
 * Checks the timing rules client-go enforces: the leader must give up (renew deadline) before a
 * standby may take over (lease duration), and must get several tries within the deadline.
 *
 * @throws {RangeError} when a duration is not positive or the rules are broken.
 * @example
 * validateElectionTimings({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });
 */
export function validateElectionTimings(timings: {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}): void {
  const { leaseDurationMs, renewDeadlineMs, retryPeriodMs } = timings;
  for (const [name, value] of Object.entries(timings)) {
    if (!(value > 0 && Number.isFinite(value)))
      throw new RangeError(`${name} must be a positive number of milliseconds, got ${value}`);
  }
  if (leaseDurationMs <= renewDeadlineMs)
    throw new RangeError(
      `the lease duration (${leaseDurationMs} ms) must be longer than the renew deadline (${renewDeadlineMs} ms)`,
    );
  if (renewDeadlineMs <= JITTER_FACTOR * retryPeriodMs)
    throw new RangeError(
      `the renew deadline (${renewDeadlineMs} ms) must be longer than ${JITTER_FACTOR} × the retry period (${retryPeriodMs} ms)`,
    );
}

function sameRecord(a: LeaseSpec | undefined, b: LeaseSpec | undefined): boolean {
  if (!a || !b) return a === b;
  return (
    (a.holderIdentity ?? "") === (b.holderIdentity ?? "") &&
    a.leaseDurationSeconds === b.leaseDurationSeconds &&
    a.acquireTime === b.acquireTime &&
    a.renewTime === b.renewTime &&
    (a.leaseTransitions ?? 0) === (b.leaseTransitions ?? 0)
  );
}

/**
 * Competes for a Lease and, once it holds it, keeps renewing it.
 *
 * @example
 * const elector = new LeaderElector({
 *   lock: new KubeLeaseLock(client, "operators", "greeter-leader"),
 *   onElected: () => startControllers(),
 *   onLost: () => process.exit(1),
 * });
 * elector.start();
 * // on SIGTERM, after the controllers drained:
 * await elector.stop(); // releases the Lease
 */
export class LeaderElector {
  readonly identity: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly #options: LeaderElectorOptions;
  readonly #lock: LeaseLock;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #wallClock: () => number;
  readonly #random: () => number;

  /** The last record read or written, with its version and when (monotonic) it was first seen. */
  #observed: LeaseRecord | undefined;
  #observedAt = 0;
  #leading = false;
  #stopping = false;
  #loop: Promise<void> | undefined;
  /** Wakes the current sleep early (on stop). */
  #wake: (() => void) | undefined;
  /** Aborts the request in flight (on stop). */
  #inFlight: AbortController | undefined;
  #lastRenew: number | undefined;

  constructor(options: LeaderElectorOptions) {
    this.#options = options;
    this.#lock = options.lock;
    this.identity = options.identity ?? defaultIdentity();
    this.leaseDurationMs = options.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS;
    this.renewDeadlineMs = options.renewDeadlineMs ?? DEFAULT_RENEW_DEADLINE_MS;
    this.retryPeriodMs = options.retryPeriodMs ?? DEFAULT_RETRY_PERIOD_MS;
    validateElectionTimings({
      leaseDurationMs: this.leaseDurationMs,
      renewDeadlineMs: this.renewDeadlineMs,
      retryPeriodMs: this.retryPeriodMs,
    });
    this.#logger = options.logger ?? silentLogger;
    this.#clock = options.clock ?? systemClock;
    this.#wallClock = options.wallClock ?? Date.now;
    this.#random = options.random ?? Math.random;
  }

  /** Whether this replica holds the Lease now. */
  get isLeader(): boolean {
    return this.#leading;
  }

  /** The holder last seen in the Lease (`""` when free, `undefined` before the first read). */
  get leader(): string | undefined {
    return this.#observed ? (this.#observed.spec.holderIdentity ?? "") : undefined;
  }

  /** When the leader last renewed (monotonic ms), for health checks. */
  get lastRenewal(): number | undefined {
    return this.#lastRenew;
  }

  /** Starts competing for the Lease. Calling it again does nothing. */
  start(): void {
    if (this.#loop || this.#stopping) return;
    this.#loop = this.#run().catch((error: unknown) => {
      // The loops catch their own failures; reaching this is a bug, and the safe reaction is
      // to behave as if the Lease was lost.
      this.#logger.error({ err: error }, "leader election stopped unexpectedly");
      if (this.#leading) this.#lose("leader election failed unexpectedly");
    });
  }

  /**
   * Stops competing. A leader stops renewing and, unless `releaseOnStop` is false, releases the
   * Lease so a standby takes over at once. Resolves when done.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    this.#inFlight?.abort(new DOMException("leader election stopped", "AbortError"));
    await this.#loop;
    if (this.#leading) {
      this.#leading = false;
      if (this.#options.releaseOnStop ?? true) await this.#release();
    }
  }

  async #run(): Promise<void> {
    // Acquire: try now, then every retry period (stretched by jitter so candidates that
    // started together do not keep colliding).
    for (;;) {
      if (this.#stopping) return;
      if (await this.#attempt(this.renewDeadlineMs)) break;
      if (this.#stopping) return;
      await this.#sleep(this.retryPeriodMs * (1 + this.#random() * JITTER_FACTOR));
    }
    if (this.#stopping) {
      // Won just as the stop came: the stop releases it.
      this.#leading = true;
      return;
    }
    this.#leading = true;
    this.#lastRenew = this.#clock.now();
    this.#logger.info(
      { lease: this.#lock.description, identity: this.identity },
      "acquired the lease; this replica is the leader",
    );
    this.#options.onElected?.();

    // Renew: every retry period, one renewal that may retry until the renew deadline.
    for (;;) {
      await this.#sleep(this.retryPeriodMs);
      if (this.#stopping) return;
      const failure = await this.#renew();
      if (this.#stopping) return;
      if (failure) {
        this.#lose(failure);
        return;
      }
    }
  }

  /** One renewal: retries until it succeeds or the renew deadline passes. The reason it failed. */
  async #renew(): Promise<string | undefined> {
    const started = this.#clock.now();
    for (;;) {
      const remaining = this.renewDeadlineMs - (this.#clock.now() - started);
      if (remaining <= 0) break;
      if (await this.#attempt(remaining)) {
        this.#lastRenew = this.#clock.now();
        return undefined;
      }
      if (this.#stopping) return undefined;
      const holder = this.#observed?.spec.holderIdentity;
      // Someone else holds it already (an edit by hand, or our renewals failed for longer than
      // we knew): waiting out the deadline would only let two leaders write.
      if (holder && holder !== this.identity) return `the lease is now held by ${holder}`;
      const left = this.renewDeadlineMs - (this.#clock.now() - started);
      if (left <= 0) break;
      await this.#sleep(Math.min(this.retryPeriodMs, left));
    }
    return `could not renew the lease within the renew deadline (${this.renewDeadlineMs} ms)`;
  }

  #lose(reason: string): void {
    this.#leading = false;
    this.#logger.error(
      { lease: this.#lock.description, identity: this.identity, reason },
      "lost the lease",
    );
    this.#options.onLost?.(reason);
  }

  /** One try, abandoned after `timeoutMs`; true when this replica holds the Lease afterwards. */
  async #attempt(timeoutMs: number): Promise<boolean> {
    const controller = new AbortController();
    this.#inFlight = controller;
    let timer: Timer | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = this.#clock.setTimer(() => {
        controller.abort(new DOMException("lease request timed out", "TimeoutError"));
        resolve(false);
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.#tryAcquireOrRenew(controller.signal), timedOut]);
    } catch (error) {
      if (!this.#stopping)
        this.#logger.debug(
          { lease: this.#lock.description, err: error },
          "lease request failed; will retry",
        );
      return false;
    } finally {
      timer?.cancel();
      if (this.#inFlight === controller) this.#inFlight = undefined;
    }
  }

  #observe(record: LeaseRecord): void {
    const previous = this.#observed;
    if (!sameRecord(previous?.spec, record.spec)) this.#observedAt = this.#clock.now();
    this.#observed = record;
    const before = previous ? (previous.spec.holderIdentity ?? "") : undefined;
    const now = record.spec.holderIdentity ?? "";
    if (before !== now) {
      try {
        this.#options.onLeaderChange?.(now);
      } catch {
        // A hook must not break the election.
      }
    }
  }

  /** Whether the observed record still counts, on our own clock. */
  #observedValid(): boolean {
    const seconds = this.#observed?.spec.leaseDurationSeconds;
    const durationMs = seconds !== undefined ? seconds * 1000 : this.leaseDurationMs;
    return this.#observedAt + durationMs > this.#clock.now();
  }

  /** client-go's tryAcquireOrRenew. */
  async #tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const now = microTime(this.#wallClock());
    const desired: LeaseSpec = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      acquireTime: now,
      renewTime: now,
      leaseTransitions: 0,
    };

    // Fast path: the leader renews against the version it wrote last, without reading first.
    const observed = this.#observed;
    if (this.#leading && observed && this.#observedValid()) {
      try {
        this.#observe(
          await this.#lock.update(
            {
              ...observed.spec,
              ...desired,
              acquireTime: observed.spec.acquireTime ?? now,
              leaseTransitions: observed.spec.leaseTransitions ?? 0,
            },
            observed.resourceVersion,
            signal,
          ),
        );
        return true;
      } catch (error) {
        if (signal.aborted) throw error;
        this.#logger.debug(
          { lease: this.#lock.description, err: error },
          "could not renew from the last version; reading the lease",
        );
      }
    }

    const current = await this.#lock.get(signal);
    if (!current) {
      this.#observe(await this.#lock.create(desired, signal));
      return true;
    }
    this.#observe(current);
    const holder = current.spec.holderIdentity ?? "";
    if (holder !== "" && holder !== this.identity && this.#observedValid()) return false;
    const next: LeaseSpec = { ...current.spec, ...desired };
    if (holder === this.identity) {
      next.acquireTime = current.spec.acquireTime ?? now;
      next.leaseTransitions = current.spec.leaseTransitions ?? 0;
    } else {
      next.leaseTransitions = (current.spec.leaseTransitions ?? 0) + 1;
    }
    this.#observe(await this.#lock.update(next, current.resourceVersion, signal));
    return true;
  }

  /** Empties the Lease so the next candidate need not wait for it to expire. */
  async #release(): Promise<void> {
    const observed = this.#observed;
    if (!observed || observed.spec.holderIdentity !== this.identity) return;
    const now = microTime(this.#wallClock());
    const controller = new AbortController();
    const timer = this.#clock.setTimer(() => controller.abort(), this.renewDeadlineMs, true);
    try {
      this.#observe(
        await this.#lock.update(
          {
            ...observed.spec,
            holderIdentity: "",
            leaseDurationSeconds: 1,
            acquireTime: now,
            renewTime: now,
            leaseTransitions: observed.spec.leaseTransitions ?? 0,
          },
          observed.resourceVersion,
          controller.signal,
        ),
      );
      this.#logger.info({ lease: this.#lock.description }, "released the lease");
    } catch (error) {
      // Someone wrote it meanwhile (then it is not ours to release), or the server is away:
      // the Lease then expires after its duration.
      this.#logger.warn(
        { lease: this.#lock.description, err: error },
        "could not release the lease; it expires on its own",
      );
    } finally {
      timer.cancel();
    }
  }

  #sleep(ms: number): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = this.#clock.setTimer(done, ms, true);
      function done() {
        timer?.cancel();
        resolve();
      }
      this.#wake = () => {
        this.#wake = undefined;
        done();
      };
    });
  }
}
