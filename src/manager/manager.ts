/**
 * The manager runs operators together in one process: one client and one set of shared informers
 * for all of them, intake only after the caches are synced, optional leader election, Prometheus
 * metrics, health and readiness probes, and a graceful shutdown that lets running syncs finish.
 */

import { readFileSync } from "node:fs";
import { clientListWatch } from "../cache/client-source.ts";
import { InformerFactory } from "../cache/shared-informers.ts";
import { KubeClient } from "../client/client.ts";
import type { ClientMetrics } from "../client/request.ts";
import type { Reconcile } from "../controller/controller.ts";
import type { Operator } from "../operator/declaration.ts";
import type { EventRecorderOptions } from "../operator/events.ts";
import type { OperatorLogger, SyncOutcome } from "../operator/reconciler.ts";
import { OperatorRuntime } from "../operator/runtime.ts";
import type { WorkQueueMetrics } from "../queue/index.ts";
import { type HealthCheck, HealthChecks, WorkMonitor } from "./health.ts";
import {
  DEFAULT_LEASE_DURATION_MS,
  DEFAULT_RENEW_DEADLINE_MS,
  DEFAULT_RETRY_PERIOD_MS,
  KubeLeaseLock,
  LeaderElector,
  validateElectionTimings,
} from "./leader-election.ts";
import { createLogger } from "./logging.ts";
import { ManagerMetrics, type ReconcileResultLabel } from "./metrics.ts";
import {
  AddressInUseError,
  type ListenAddress,
  metricsHandler,
  parseBindAddress,
  probeHandler,
  type RunningServer,
  serve,
} from "./servers.ts";

/** Where a pod finds its own namespace. */
const serviceAccountNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/** Leader election settings; see {@link ManagerOptions.leaderElection}. */
export interface LeaderElectionOptions {
  /** Name of the Lease. Default `<first operator's name>-leader`. */
  id?: string;
  /** Namespace of the Lease. Default: the pod's namespace in a cluster, else `default`. */
  namespace?: string;
  /** This replica's holder identity. Default `<hostname>_<uuid>`. */
  identity?: string;
  /** How long a Lease counts after its last renewal. Default 15 s. */
  leaseDurationMs?: number;
  /** How long the leader retries a failing renewal before it stops. Default 10 s. */
  renewDeadlineMs?: number;
  /** How often standbys try to acquire and the leader renews. Default 2 s. */
  retryPeriodMs?: number;
  /** Clear the Lease on a graceful shutdown so a standby takes over at once. Default true. */
  releaseOnCancel?: boolean;
}

/**
 * Makes the manager's client, given the hooks that feed its request metrics.
 *
 * @example
 * new Manager({ client: (hooks) => KubeClient.fromKubeConfig({ context: "prod", qps: 50, ...hooks }) });
 */
export type ClientFactory = (hooks: { metrics: ClientMetrics }) => KubeClient | Promise<KubeClient>;

