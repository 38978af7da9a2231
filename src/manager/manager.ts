/**
 * The manager runs operators together in one process: one client and one set of shared informers
 * for all of them, intake only after the caches are synced, optional leader election, Prometheus
 * metrics (optionally over HTTPS with every scrape authorized), health and readiness probes, the
 * webhook server, and a graceful shutdown that lets running syncs and reviews finish. Everything
 * it runs goes through one seam, {@link Runnable}.
 */

import { clientListWatch } from "../cache/client-source.ts";
import { NAMESPACE_INDEX } from "../cache/indexes.ts";
import { InformerFactory } from "../cache/shared-informers.ts";
import { KubeClient } from "../client/client.ts";
import type { ClientMetrics } from "../client/request.ts";
import type { Reconcile } from "../controller/controller.ts";
import type { Operator } from "../operator/declaration.ts";
import type { EventRecorderOptions } from "../operator/events.ts";
import type { OperatorLogger, SyncOutcome } from "../operator/reconciler.ts";
import { OperatorRuntime } from "../operator/runtime.ts";
import type { WorkQueueMetrics } from "../queue/index.ts";
import { Lease } from "../resources/coordination.ts";
import type { KubeObject, ResourceType } from "../resources/object.ts";
import { CertificateDirectoryWatcher } from "../webhook/certificate-watcher.ts";
import { createDevelopmentCertificates } from "../webhook/certificates.ts";
import { type ConversionDefinition, isConversion } from "../webhook/conversion.ts";
import type { CacheReader } from "../webhook/types.ts";
import { isWebhook, type Webhook } from "../webhook/webhook.ts";
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
import { KubeRequestAuthorizer } from "./metrics-auth.ts";
import { OpenTelemetryExporter } from "./otel.ts";
import { isRunnable, type Runnable, type RunnableContext, RunnableGroup } from "./runnable.ts";
import { type HttpServerPlan, HttpServerRunnable, OperatorRunnable } from "./runnables.ts";
import { metricsHandler, parseBindAddress, probeHandler, type ServeOptions } from "./servers.ts";
import { ShardCoordinator } from "./sharding/coordinator.ts";
import { defaultMemberId, ringLabel, shardLabel, validateMemberId } from "./sharding/labels.ts";
import { ShardMemberRunnable } from "./sharding/member.ts";
import { ShardMembers } from "./sharding/members.ts";
import { ShardMetrics } from "./sharding/metrics.ts";
import { traceRoutes } from "./trace-server.ts";
import { type TraceLimits, TraceStore, traceRecordOf } from "./trace-store.ts";
import {
  inClusterNamespace,
  WebhookServerRunnable,
  type WebhookServerSettings,
} from "./webhooks.ts";

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
 * Sharding settings; see {@link ManagerOptions.sharding}.
 *
 * @example
 * new Manager({ sharding: { memberId: process.env.POD_NAME } });
 */
export interface ShardingOptions {
  /**
   * This replica's name in the rings: a label value (at most 63 lowercase letters, digits and
   * '-'), unique among the replicas. Default `<hostname>-<6 random hex digits>`, new for each
   * process, so a restarted container joins as a new member.
   */
  memberId?: string;
  /** Points per member on the consistent-hash ring. Default 1,000. */
  virtualNodes?: number;
}

/**
 * Makes the manager's client, given the hooks that feed its request metrics.
 *
 * @example
 * new Manager({ client: (hooks) => KubeClient.fromKubeConfig({ context: "prod", qps: 50, ...hooks }) });
 */
export type ClientFactory = (hooks: { metrics: ClientMetrics }) => KubeClient | Promise<KubeClient>;

