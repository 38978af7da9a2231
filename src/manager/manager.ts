/**
 * The manager runs operators together in one process: one client and one set of shared informers
 * for all of them, intake only after the caches are synced, and a graceful shutdown that lets
 * running syncs finish.
 */

import { clientListWatch } from "../cache/client-source.ts";
import { InformerFactory } from "../cache/shared-informers.ts";
import { KubeClient } from "../client/client.ts";
import type { Operator } from "../operator/declaration.ts";
import type { OperatorLogger, SyncOutcome } from "../operator/reconciler.ts";
import { OperatorRuntime } from "../operator/runtime.ts";
import type { WorkQueueMetrics } from "../queue/index.ts";
import { createLogger } from "./logging.ts";

/** Options of {@link Manager}. */
export interface ManagerOptions {
  /** Path of a kubeconfig file. Default: `KUBECONFIG`, `~/.kube/config`, or in-cluster config. */
  kubeconfig?: string;
  /** Context in the kubeconfig. Default: its current context. */
  context?: string;
  /** A ready client instead of `kubeconfig`/`context` (the manager does not close it). */
  client?: KubeClient;
  /** Structured logger (pino-compatible). Default: pino, human-readable on a terminal. */
  logger?: OperatorLogger;
  /** How long shutdown waits for running syncs. Default 30 s (controller-runtime's). */
  gracefulShutdownMs?: number;
  /** Work-queue metrics hooks (the metrics server wires these). */
  queueMetrics?: (operator: string) => WorkQueueMetrics | undefined;
  /** Called after every sync of every operator. */
  onOutcome?: (operator: string, key: string, outcome: SyncOutcome) => void;
}

/**
 * Runs operators.
 *
 * @example
 * import { Manager } from "operon";
 * import greeter from "./greeter.ts";
 *
 * const manager = new Manager();
 * manager.add(greeter);
 * await manager.run(); // until SIGINT or SIGTERM
 */
export class Manager {
  readonly #options: ManagerOptions;
  readonly #operators: Operator[] = [];
  readonly #runtimes: OperatorRuntime[] = [];
  readonly logger: OperatorLogger;
  #client: KubeClient | undefined;
  #informers: InformerFactory | undefined;
  #abort = new AbortController();
  #state: "new" | "starting" | "running" | "stopping" | "stopped" = "new";

  constructor(options: ManagerOptions = {}) {
    this.#options = options;
    this.logger = options.logger ?? createLogger();
  }

  /** Adds operators; all must be added before `start`. */
  add(...operators: Operator[]): this {
    if (this.#state !== "new") throw new Error("add operators before starting the manager");
    for (const operator of operators) {
      if (this.#operators.some((existing) => existing.name === operator.name)) {
        throw new Error(`two operators are named "${operator.name}"; names must be unique`);
      }
      this.#operators.push(operator);
    }
    return this;
  }

  /** The client the manager uses (after `start`). */
  get client(): KubeClient {
    if (!this.#client) throw new Error("the manager has not started");
    return this.#client;
  }

  /** The runtime of each operator, by name (after `start`). */
  runtime(name: string): OperatorRuntime | undefined {
    return this.#runtimes.find((runtime) => runtime.operator.name === name);
  }

  /** True once every operator's caches have synced and its workers run. */
  get ready(): boolean {
    return this.#state === "running";
  }

  /** Connects, fills the caches, and starts every operator. Resolves once they run. */
  async start(): Promise<void> {
    if (this.#state !== "new") throw new Error(`the manager cannot start: it is ${this.#state}`);
    if (this.#operators.length === 0)
      throw new Error("no operators to run: add one with manager.add(operator)");
    this.#state = "starting";
    const { logger } = this;
    this.#client =
      this.#options.client ??
      (await KubeClient.fromKubeConfig({
        ...(this.#options.kubeconfig ? { kubeconfig: this.#options.kubeconfig } : {}),
        ...(this.#options.context ? { context: this.#options.context } : {}),
      }));
    this.#informers = new InformerFactory({ client: clientListWatch(this.#client), logger });
    for (const operator of this.#operators) {
      const runtime = new OperatorRuntime(operator, {
        client: this.#client,
        informers: this.#informers,
        logger: logger.child?.({ operator: operator.name }) ?? logger,
        ...(this.#options.queueMetrics?.(operator.name)
          ? { queueMetrics: this.#options.queueMetrics(operator.name)! }
          : {}),
        ...(this.#options.onOutcome
          ? {
              onOutcome: (key: string, outcome: SyncOutcome) =>
                this.#options.onOutcome!(operator.name, key, outcome),
            }
          : {}),
      });
      await runtime.setup();
      this.#runtimes.push(runtime);
    }
    this.#informers.start(this.#abort.signal);
    const started = performance.now();
    await Promise.all(this.#runtimes.map((runtime) => runtime.start(this.#abort.signal)));
    this.#state = "running";
    logger.info(
      {
        operators: this.#operators.map((o) => o.name),
        cacheSyncMs: Math.round(performance.now() - started),
      },
      "caches synced; operators running",
    );
  }

  /** Stops taking work, lets running syncs finish (up to the graceful timeout), and disconnects. */
  async stop(): Promise<void> {
    if (this.#state === "stopped" || this.#state === "stopping") return;
    this.#state = "stopping";
    const timeout = this.#options.gracefulShutdownMs ?? 30_000;
    const drained = await Promise.all(this.#runtimes.map((runtime) => runtime.shutdown(timeout)));
    if (drained.some((done) => !done))
      this.logger.warn(
        { timeoutMs: timeout },
        "some syncs did not finish before the shutdown timeout",
      );
    this.#abort.abort();
    await this.#informers?.stop();
    if (!this.#options.client) await this.#client?.close();
    this.#state = "stopped";
    this.logger.info({}, "stopped");
  }

  /** Starts, runs until SIGINT or SIGTERM, then stops gracefully. */
  async run(): Promise<void> {
    const stopped = new Promise<NodeJS.Signals>((resolve) => {
      process.once("SIGINT", () => resolve("SIGINT"));
      process.once("SIGTERM", () => resolve("SIGTERM"));
    });
    await this.start();
    // Signal listeners alone do not keep Node's event loop alive.
    const keepAlive = setInterval(() => {}, 60_000);
    const signal = await stopped;
    clearInterval(keepAlive);
    this.logger.info({ signal }, "shutting down");
    await this.stop();
  }
}