/** Options of {@link Manager}. */
export interface ManagerOptions {
  /** Path of a kubeconfig file. Default: `KUBECONFIG`, `~/.kube/config`, or in-cluster config. */
  kubeconfig?: string;
  /** Context in the kubeconfig. Default: its current context. */
  context?: string;
  /**
   * A ready client instead of `kubeconfig`/`context` (the manager does not close it), or a
   * function that makes one (the manager closes it). Only a client built with the manager's
   * hooks reports `rest_client_*` metrics: pass a factory, or build the client with
   * `metrics: manager.clientMetrics`.
   */
  client?: KubeClient | ClientFactory;
  /** Structured logger (pino-compatible). Default: pino, human-readable on a terminal. */
  logger?: OperatorLogger;
  /** How long shutdown waits for running syncs. Default 30 s (controller-runtime's). */
  gracefulShutdownMs?: number;
  /** Extra work-queue metrics hooks, next to the manager's own. */
  queueMetrics?: (operator: string) => WorkQueueMetrics | undefined;
  /** Called after every sync of every operator. */
  onOutcome?: (operator: string, key: string, outcome: SyncOutcome) => void;
  /**
   * Where `/metrics` is served: `:8080` (every interface), `127.0.0.1:8080`, `:0` (a free port),
   * or `0` (off). Default `0` here, so a library opens no port uninvited; `operon run` defaults
   * to `:8080` as Kubebuilder projects do.
   */
  metricsBindAddress?: string;
  /**
   * Where `/healthz` and `/readyz` are served, same syntax. Default `0` here; `operon run`
   * defaults to `:8081`. The same address as the metrics serves all three on one port.
   */
  healthProbeBindAddress?: string;
  /** Run only while holding a Lease: `true` for the defaults, or settings. Default off. */
  leaderElection?: boolean | LeaderElectionOptions;
  /** Add Node's process metrics to the registry. Default: when metrics are served. */
  processMetrics?: boolean;
  /**
   * Liveness fails when a sync runs longer than this, or keys wait this long with no sync
   * starting or finishing. Default 10 minutes.
   */
  stuckSyncMs?: number;
  /** Aggregation and rate limits of Kubernetes Events (see `EventRecorder`). */
  events?: Pick<EventRecorderOptions, "burst" | "refillMs" | "seriesIntervalMs">;
  /**
   * The time every `sync` sees as `request.now` (and the time of Operon's condition
   * transitions). Default: the system clock. Tests set it to try schedule logic at any time.
   */
  clock?: () => Date;
}

/**
 * The manager stopped reconciling because another replica may now be the leader. The process
 * should exit non-zero; its pod then restarts and joins as a standby.
 *
 * @example
 * await manager.run().catch((error) => {
 *   if (error instanceof LeaderElectionLostError) process.exit(1);
 *   throw error;
 * });
 */
export class LeaderElectionLostError extends Error {
  override readonly name = "LeaderElectionLostError";
}

const defaultStuckSyncMs = 10 * 60_000;

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Nobody may be waiting; the rejection is still delivered to those who are.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