/** Settings of the reconcile trace: `ManagerOptions.trace`. */
export interface TraceOptions extends TraceLimits {
  /**
   * Where the viewer and the trace's JSON are served: `127.0.0.1:8090`, `:0` (a free port on
   * every interface), `0` (not served: `manager.trace` only). Default `0`. The trace shows
   * objects' names and fields: bind it to loopback unless the network is trusted.
   */
  bindAddress?: string;
}

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
   * Serve `/metrics` over HTTPS and let only callers the API server authenticates (TokenReview)
   * and authorizes for `get` on the non-resource URL `/metrics` (SubjectAccessReview) scrape it:
   * controller-runtime's `filters.WithAuthenticationAndAuthorization`, as Kubebuilder projects
   * serve metrics on `:8443`. Default false (plain HTTP, open to whoever reaches the port).
   */
  metricsSecure?: boolean;
  /**
   * With `metricsSecure`: a directory with `tls.crt` and `tls.key` (reloaded on change) for the
   * metrics server. Default: a self-signed certificate made at start, as controller-runtime does.
   */
  metricsCertDir?: string;
  /**
   * Where `/healthz` and `/readyz` are served, same syntax. Default `0` here; `operon run`
   * defaults to `:8081`. The same address as the metrics serves all three on one port (not with
   * `metricsSecure`: the kubelet probes without a token).
   */
  healthProbeBindAddress?: string;
  /**
   * The webhook server, when webhooks or conversions are added: its address (default `:9443`),
   * certificates (default a development CA), configurations' name and development install.
   */
  webhookServer?: WebhookServerSettings;
  /** Run only while holding a Lease: `true` for the defaults, or settings. Default off. */
  leaderElection?: boolean | LeaderElectionOptions;
  /**
   * Split the parents of every operator among the replicas: each replica joins a ring with its
   * own Lease, reconciles only the parents assigned to it and caches only those and their
   * children, while the elected leader assigns them (so leader election is on, with its
   * settings and Lease timings, which the member Leases share). `true` for the defaults, or
   * settings. Default: only operators declared with `sharding: true`; `false` turns it off for
   * those too. See docs/scaling.md.
   */
  sharding?: boolean | ShardingOptions;
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
  /**
   * Keep the record of every reconcile in memory (`manager.trace`), bounded per parent and in
   * total, and serve the viewer when `bindAddress` is set: `true` for the defaults. Default off:
   * untraced reconciles cost nothing more.
   */
  trace?: boolean | TraceOptions;
  /**
   * Export reconciles as OpenTelemetry spans when the standard `OTEL_*` environment variables
   * ask for it (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_TRACES_EXPORTER`, ...). `false`: never,
   * whatever the environment says. Default true.
   */
  openTelemetry?: boolean;
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
  override readonly name: string = "LeaderElectionLostError";
}

/**
 * A sharded operator's member Lease was lost: the coordinator may already have given this
 * replica's parents to others. Like {@link LeaderElectionLostError} (which it extends, so
 * handlers of that one cover it), the process should exit non-zero.
 *
 * @example
 * await manager.run().catch((error) => {
 *   if (error instanceof LeaderElectionLostError) process.exit(1); // ShardMembershipLostError too
 *   throw error;
 * });
 */
