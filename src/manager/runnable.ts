/**
 * The one seam through which the manager runs everything, as controller-runtime's `Runnable`:
 * operators, the metrics and probe servers, the webhook server, the certificate rotator and your
 * own background work are each a `Runnable` that starts with a signal and says whether it needs
 * the leadership.
 *
 * The manager starts them in groups and stops them in the reverse order:
 * 1. servers (metrics, probes), so a starting pod can be probed;
 * 2. the webhook server, before the caches: listing a multi-version kind may already need its
 *    conversion webhook;
 * 3. (the caches sync)
 * 4. runnables that do not need the leadership, on every replica;
 * 5. runnables that need it (operators), once elected, or at once without leader election.
 *
 * @module
 */
import type { InformerFactory } from "../cache/shared-informers.ts";
import type { KubeClient } from "../client/client.ts";
import type { Reconcile } from "../controller/controller.ts";
import type { EventRecorderOptions } from "../operator/events.ts";
import type { OperatorLogger } from "../operator/reconciler.ts";
import type { WorkQueueMetrics } from "../queue/index.ts";

/**
 * What the manager lends a runnable's `setup`: its client and shared informers, and for each
 * controller the runnable runs, the queue metrics, reconcile measurement and liveness monitoring
 * an operator gets.
 */
export interface RunnableContext {
  client: KubeClient;
  /** @internal The shared informer factory: informers created in `setup` are synced before `start`. */
  informers: InformerFactory;
  logger: OperatorLogger;
  events?: Pick<EventRecorderOptions, "burst" | "refillMs" | "seriesIntervalMs">;
  /**
   * @internal Metrics and monitoring for one controller named `name` (the `controller` and
   * `name` labels), at any time; `release` drops its health monitor when the controller goes.
   */
  instrumentation(
    name: string,
    concurrency: number,
  ): {
    queueMetrics: WorkQueueMetrics;
    instrument: (reconcile: Reconcile) => Reconcile;
    release(): void;
  };
}

/**
 * Something the manager runs.
 *
 * @example
 * const heartbeat: Runnable = {
 *   name: "heartbeat",
 *   needLeaderElection: false, // on every replica
 *   start(signal) {
 *     const timer = setInterval(() => console.log("alive"), 10_000);
 *     signal.addEventListener("abort", () => clearInterval(timer));
 *   },
 * };
 * manager.add(heartbeat);
 */
export interface Runnable {
  /** Names it in logs and errors. */
  readonly name: string;
  /**
   * Whether it runs only on the elected leader (operators, anything that writes) or on every
   * replica from the start (servers, webhooks, caches of your own). Default true, as in
   * controller-runtime: two replicas writing at once is the worse mistake.
   */
  readonly needLeaderElection?: boolean;
  /**
   * Starts and resolves once running (a server listens); a rejection fails the manager's start.
   * `signal` aborts when it must stop at once: after `stop`, when the manager fails to
   * start, or when the leadership is lost (another replica may be writing already).
   */
  start(signal: AbortSignal): Promise<void> | void;
  /**
   * Called once before the caches start, with the manager's client and informers: create the
   * informers needed from the start here (Metacontroller mode sets itself up this way).
   * Optional.
   */
  setup?(context: RunnableContext): Promise<void> | void;
  /**
   * Stops gracefully: work in flight gets up to `graceMs` to finish, then is cut. Resolves once
   * stopped. Called with 0 when the leadership is lost. Optional: without it, aborting the start
   * signal is the only stop.
   */
  stop?(graceMs: number): Promise<void> | void;
}

/** True for an object with a runnable's shape. */
export function isRunnable(value: unknown): value is Runnable {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Runnable).name === "string" &&
    typeof (value as Runnable).start === "function" &&
    (value as { kind?: unknown }).kind !== "Operator"
  );
}

interface Entry {
  readonly runnable: Runnable;
  abort: AbortController | undefined;
}

/**
 * Runnables started and stopped together. Starting runs them concurrently and fails with the
 * first error (the others started stay started, for the caller to stop); stopping stops the
 * started ones concurrently, then aborts their signals.
 */
export class RunnableGroup {
  readonly name: string;
  readonly #entries: Entry[] = [];
  readonly #logger: OperatorLogger;

  constructor(name: string, logger: OperatorLogger) {
    this.name = name;
    this.#logger = logger;
  }

  add(runnable: Runnable): void {
    this.#entries.push({ runnable, abort: undefined });
  }

  get size(): number {
    return this.#entries.length;
  }

  get runnables(): Runnable[] {
    return this.#entries.map((entry) => entry.runnable);
  }

  /** True while some runnable of the group is started. */
  get running(): boolean {
    return this.#entries.some((entry) => entry.abort !== undefined);
  }

  /**
   * Starts every runnable not started yet; `signal` aborts them all (the manager's own). A
   * runnable that fails to start is logged and its error rethrown.
   */
  async start(signal: AbortSignal): Promise<void> {
    await Promise.all(
      this.#entries.map(async (entry) => {
        if (entry.abort) return;
        if (signal.aborted) throw new Error("the manager was stopped");
        const abort = new AbortController();
        const stopWithManager = () => abort.abort(signal.reason);
        signal.addEventListener("abort", stopWithManager, { once: true });
        abort.signal.addEventListener(
          "abort",
          () => signal.removeEventListener("abort", stopWithManager),
          { once: true },
        );
        entry.abort = abort;
        try {
          await entry.runnable.start(abort.signal);
        } catch (error) {
          abort.abort(error);
          entry.abort = undefined;
          // Rethrown as is: the runnable's own error says what to do (an address in use names
          // its option), and callers may tell errors apart by class.
          this.#logger.error(
            { runnable: entry.runnable.name, err: error },
            `${entry.runnable.name} could not start`,
          );
          throw error;
        }
      }),
    );
  }

  /** Stops the started runnables gracefully, `graceMs` each, then aborts their signals. */
  async stop(graceMs: number): Promise<void> {
    await Promise.all(
      this.#entries.map(async (entry) => {
        const abort = entry.abort;
        if (!abort) return;
        entry.abort = undefined;
        try {
          await entry.runnable.stop?.(graceMs);
        } catch (error) {
          this.#logger.warn(
            { runnable: entry.runnable.name, err: error },
            `${entry.runnable.name} did not stop cleanly`,
          );
        } finally {
          abort.abort(new Error(`${entry.runnable.name} stopped`));
        }
      }),
    );
  }

  /** Stops everything at once, without waiting: the leadership is gone. */
  abort(reason: string): void {
    for (const entry of this.#entries) {
      const abort = entry.abort;
      if (!abort) continue;
      entry.abort = undefined;
      abort.abort(new Error(reason));
      Promise.resolve()
        .then(() => entry.runnable.stop?.(0))
        .catch(() => {});
    }
  }
}