function inClusterNamespace(): string | undefined {
  try {
    return readFileSync(serviceAccountNamespaceFile, "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs operators.
 *
 * @example
 * import { Manager } from "kube-operon";
 * import greeter from "./greeter.ts";
 *
 * const manager = new Manager({
 *   metricsBindAddress: ":8080",
 *   healthProbeBindAddress: ":8081",
 *   leaderElection: { namespace: "greeter-system" },
 * });
 * manager.add(greeter);
 * await manager.run(); // until SIGINT or SIGTERM; rejects if leadership is lost
 */
export class Manager {
  readonly #options: ManagerOptions;
  readonly #operators: Operator[] = [];
  readonly #runtimes: OperatorRuntime[] = [];
  readonly #monitors = new Map<string, WorkMonitor>();
  readonly #liveness = new HealthChecks();
  readonly #readiness = new HealthChecks();
  readonly #servers: RunningServer[] = [];
  readonly #metrics = new ManagerMetrics();
  readonly #done = deferred();
  readonly #elected = deferred();
  readonly logger: OperatorLogger;
  #client: KubeClient | undefined;
  #ownedClients: KubeClient[] = [];
  #informers: InformerFactory | undefined;
  #elector: LeaderElector | undefined;
  #lease: { namespace: string; name: string } | undefined;
  #abort = new AbortController();
  #state: "new" | "starting" | "running" | "stopping" | "stopped" = "new";
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  /** Whether the controllers run (always once started without election; while leader with). */
  #leading = false;
  #lost: string | undefined;
  #metricsUrl: string | undefined;
  #healthUrl: string | undefined;

  constructor(options: ManagerOptions = {}) {
    this.#options = options;
    this.logger = options.logger ?? createLogger();
    // Fail on bad settings here, not minutes later in a pod.
    parseBindAddress(options.metricsBindAddress ?? "0");
    parseBindAddress(options.healthProbeBindAddress ?? "0");
    const election = this.#electionOptions();
    if (election) {
      validateElectionTimings({
        leaseDurationMs: election.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS,
        renewDeadlineMs: election.renewDeadlineMs ?? DEFAULT_RENEW_DEADLINE_MS,
        retryPeriodMs: election.retryPeriodMs ?? DEFAULT_RETRY_PERIOD_MS,
      });
    }
  }

  #electionOptions(): LeaderElectionOptions | undefined {
    const { leaderElection } = this.#options;
    if (!leaderElection) return undefined;
    return leaderElection === true ? {} : leaderElection;
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

  /**
   * Adds a liveness check, served at `/healthz` and `/healthz/<name>`. It passes when it returns
   * and fails when it throws (or its promise rejects).
   *
   * @example
   * manager.addHealthzCheck("database", async () => { await pool.query("select 1"); });
   */
  addHealthzCheck(name: string, check: HealthCheck): this {
    this.#liveness.add(name, check);
    return this;
  }

  /**
   * Adds a readiness check, served at `/readyz` and `/readyz/<name>`.
   *
   * @example
   * manager.addReadyzCheck("webhook-certs", () => { if (!certsLoaded) throw new Error("no certificates yet"); });
   */
  addReadyzCheck(name: string, check: HealthCheck): this {
    this.#readiness.add(name, check);
    return this;
  }

  /** The manager's metrics; `metrics.registry` is what `/metrics` serves. */
  get metrics(): ManagerMetrics {
    return this.#metrics;
  }

  /**
   * Request hooks feeding this manager's `rest_client_*` metrics, for clients made outside it.
   *
   * @example
   * const client = await KubeClient.fromKubeConfig({ metrics: manager.clientMetrics });
   */
  get clientMetrics(): ClientMetrics {
    return this.#metrics.client;
  }

  /** The client the manager uses (after `start`). */
  get client(): KubeClient {
    if (!this.#client) throw new Error("the manager has not started");
    return this.#client;
  }

  /** True once the caches have synced (leader or standby), until shutdown. */
  /** @internal The runtime of an operator, by name (after `start`); tests read its internals. */
  runtime(name: string): OperatorRuntime | undefined {
    return this.#runtimes.find((runtime) => runtime.operator.name === name);
  }

  get ready(): boolean {
    return this.#state === "running" && this.#lost === undefined;
  }

  /** Whether the operators reconcile now: always once started without election, while leader with. */
  get isLeader(): boolean {
    return this.#leading;
  }

  /** Resolves when the operators start reconciling (at once without leader election). */
  get elected(): Promise<void> {
    return this.#elected.promise;
  }

  /** The holder identity in the Lease (with leader election). */
  get identity(): string | undefined {
    return this.#elector?.identity;
  }

  /** `http://host:port` of the metrics server, once started (undefined when off). */
  get metricsUrl(): string | undefined {
    return this.#metricsUrl;
  }

  /** `http://host:port` of the probe server, once started (undefined when off). */
  get healthProbeUrl(): string | undefined {
    return this.#healthUrl;
  }

  /** Resolves once the manager has stopped; rejects with {@link LeaderElectionLostError}. */
  wait(): Promise<void> {
    return this.#done.promise;
  }

  /**
   * Connects, fills the caches, serves metrics and probes, and starts the operators. Resolves
   * once they run; with leader election, once the caches are synced (the operators start when
   * this replica is elected: see `elected`).
   */
  start(): Promise<void> {
    if (this.#state !== "new") throw new Error(`the manager cannot start: it is ${this.#state}`);
    if (this.#operators.length === 0)
      throw new Error("no operators to run: add one with manager.add(operator)");
    this.#state = "starting";
    this.#starting = this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    const { logger } = this;
    const started = performance.now();
    try {
      this.#client = await this.#connect();
      const election = this.#electionOptions();
      const leaseClient = election ? await this.#leaseClient() : undefined;
      this.#informers = new InformerFactory({
        client: clientListWatch(this.#client),
        logger,
        observer: this.#metrics.informers,
      });
      const informers = this.#informers;
      this.#metrics.observeInformers(() => informers.stats());
      for (const operator of this.#operators) {
        const runtime = this.#runtimeFor(operator);
        await runtime.setup();
        this.#runtimes.push(runtime);
      }
      this.#addBuiltinChecks();
      await this.#startServers();
      this.#informers.start(this.#abort.signal);
      await this.#informers.waitForSync(this.#abort.signal);
      if ((this.#state as string) !== "starting") throw new Error("the manager was stopped");
      this.#state = "running";
      const fields = {
        operators: this.#operators.map((o) => o.name),
        cacheSyncMs: Math.round(performance.now() - started),
      };
      if (election && leaseClient) {
        this.#startElection(election, leaseClient);
        logger.info(
          {
            ...fields,
            lease: `${this.#lease?.namespace}/${this.#lease?.name}`,
            identity: this.#elector?.identity,
          },
          "caches synced; waiting to be elected leader",
        );
      } else {
        await this.#startControllers();
        logger.info(fields, "caches synced; operators running");
      }
    } catch (error) {
      await this.#teardown();
      this.#state = "stopped";
      this.#done.resolve();
      throw error;
    }
  }

  async #connect(): Promise<KubeClient> {
    const { client, kubeconfig, context } = this.#options;
    if (client instanceof KubeClient) return client;
    if (client) {
      const made = await client({ metrics: this.#metrics.client });
      this.#ownedClients.push(made);
      return made;
    }
    const config = {
      ...(kubeconfig ? { kubeconfig } : {}),
      ...(context ? { context } : {}),
      metrics: this.#metrics.client,
    };
    const made = await KubeClient.fromKubeConfig(config);
    this.#ownedClients.push(made);
    return made;
  }

  /** Lease requests get their own connections, so a busy operator cannot delay a renewal. */
  async #leaseClient(): Promise<KubeClient> {
    if (this.#options.client) return this.client;
    const { kubeconfig, context } = this.#options;
    const made = await KubeClient.fromKubeConfig({
      ...(kubeconfig ? { kubeconfig } : {}),
      ...(context ? { context } : {}),
      metrics: this.#metrics.client,
    });
    this.#ownedClients.push(made);
    return made;
  }

  #runtimeFor(operator: Operator): OperatorRuntime {
    const name = operator.name;
    const logger = this.logger.child?.({ operator: name }) ?? this.logger;
    const monitor = new WorkMonitor();
    this.#monitors.set(name, monitor);
    const own = this.#metrics.queue;
    const extra = this.#options.queueMetrics?.(name);
    const queueMetrics: WorkQueueMetrics = {
      depth: (queue, depth) => {
        own.depth(queue, depth);
        monitor.depth(depth);
        extra?.depth(queue, depth);
      },
      add: (queue) => {
        own.add(queue);
        extra?.add(queue);
      },
      queueDuration: (queue, seconds) => {
        own.queueDuration(queue, seconds);
        extra?.queueDuration(queue, seconds);
      },
      workDuration: (queue, seconds) => {
        own.workDuration(queue, seconds);
        extra?.workDuration(queue, seconds);
      },
      retry: (queue) => {
        own.retry(queue);
        extra?.retry(queue);
      },
      unfinishedWork: (queue, total, longest) => {
        own.unfinishedWork(queue, total, longest);
        extra?.unfinishedWork(queue, total, longest);
      },
    };
    const runtime = new OperatorRuntime(operator, {
      client: this.#client!,
      informers: this.#informers!,
      logger,
      queueMetrics,
      ...(this.#options.events ? { events: this.#options.events } : {}),
      ...(this.#options.clock ? { clock: this.#options.clock } : {}),
      instrument: (reconcile) => this.#instrument(name, monitor, reconcile),
      onOutcome: (key, outcome) => {
        logChanges(logger, key, outcome);
        this.#options.onOutcome?.(name, key, outcome);
      },
    });
    const metrics = this.#metrics;
    metrics.maxConcurrentReconciles.set({ controller: name }, runtime.concurrency);
    metrics.activeWorkers.set({ controller: name }, 0);
    metrics.reconcileErrors.inc({ controller: name }, 0);
    for (const result of ["success", "error", "requeue", "requeue_after"] as const)
      metrics.reconcileTotal.inc({ controller: name, result }, 0);
    return runtime;
  }

  /** Measures every reconcile, and refuses to run one when this replica may not write. */
  #instrument(controller: string, monitor: WorkMonitor, reconcile: Reconcile): Reconcile {
    const metrics = this.#metrics;
    return async (key, context) => {
      if (this.#lost !== undefined) throw new LeaderElectionLostError(this.#lost);
      const started = performance.now();
      monitor.started(key);
      metrics.activeWorkers.inc({ controller });
      let result: ReconcileResultLabel = "error";
      try {
        const value = await reconcile(key, context);
        const after = value?.requeueAfterMs;
        result = after === undefined ? "success" : after > 0 ? "requeue_after" : "requeue";
        return value;
      } finally {
        monitor.finished(key);
        metrics.activeWorkers.dec({ controller });
        metrics.reconciled(controller, result, (performance.now() - started) / 1000);
      }
    };
  }

  #addBuiltinChecks(): void {
    const stuckMs = this.#options.stuckSyncMs ?? defaultStuckSyncMs;
    this.#readiness.add("informers", () => {
      if (this.#state === "starting") throw new Error("the caches are not synced yet");
      if (this.#state !== "running") throw new Error(`the manager is ${this.#state}`);
    });
    this.#liveness.add("workers", () => {
      const problems: string[] = [];
      for (const [operator, monitor] of this.#monitors) {
        const problem = monitor.problem(stuckMs);
        if (problem) problems.push(`${operator}: ${problem}`);
      }
      if (problems.length > 0) throw new Error(problems.join("; "));
    });
    if (this.#electionOptions()) {
      const check = () => {
        if (this.#lost !== undefined) throw new Error(`leader election lost: ${this.#lost}`);
      };
      this.#readiness.add("leader-election", check);
      this.#liveness.add("leader-election", check);
    }
  }

  async #startServers(): Promise<void> {
    const metricsAddress = this.#options.metricsBindAddress ?? "0";
    const healthAddress = this.#options.healthProbeBindAddress ?? "0";
    const metricsAt = parseBindAddress(metricsAddress);
    const healthAt = parseBindAddress(healthAddress);
    const metricsRoute = { "/metrics": metricsHandler(this.#metrics.registry) };
    const probeRoutes = {
      "/healthz": probeHandler("healthz", this.#liveness),
      "/readyz": probeHandler("readyz", this.#readiness),
    };
    if (this.#options.processMetrics ?? metricsAt !== undefined)
      this.#metrics.collectProcessMetrics();
    // One address for both serves both from one port (port 0 asks for a free port each).
    if (
      metricsAt &&
      healthAt &&
      metricsAt.port !== 0 &&
      metricsAddress.trim() === healthAddress.trim()
    ) {
      const server = await listen(
        metricsAt,
        { ...metricsRoute, ...probeRoutes },
        "metrics and health probes",
        metricsAddress,
        ["metricsBindAddress", "healthProbeBindAddress"],
      );
      this.#servers.push(server);
      this.#metricsUrl = server.url;
      this.#healthUrl = server.url;
    } else {
      if (metricsAt) {
        const server = await listen(metricsAt, metricsRoute, "metrics", metricsAddress, [
          "metricsBindAddress",
        ]);
        this.#servers.push(server);
        this.#metricsUrl = server.url;
      }
      if (healthAt) {
        const server = await listen(healthAt, probeRoutes, "health probes", healthAddress, [
          "healthProbeBindAddress",
        ]);
        this.#servers.push(server);
        this.#healthUrl = server.url;
      }
    }
    if (this.#metricsUrl)
      this.logger.info({ url: `${this.#metricsUrl}/metrics` }, "serving metrics");
    if (this.#healthUrl)
      this.logger.info(
        { healthz: `${this.#healthUrl}/healthz`, readyz: `${this.#healthUrl}/readyz` },
        "serving health probes",
      );
  }

  #startElection(election: LeaderElectionOptions, client: KubeClient): void {
    const namespace = election.namespace ?? inClusterNamespace() ?? "default";
    const name = election.id ?? `${this.#operators[0]!.name}-leader`;
    this.#lease = { namespace, name };
    const gauge = this.#metrics.leaderStatus;
    gauge.set({ name }, 0);
    this.#elector = new LeaderElector({
      lock: new KubeLeaseLock(client, namespace, name),
      ...(election.identity ? { identity: election.identity } : {}),
      ...(election.leaseDurationMs ? { leaseDurationMs: election.leaseDurationMs } : {}),
      ...(election.renewDeadlineMs ? { renewDeadlineMs: election.renewDeadlineMs } : {}),
      ...(election.retryPeriodMs ? { retryPeriodMs: election.retryPeriodMs } : {}),
      releaseOnStop: election.releaseOnCancel ?? true,
      logger: this.logger,
      onElected: () => {
        gauge.set({ name }, 1);
        this.#startControllers().then(
          () => {
            if (this.#leading)
              this.logger.info(
                { operators: this.#operators.map((o) => o.name) },
                "elected leader; operators running",
              );
          },
          (error: unknown) => this.#lose(`the operators could not start: ${String(error)}`),
        );
      },
      onLost: (reason) => {
        gauge.set({ name }, 0);
        this.#lose(reason);
      },
      onLeaderChange: (holder) =>
        this.logger.info(
          { lease: `${namespace}/${name}`, holder: holder || undefined },
          holder ? `the leader is ${holder}` : "the lease is free",
        ),
    });
    this.#elector.start();
  }

  async #startControllers(): Promise<void> {
    if (this.#state !== "running" || this.#leading || this.#lost !== undefined) return;
    this.#leading = true;
    for (const monitor of this.#monitors.values()) monitor.resume();
    await Promise.all(this.#runtimes.map((runtime) => runtime.start(this.#abort.signal)));
    this.#elected.resolve();
  }

  /**
   * Leadership is gone: another replica may be writing already. Stop at once, without waiting
   * for anything: the queues stop, running syncs see their signal aborted (their requests fail),
   * and `run()` rejects so the process can exit.
   */
  #lose(reason: string): void {
    if (this.#lost !== undefined) return;
    this.#lost = reason;
    this.#leading = false;
    for (const monitor of this.#monitors.values()) monitor.pause();
    for (const runtime of this.#runtimes) void runtime.shutdown(0);
    this.logger.error({ reason }, "leader election lost; stopped writing");
    this.#done.reject(new LeaderElectionLostError(`leader election lost: ${reason}`));
  }

  /**
   * Stops gracefully: not ready from now on, no new syncs, running syncs get up to
   * `gracefulShutdownMs` to finish (then their signal is aborted), the Lease is released, and
   * everything is disconnected.
   */
  stop(): Promise<void> {
    if (this.#state === "new") {
      this.#state = "stopped";
      this.#done.resolve();
      return Promise.resolve();
    }
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    if (this.#state === "stopped") return;
    const wasStarting = this.#state === "starting";
    this.#state = "stopping";
    if (wasStarting) {
      this.#abort.abort(new Error("the manager was stopped while starting"));
      await this.#starting?.catch(() => {});
      return;
    }
    // A standby stops competing first, so it cannot become leader while it shuts down; a
    // leader keeps renewing while its syncs drain, and releases the Lease after.
    if (this.#elector && !this.#leading) await this.#elector.stop();
    const timeout = this.#options.gracefulShutdownMs ?? 30_000;
    const drained = await Promise.all(this.#runtimes.map((runtime) => runtime.shutdown(timeout)));
    if (drained.some((done) => !done)) {
      this.logger.warn(
        { timeoutMs: timeout },
        "some syncs did not finish before the shutdown timeout; aborted them",
      );
      // Aborted syncs end quickly once their requests fail; give them a moment, so that none
      // still writes after the Lease is released.
      const until = performance.now() + 2_000;
      while (
        performance.now() < until &&
        this.#runtimes.some((runtime) => runtime.stats().running > 0)
      )
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
    for (const monitor of this.#monitors.values()) monitor.pause();
    this.#leading = false;
    await this.#elector?.stop();
    await this.#teardown();
    this.#state = "stopped";
    this.logger.info({}, "stopped");
    this.#done.resolve();
  }

  async #teardown(): Promise<void> {
    this.#abort.abort();
    if (this.#lease) this.#metrics.leaderStatus.set({ name: this.#lease.name }, 0);
    await this.#elector?.stop().catch(() => {});
    await this.#informers?.stop().catch(() => {});
    await Promise.all(this.#servers.map((server) => server.close()));
    this.#servers.length = 0;
    await Promise.all(this.#ownedClients.map((client) => client.close().catch(() => {})));
    this.#ownedClients = [];
  }

  /**
   * Starts, runs until SIGINT or SIGTERM, then stops gracefully. A second signal exits at once
   * (code 1). Rejects with {@link LeaderElectionLostError} when leadership is lost: the
   * operators have stopped by then, and the process should exit non-zero (an uncaught
   * rejection does), as controller-runtime's managers do.
   */
  async run(): Promise<void> {
    let signals = 0;
    let onFirst: (signal: NodeJS.Signals) => void = () => {};
    const signalled = new Promise<NodeJS.Signals>((resolve) => {
      onFirst = resolve;
    });
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      if (signals === 1) {
        onFirst(signal);
        return;
      }
      this.logger.warn({ signal }, "second signal during shutdown; exiting now");
      process.exit(1);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    // Signal listeners alone do not keep Node's event loop alive.
    const keepAlive = setInterval(() => {}, 60_000);
    try {
      const early = await Promise.race([this.start().then(() => undefined), signalled]);
      const signal = early ?? (await Promise.race([signalled, this.wait().then(() => undefined)]));
      if (signal) this.logger.info({ signal }, "shutting down");
      await this.stop();
      await this.wait();
    } finally {
      clearInterval(keepAlive);
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  }
}

/** Starts a server, turning a taken address into an error that names the option setting it. */
async function listen(
  address: ListenAddress,
  routes: Parameters<typeof serve>[1],
  serving: string,
  configured: string,
  options: readonly string[],
): Promise<RunningServer> {
  try {
    return await serve(address, routes);
  } catch (error) {
    if ((error as { code?: unknown }).code === "EADDRINUSE") {
      throw new AddressInUseError(serving, configured.trim(), options);
    }
    throw error;
  }
}

/**
 * Logs what a sync changed, at info, in one line per sync (not per child): what a user watching
 * the operator wants to see, without a log line per object when thousands converge at once.
 */
function logChanges(logger: OperatorLogger, key: string, outcome: SyncOutcome): void {
  const fields = { parent: key, reconcileId: outcome.reconcileId };
  const children = outcome.children;
  if (children) {
    const parts: string[] = [];
    const changes: Record<string, string[]> = {};
    const note = (verb: string, field: string, list: string[]) => {
      if (list.length === 0) return;
      parts.push(`${verb} ${list.join(", ")}`);
      changes[field] = list;
    };
    note("created", "created", children.created);
    note("updated", "updated", children.updated);
    note("deleted", "deleted", children.deleted);
    note("deleted to create again with the new spec", "recreating", children.recreating);
    if (parts.length > 0) logger.info({ ...fields, ...changes }, parts.join("; "));
  }
  if (outcome.statusWritten) logger.debug(fields, `wrote the status of ${key}`);
}