export class ShardMembershipLostError extends LeaderElectionLostError {
  override readonly name = "ShardMembershipLostError";
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

/** What {@link Manager.add} takes. */
export type Manageable = Operator | Runnable | Webhook | ConversionDefinition;

/**
 * Runs operators, webhooks and anything else that is a {@link Runnable}.
 *
 * @example
 * import { Manager } from "kube-operon";
 * import greeter, { validateGreeting } from "./greeter.ts";
 *
 * const manager = new Manager({
 *   metricsBindAddress: ":8443",
 *   metricsSecure: true,
 *   healthProbeBindAddress: ":8081",
 *   leaderElection: { namespace: "greeter-system" },
 * });
 * manager.add(greeter, validateGreeting); // an operator and its validating webhook
 * await manager.run(); // until SIGINT or SIGTERM; rejects if leadership is lost
 */
export class Manager {
  readonly #options: ManagerOptions;
  readonly #operators: Operator[] = [];
  readonly #webhooks: Webhook[] = [];
  readonly #conversions: ConversionDefinition[] = [];
  readonly #added: Runnable[] = [];
  readonly #runtimes: OperatorRuntime[] = [];
  readonly #monitors = new Map<string, WorkMonitor>();
  readonly #liveness = new HealthChecks();
  readonly #readiness = new HealthChecks();
  readonly #metrics = new ManagerMetrics();
  readonly #done = deferred();
  readonly #elected = deferred();
  readonly logger: OperatorLogger;
  /** Metrics and probe servers: started first, stopped last. */
  readonly #servers: RunnableGroup;
  /** The webhook server: before the caches, as listing a multi-version kind may need it. */
  readonly #webhookGroup: RunnableGroup;
  /** Runnables that need no leadership, started once the caches are synced. */
  readonly #others: RunnableGroup;
  /** Sharded operators, on every replica: started after the others, stopped after the leader's. */
  readonly #members: RunnableGroup;
  /** Operators and other runnables that run only on the leader. */
  readonly #leader: RunnableGroup;
  #metricsServer: HttpServerRunnable | undefined;
  #probeServer: HttpServerRunnable | undefined;
  #traceServer: HttpServerRunnable | undefined;
  readonly #trace: TraceStore | undefined;
  #otel: OpenTelemetryExporter | undefined;
  #webhookServer: WebhookServerRunnable | undefined;
  #client: KubeClient | undefined;
  #ownedClients: KubeClient[] = [];
  #informers: InformerFactory | undefined;
  #elector: LeaderElector | undefined;
  #lease: { namespace: string; name: string } | undefined;
  #shardMetrics: ShardMetrics | undefined;
  readonly #shardMembers: ShardMemberRunnable[] = [];
  readonly #memberId: string | undefined;
  #abort = new AbortController();
  #state: "new" | "starting" | "running" | "stopping" | "stopped" = "new";
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #lost: string | undefined;

  constructor(options: ManagerOptions = {}) {
    this.#options = options;
    this.logger = options.logger ?? createLogger();
    this.#servers = new RunnableGroup("servers", this.logger);
    this.#webhookGroup = new RunnableGroup("webhooks", this.logger);
    this.#others = new RunnableGroup("others", this.logger);
    this.#members = new RunnableGroup("shard members", this.logger);
    this.#leader = new RunnableGroup("leader", this.logger);
    // Fail on bad settings here, not minutes later in a pod.
    const metricsAt = parseBindAddress(options.metricsBindAddress ?? "0");
    const healthAt = parseBindAddress(options.healthProbeBindAddress ?? "0");
    parseBindAddress(options.webhookServer?.bindAddress ?? ":9443");
    if (options.trace) {
      const settings = options.trace === true ? {} : options.trace;
      parseBindAddress(settings.bindAddress ?? "0");
      this.#trace = new TraceStore(settings);
    }
    if (
      options.metricsSecure &&
      metricsAt &&
      healthAt &&
      metricsAt.port !== 0 &&
      options.metricsBindAddress?.trim() === options.healthProbeBindAddress?.trim()
    ) {
      throw new TypeError(
        "secure metrics and the health probes cannot share an address: the kubelet probes without a token",
      );
    }
    const sharding = options.sharding;
    if (typeof sharding === "object" && sharding.memberId !== undefined)
      validateMemberId(sharding.memberId);
    if (
      typeof sharding === "object" &&
      sharding.virtualNodes !== undefined &&
      !(Number.isInteger(sharding.virtualNodes) && sharding.virtualNodes > 0)
    )
      throw new RangeError(
        `sharding.virtualNodes must be a positive integer, got ${sharding.virtualNodes}`,
      );
    this.#memberId =
      sharding === false
        ? undefined
        : ((typeof sharding === "object" ? sharding.memberId : undefined) ?? defaultMemberId());
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
    // Sharding needs a coordinator, elected as the leader.
    if (!leaderElection) return this.#shardingWanted() ? {} : undefined;
    return leaderElection === true ? {} : leaderElection;
  }

  /** Whether this operator's parents are split among the replicas. */
  #sharded(operator: Operator): boolean {
    const { sharding } = this.#options;
    if (sharding === false) return false;
    return sharding !== undefined || operator.sharding === true;
  }

