/**
 * The manager's own runnables: an operator (its queue and workers, on the leader only) and an
 * HTTP server (metrics or probes, on every replica).
 *
 * @module
 */
import type { OperatorLogger } from "../operator/reconciler.ts";
import type { OperatorRuntime } from "../operator/runtime.ts";
import type { WorkMonitor } from "./health.ts";
import type { Runnable } from "./runnable.ts";
import {
  AddressInUseError,
  type ListenAddress,
  type RunningServer,
  type ServeOptions,
  serve,
} from "./servers.ts";

/**
 * An operator as a runnable: on the leader, its workers take keys; stopping drains running syncs
 * for the grace period, then aborts them and waits up to 2 s more, so that none still writes
 * once the Lease is released.
 */
export class OperatorRunnable implements Runnable {
  readonly name: string;
  readonly needLeaderElection = true;
  readonly runtime: OperatorRuntime;
  readonly #monitor: WorkMonitor;
  readonly #logger: OperatorLogger;

  constructor(runtime: OperatorRuntime, monitor: WorkMonitor, logger: OperatorLogger) {
    this.name = `operator ${runtime.operator.name}`;
    this.runtime = runtime;
    this.#monitor = monitor;
    this.#logger = logger;
  }

  async start(signal: AbortSignal): Promise<void> {
    this.#monitor.resume();
    await this.runtime.start(signal);
  }

  async stop(graceMs: number): Promise<void> {
    if (graceMs === 0) {
      // The leadership is gone: stop at once, whatever runs.
      this.#monitor.pause();
      await this.runtime.shutdown(0);
      return;
    }
    const drained = await this.runtime.shutdown(graceMs);
    if (!drained) {
      this.#logger.warn(
        { operator: this.runtime.operator.name, timeoutMs: graceMs },
        "some syncs did not finish before the shutdown timeout; aborted them",
      );
      // Aborted syncs end quickly once their requests fail; give them a moment.
      const until = performance.now() + 2_000;
      while (performance.now() < until && this.runtime.stats().running > 0) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    this.#monitor.pause();
  }
}

/** What an HTTP server runnable serves, worked out when it starts (certificates take time). */
export interface HttpServerPlan {
  routes: Parameters<typeof serve>[1];
  options?: ServeOptions;
  /** Called once the server listens, e.g. to start reloading its certificate. */
  listening?(server: RunningServer): void;
  /** Called when it stops. */
  closed?(): void;
}

/** What a server is for and which options set its address, for an address-in-use error. */
export interface ServerPurpose {
  /** e.g. `metrics`. */
  serving: string;
  /** The address as configured, e.g. `:8080`. */
  address: string;
  /** The manager options that set it, e.g. `["metricsBindAddress"]`. */
  options: readonly string[];
}

/** An HTTP server (metrics, probes) as a runnable, on every replica. */
export class HttpServerRunnable implements Runnable {
  readonly name: string;
  readonly needLeaderElection = false;
  readonly #address: ListenAddress;
  readonly #plan: () => Promise<HttpServerPlan> | HttpServerPlan;
  readonly #purpose: ServerPurpose;
  #server: RunningServer | undefined;
  #closed: (() => void) | undefined;

  constructor(
    name: string,
    address: ListenAddress,
    plan: () => Promise<HttpServerPlan> | HttpServerPlan,
    purpose: ServerPurpose,
  ) {
    this.name = name;
    this.#address = address;
    this.#plan = plan;
    this.#purpose = purpose;
  }

  /** `http(s)://host:port` once listening. */
  get url(): string | undefined {
    return this.#server?.url;
  }

  async start(): Promise<void> {
    const plan = await this.#plan();
    try {
      this.#server = await serve(this.#address, plan.routes, plan.options);
    } catch (error) {
      plan.closed?.();
      if ((error as { code?: unknown }).code === "EADDRINUSE") {
        const { serving, address, options } = this.#purpose;
        throw new AddressInUseError(serving, address.trim(), options);
      }
      throw error;
    }
    this.#closed = plan.closed;
    plan.listening?.(this.#server);
  }

  async stop(): Promise<void> {
    this.#closed?.();
    await this.#server?.close();
  }
}