  #shardingWanted(): boolean {
    const { sharding } = this.#options;
    if (sharding === false) return false;
    return sharding !== undefined || this.#operators.some((operator) => operator.sharding === true);
  }

  /** Where the leader and member Leases live. */
  #leaseNamespace(): string {
    return this.#electionOptions()?.namespace ?? inClusterNamespace() ?? "default";
  }

  /**
   * Adds what the manager runs, all before `start`: operators (on the leader), admission webhooks
   * and conversions (served by its webhook server on every replica), and your own
   * {@link Runnable}s.
   *
   * @example
   * manager.add(myapp, validateMyApp, defaultMyApp, cronJobConversion, heartbeat);
   */
  add(...items: Manageable[]): this {
    if (this.#state !== "new") throw new Error("add everything before starting the manager");
    for (const item of items) {
      if (isWebhook(item)) {
        this.#webhooks.push(item);
      } else if (isConversion(item)) {
        this.#conversions.push(item);
      } else if ((item as Operator).kind === "Operator") {
        const operator = item as Operator;
        if (this.#operators.some((existing) => existing.name === operator.name)) {
          throw new Error(`two operators are named "${operator.name}"; names must be unique`);
        }
        this.#operators.push(operator);
      } else if (isRunnable(item)) {
        this.#added.push(item);
      } else {
        throw new TypeError(
          "manager.add takes operators, webhooks, conversions and runnables (an object with name and start)",
        );
      }
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

  /** Whether the leader's runnables run now: always once started without election, while leader with. */
  get isLeader(): boolean {
    return this.#leader.running && this.#lost === undefined;
  }

  /** Resolves when the operators start reconciling (at once without leader election). */
  get elected(): Promise<void> {
    return this.#elected.promise;
  }

  /** The holder identity in the Lease (with leader election). */
  get identity(): string | undefined {
    return this.#elector?.identity;
  }

  /** `http(s)://host:port` of the metrics server, once started (undefined when off). */
  get metricsUrl(): string | undefined {
    return this.#metricsServer?.url;
  }

  /**
   * The reconcile trace, when kept (`trace` option): every sync and finalize with its triggers,
   * what it read, field diffs of children and status, and its API writes.
   *
   * @example
   * const manager = new Manager({ trace: true }).add(myapp);
   * await manager.start();
   * manager.trace?.records({ key: "default/shop", errors: true });
   */
  get trace(): TraceStore | undefined {
    return this.#trace;
  }

  /** `http://host:port` of the trace viewer, once started (undefined when not served). */
  get traceUrl(): string | undefined {
    return this.#traceServer?.url;
  }

  /** `http://host:port` of the probe server, once started (undefined when off). */
  get healthProbeUrl(): string | undefined {
    return this.#probeServer?.url ?? (this.#sharedPort ? this.#metricsServer?.url : undefined);
  }

  /** `https://host:port` of the webhook server and its CA, once started (when it serves). */
  get webhookServer(): { url: string; caCertificatePem: string | undefined } | undefined {
    const server = this.#webhookServer?.server;
    return server ? { url: server.url, caCertificatePem: server.caCertificatePem } : undefined;
  }

  /** Every runnable, in start order (after `start`). */
  get runnables(): Runnable[] {
    return [
      ...this.#servers.runnables,
      ...this.#webhookGroup.runnables,
      ...this.#others.runnables,
      ...this.#members.runnables,
      ...this.#leader.runnables,
    ];
  }

  /** Resolves once the manager has stopped; rejects with {@link LeaderElectionLostError}. */
  wait(): Promise<void> {
    return this.#done.promise;
  }

  /**
   * Connects, serves metrics and probes, starts the webhook server, fills the caches, and starts
   * the operators. Resolves once they run; with leader election, once the caches are synced (the
   * operators start when this replica is elected: see `elected`).
   */
  start(): Promise<void> {
    if (this.#state !== "new") throw new Error(`the manager cannot start: it is ${this.#state}`);
    if (
      this.#operators.length === 0 &&
      this.#webhooks.length === 0 &&
      this.#conversions.length === 0 &&
      this.#added.length === 0
    )
      throw new Error("nothing to run: add an operator (or a webhook) with manager.add(...)");
    this.#state = "starting";
    this.#starting = this.#start();
    return this.#starting;
  }

  get #sharedPort(): boolean {
    const metrics = this.#options.metricsBindAddress?.trim() ?? "0";
    const health = this.#options.healthProbeBindAddress?.trim() ?? "0";
    const at = parseBindAddress(metrics);
    return at !== undefined && at.port !== 0 && metrics === health && !this.#options.metricsSecure;
  }

  async #start(): Promise<void> {
    const { logger } = this;
    const started = performance.now();
    const signal = this.#abort.signal;
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
      if (this.#options.openTelemetry !== false && this.#operators.length > 0) {
        this.#otel = await OpenTelemetryExporter.fromEnv({
          serviceName: this.#operators[0]!.name,
          ...(this.#memberId && this.#operators.some((operator) => this.#sharded(operator))
            ? { instanceId: this.#memberId }
            : {}),
          logger,
        });
      }
      for (const operator of this.#operators) {
        const sharded = this.#sharded(operator);
        const runtime = this.#runtimeFor(operator, sharded ? this.#memberId : undefined);
        await runtime.setup();
        this.#runtimes.push(runtime);
        const runnable = new OperatorRunnable(
          runtime,
          this.#monitors.get(operator.name)!,
          this.logger,
        );
        if (sharded && leaseClient) this.#addSharded(operator, runtime, runnable, leaseClient);
        else this.#leader.add(runnable);
      }
      this.#addWebhookServer();
      for (const runnable of this.#added) {
        await runnable.setup?.(this.#runnableContext());
        (runnable.needLeaderElection === false ? this.#others : this.#leader).add(runnable);
      }
      this.#addBuiltinChecks();
      this.#addServers();
      this.#addTraceServer();
      await this.#servers.start(signal);
      this.#logServers();
      await this.#webhookGroup.start(signal);
      this.#informers.start(signal);
      await this.#informers.waitForSync(signal);
      if ((this.#state as string) !== "starting") throw new Error("the manager was stopped");
      this.#state = "running";
      await this.#others.start(signal);
      await this.#members.start(signal);
      const fields = {
        operators: this.#operators.map((o) => o.name),
        cacheSyncMs: Math.round(performance.now() - started),
      };
      if (election && leaseClient && this.#leader.size > 0) {
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
        await this.#startLeading();
        logger.info(
          fields,
          this.#operators.length > 0 ? "caches synced; operators running" : "running",
        );
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

  /**
   * A sharded operator: on every replica a member (its Lease, its share of the parents, the
   * handover of parents it is asked to let go), on the leader the coordinator of its ring.
   */
  #addSharded(
    operator: Operator,
    runtime: OperatorRuntime,
    runnable: OperatorRunnable,
    leaseClient: KubeClient,
  ): void {
    this.#shardMetrics ??= new ShardMetrics(this.#metrics.registry);
    const metrics = this.#shardMetrics;
    const election = this.#electionOptions() ?? {};
    const timings = {
      leaseDurationMs: election.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS,
      renewDeadlineMs: election.renewDeadlineMs ?? DEFAULT_RENEW_DEADLINE_MS,
      retryPeriodMs: election.retryPeriodMs ?? DEFAULT_RETRY_PERIOD_MS,
    };
    const namespace = this.#leaseNamespace();
    const sharding = this.#options.sharding;
    const virtualNodes = typeof sharding === "object" ? sharding.virtualNodes : undefined;
    // Every replica follows the member Leases from its start, so whichever becomes the
    // coordinator already knows how long each has gone without renewal.
    const members = new ShardMembers({
      leases: this.#informers!.informer(Lease, {
        namespace,
        labelSelector: `${ringLabel}=${operator.name}`,
      }),
      leaseDurationMs: timings.leaseDurationMs,
    });
    members.attach();
    metrics.observeRing(operator.name, () => members.live().length);
    const member = new ShardMemberRunnable({
      runtime,
      operator: runnable,
      client: this.#client!,
      leaseClient,
      namespace,
      member: this.#memberId!,
      timings,
      logger: this.logger,
      metrics,
      onLost: (reason) => this.#lose(reason, true),
    });
    this.#shardMembers.push(member);
    this.#members.add(member);
    this.#leader.add(
      new ShardCoordinator({
        operator,
        client: this.#client!,
        members,
        leaseNamespace: namespace,
        leaseDurationMs: timings.leaseDurationMs,
        ...(virtualNodes ? { virtualNodes } : {}),
        logger: this.logger,
        metrics,
        observer: this.#metrics.informers,
      }),
    );
  }

  /** This replica's name in the shard rings (with sharding). */
  get shardMember(): string | undefined {
    return this.#shardMembers.length > 0 ? this.#memberId : undefined;
  }

  #runtimeFor(operator: Operator, shardMember?: string): OperatorRuntime {
    const name = operator.name;
    const logger = this.logger.child?.({ operator: name }) ?? this.logger;
    const { monitor, queueMetrics } = this.#queueMetricsFor(name, operator.concurrency ?? 8);
    const runtime = new OperatorRuntime(operator, {
      client: this.#client!,
      informers: this.#informers!,
      logger,
      queueMetrics,
      ...(this.#options.events ? { events: this.#options.events } : {}),
      ...(this.#options.clock ? { clock: this.#options.clock } : {}),
      ...(shardMember ? { partition: { labels: { [shardLabel(name)]: shardMember } } } : {}),
      instrument: (reconcile) => this.#instrument(name, monitor, reconcile),
      ...(this.#trace || this.#otel ? { trace: true } : {}),
      onOutcome: (key, outcome) => {
        logChanges(logger, key, outcome);
        if (this.#trace || this.#otel) this.#traced(operator, outcome);
        this.#options.onOutcome?.(name, key, outcome);
      },
    });
    this.#metrics.maxConcurrentReconciles.set({ controller: name }, runtime.concurrency);
    return runtime;
  }

  /** The queue metrics and health monitor of one controller, with its series at zero. */
  #queueMetricsFor(
    name: string,
    concurrency: number,
  ): { monitor: WorkMonitor; queueMetrics: WorkQueueMetrics } {
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
    const metrics = this.#metrics;
    metrics.maxConcurrentReconciles.set({ controller: name }, concurrency);
    metrics.activeWorkers.set({ controller: name }, 0);
    metrics.reconcileErrors.inc({ controller: name }, 0);
    for (const result of ["success", "error", "requeue", "requeue_after"] as const)
      metrics.reconcileTotal.inc({ controller: name, result }, 0);
    return { monitor, queueMetrics };
  }

  /** What a runnable's `setup` receives. */
  #runnableContext(): RunnableContext {
    return {
      client: this.#client!,
      informers: this.#informers!,
      logger: this.logger,
      ...(this.#options.events ? { events: this.#options.events } : {}),
      instrumentation: (name, concurrency) => {
        const { monitor, queueMetrics } = this.#queueMetricsFor(name, concurrency);
        // A controller added at run time (on the leader) is judged from now on.
        if (this.#leader.running) monitor.resume();
        return {
          queueMetrics,
          instrument: (reconcile) => this.#instrument(name, monitor, reconcile),
          release: () => {
            monitor.pause();
            if (this.#monitors.get(name) === monitor) this.#monitors.delete(name);
          },
        };
      },
    };
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

  /** The informer cache as webhooks read it: an informer per type, started on first use. */
  #cacheReader(): CacheReader {
    const informer = async <T extends KubeObject>(
      type: ResourceType<T>,
      labelSelector?: string,
    ) => {
      const informers = this.#informers;
      if (!informers) throw new Error("the manager has not started");
      const found = informers.informer(type, labelSelector ? { labelSelector } : {});
      await found.waitForSync(this.#abort.signal);
      return found;
    };
    return {
      get: async (type, name, namespace) => {
        const found = await informer(type);
        return found.store.get(namespace ? `${namespace}/${name}` : name);
      },
      list: async (type, options = {}) => {
        const found = await informer(type, options.labelSelector);
        return options.namespace
          ? found.store.byIndex(NAMESPACE_INDEX, options.namespace)
          : found.store.list();
      },
    };
  }

  #addWebhookServer(): void {
    if (this.#webhooks.length === 0 && this.#conversions.length === 0) return;
    const server = new WebhookServerRunnable({
      webhooks: this.#webhooks,
      conversions: this.#conversions,
      settings: this.#options.webhookServer ?? {},
      client: () => this.client,
      logger: this.logger,
      metrics: this.#metrics.webhooks,
      cache: this.#cacheReader(),
      defaultConfigurationName: this.#operators[0]?.name,
      graceMs: this.#options.gracefulShutdownMs ?? 30_000,
    });
    this.#webhookServer = server;
    this.#webhookGroup.add(server);
    const rotator = server.rotator();
    if (rotator) this.#leader.add(rotator);
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
    if (this.#shardMembers.length > 0) {
      const members = this.#shardMembers;
      this.#readiness.add("shard-membership", () => {
        const out = members.filter((member) => !member.holding);
        if (out.length > 0)
          throw new Error(`no shard ring membership: ${out.map((m) => m.name).join(", ")}`);
      });
    }
    const webhooks = this.#webhookServer;
    if (webhooks) {
      this.#readiness.add("webhook", () => {
        if (!webhooks.listening) throw new Error("the webhook server is not serving");
      });
    }
  }

  /** Keeps the record of an attempt in the trace and exports it. */
  #traced(operator: Operator, outcome: SyncOutcome): void {
    const made = traceRecordOf(operator.name, operator.parent, outcome);
    const record = this.#trace ? this.#trace.addRecord(made) : { ...made, seq: 0 };
    try {
      this.#otel?.export(record);
    } catch (error) {
      this.logger.debug({ err: error }, "could not export a reconcile span");
    }
  }

  /** The trace viewer and its JSON, where `trace.bindAddress` says. */
  #addTraceServer(): void {
    const { trace } = this.#options;
    const address = trace && trace !== true ? (trace.bindAddress ?? "0") : "0";
    const at = parseBindAddress(address);
    const store = this.#trace;
    if (!at || !store) return;
    this.#traceServer = new HttpServerRunnable(
      "trace viewer",
      at,
      () => ({ routes: traceRoutes(store) }),
      {
        serving: "the trace viewer",
        address,
        options: ["trace.bindAddress"],
      },
    );
    this.#servers.add(this.#traceServer);
  }

  /** The metrics and probe servers, as runnables. */
  #addServers(): void {
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
    if (metricsAt && this.#sharedPort) {
      this.#metricsServer = new HttpServerRunnable(
        "metrics and probe server",
        metricsAt,
        () => ({ routes: { ...metricsRoute, ...probeRoutes } }),
        {
          serving: "metrics and health probes",
          address: metricsAddress,
          options: ["metricsBindAddress", "healthProbeBindAddress"],
        },
      );
      this.#servers.add(this.#metricsServer);
      return;
    }
    if (metricsAt) {
      this.#metricsServer = new HttpServerRunnable(
        "metrics server",
        metricsAt,
        () =>
          this.#options.metricsSecure
            ? this.#secureMetricsPlan(metricsRoute)
            : { routes: metricsRoute },
        { serving: "metrics", address: metricsAddress, options: ["metricsBindAddress"] },
      );
      this.#servers.add(this.#metricsServer);
    }
    if (healthAt) {
      this.#probeServer = new HttpServerRunnable(
        "probe server",
        healthAt,
        () => ({ routes: probeRoutes }),
        { serving: "health probes", address: healthAddress, options: ["healthProbeBindAddress"] },
      );
      this.#servers.add(this.#probeServer);
    }
  }

  /** HTTPS, and every scrape authenticated and authorized by the API server. */
  async #secureMetricsPlan(routes: HttpServerPlan["routes"]): Promise<HttpServerPlan> {
    const authorizer = new KubeRequestAuthorizer({ client: this.client, logger: this.logger });
    const filter: ServeOptions["filter"] = (request, url) => authorizer.check(request, url);
    const directory = this.#options.metricsCertDir;
    if (!directory) {
      // As controller-runtime: a self-signed certificate; scrapers skip verification or pin it.
      const tls = await createDevelopmentCertificates({
        dnsNames: ["localhost"],
        ipAddresses: ["127.0.0.1", "::1"],
      });
      return { routes, options: { tls, filter } };
    }
    const watcher = new CertificateDirectoryWatcher(directory, { logger: this.logger });
    let apply: (pair: { certificatePem: string; privateKeyPem: string }) => void = () => {};
    const tls = await watcher.start((pair) => apply(pair));
    return {
      routes,
      options: { tls, filter },
      listening: (server) => {
        apply = (pair) => server.setCertificate(pair);
      },
      closed: () => watcher.close(),
    };
  }

  #logServers(): void {
    const metricsUrl = this.metricsUrl;
    const healthUrl = this.healthProbeUrl;
    if (metricsUrl)
      this.logger.info(
        { url: `${metricsUrl}/metrics`, ...(this.#options.metricsSecure ? { secure: true } : {}) },
        "serving metrics",
      );
    if (healthUrl)
      this.logger.info(
        { healthz: `${healthUrl}/healthz`, readyz: `${healthUrl}/readyz` },
        "serving health probes",
      );
    if (this.traceUrl)
      this.logger.info({ url: `${this.traceUrl}/` }, "serving the reconcile trace viewer");
  }

  #startElection(election: LeaderElectionOptions, client: KubeClient): void {
    const namespace = this.#leaseNamespace();
    const first = this.#operators[0]?.name;
    if (!election.id && !first) {
      throw new Error("leader election needs leaderElection.id when no operator is added");
    }
    const name = election.id ?? `${first}-leader`;
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
        this.#startLeading().then(
          () => {
            if (this.isLeader)
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

  /** Starts the leader's runnables: operators and anything else that needs the leadership. */
  async #startLeading(): Promise<void> {
    if (this.#state !== "running" || this.#leader.running || this.#lost !== undefined) return;
    await this.#leader.start(this.#abort.signal);
    this.#elected.resolve();
  }

  /**
   * Leadership is gone: another replica may be writing already. Stop at once, without waiting
   * for anything: the queues stop, running syncs see their signal aborted (their requests fail),
   * and `run()` rejects so the process can exit.
   */
  #lose(reason: string, membership = false): void {
    if (this.#lost !== undefined) return;
    this.#lost = reason;
    const what = membership ? "shard membership lost" : "leader election lost";
    this.#leader.abort(`${what}: ${reason}`);
    // Sharded operators stop too: a replica unsure of its standing writes nothing more.
    this.#members.abort(`${what}: ${reason}`);
    this.logger.error({ reason }, `${what}; stopped writing`);
    this.#done.reject(
      membership
        ? new ShardMembershipLostError(`${what}: ${reason}`)
        : new LeaderElectionLostError(`${what}: ${reason}`),
    );
  }

  /**
   * Stops gracefully: not ready from now on, no new syncs, running syncs get up to
   * `gracefulShutdownMs` to finish (then their signal is aborted), the Lease is released, the
   * webhook server lets running reviews finish, and everything is disconnected.
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
    if (this.#elector && !this.#leader.running) await this.#elector.stop();
    const graceMs = this.#options.gracefulShutdownMs ?? 30_000;
    await this.#leader.stop(graceMs);
    await this.#elector?.stop();
    // Sharded operators drain their syncs, then end their member Leases so the coordinator
    // reassigns their parents at once.
    await this.#members.stop(graceMs);
    await this.#others.stop(graceMs);
    await this.#webhookGroup.stop(graceMs);
    await this.#teardown();
    this.#state = "stopped";
    this.logger.info({}, "stopped");
    this.#done.resolve();
  }

  async #teardown(): Promise<void> {
    this.#abort.abort();
    if (this.#lease) this.#metrics.leaderStatus.set({ name: this.#lease.name }, 0);
    await this.#elector?.stop().catch(() => {});
    await this.#leader.stop(0);
    await this.#members.stop(0);
    await this.#others.stop(0);
    await this.#webhookGroup.stop(0);
    await this.#informers?.stop().catch(() => {});
    await this.#servers.stop(0);
    await this.#otel?.shutdown().catch(() => {});
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
