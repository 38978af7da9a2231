/**
 * The manager's Prometheus metrics, under the names controller-runtime and client-go use, so
 * the dashboards and alerts people already have for Go operators work for Operon ones.
 *
 * Each manager owns one prom-client `Registry` (never the global one): several managers in one
 * process, as in tests, keep their numbers apart. The lower layers know nothing of prom-client;
 * they report through hooks (`ClientMetrics`, `WorkQueueMetrics`, `InformerObserver`), and this
 * file turns the hooks into metrics.
 *
 * @module
 */
import {
  Counter,
  collectDefaultMetrics,
  exponentialBuckets,
  Gauge,
  Histogram,
  Registry,
} from "prom-client";
import type { InformerObserver, InformerStats } from "../cache/observer.ts";
import type { ClientMetrics } from "../client/request.ts";
import type { WorkQueueMetrics } from "../queue/metrics.ts";
import type { WebhookMetrics } from "../webhook/metrics.ts";

/** How a reconcile ended, as controller-runtime labels it. */
export type ReconcileResultLabel = "success" | "error" | "requeue" | "requeue_after";

/** Reconcile durations: 5 ms to 60 s, finer where most reconciles land. */
const reconcileBuckets = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.25, 1.5,
  1.75, 2, 2.5, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60,
];
/** Queue waits and work: 10 ns to 10 s in powers of ten, as client-go's workqueue does. */
const queueBuckets = exponentialBuckets(1e-8, 10, 10);
/** Webhook latencies: Prometheus' default buckets, as controller-runtime's histogram has. */
const webhookBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Request latencies: 5 ms to 60 s. */
const requestBuckets = [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60];

/**
 * The `resource` label of cache metrics: the apiVersion and kind.
 *
 * @example
 * resourceLabel({ apiVersion: "apps/v1", kind: "Deployment" }); // "apps/v1/Deployment"
 */
export function resourceLabel(id: { apiVersion: string; kind: string }): string {
  return `${id.apiVersion}/${id.kind}`;
}

/**
 * The metrics of one manager and the hooks that feed them.
 *
 * @example
 * const metrics = new ManagerMetrics();
 * const client = await KubeClient.fromKubeConfig({ metrics: metrics.client });
 * // ... after some reconciles:
 * const text = await metrics.registry.metrics(); // Prometheus text format
 */
export class ManagerMetrics {
  /** The registry served on `/metrics`; register your own metrics here to serve them too. */
  readonly registry = new Registry();
  /** Request hooks for a `KubeClient` (`rest_client_*`, `operon_api_requests_total`). */
  readonly client: ClientMetrics;
  /** @internal Work-queue hooks (`workqueue_*`, label `name`). */
  readonly queue: WorkQueueMetrics;
  /** @internal Informer hooks (`operon_informer_restarts_total`). */
  readonly informers: InformerObserver;
  /** Webhook server hooks (`controller_runtime_webhook_*`, `operon_webhook_failures_total`). */
  readonly webhooks: WebhookMetrics;

  /** @internal */
  readonly reconcileTotal: Counter<"controller" | "result">;
  /** @internal */
  readonly reconcileErrors: Counter<"controller">;
  /** @internal */
  readonly reconcileTime: Histogram<"controller">;
  /** @internal */
  readonly activeWorkers: Gauge<"controller">;
  /** @internal */
  readonly maxConcurrentReconciles: Gauge<"controller">;
  /** @internal */
  readonly leaderStatus: Gauge<"name">;
  #informerStats: () => InformerStats[] = () => [];
  #processMetrics = false;

  constructor() {
    const registers = [this.registry];
    this.reconcileTotal = new Counter({
      name: "controller_runtime_reconcile_total",
      help: "Total number of reconciliations per controller",
      labelNames: ["controller", "result"],
      registers,
    });
    this.reconcileErrors = new Counter({
      name: "controller_runtime_reconcile_errors_total",
      help: "Total number of reconciliation errors per controller",
      labelNames: ["controller"],
      registers,
    });
    this.reconcileTime = new Histogram({
      name: "controller_runtime_reconcile_time_seconds",
      help: "Length of time per reconciliation per controller",
      labelNames: ["controller"],
      buckets: reconcileBuckets,
      registers,
    });
    this.activeWorkers = new Gauge({
      name: "controller_runtime_active_workers",
      help: "Number of currently used workers per controller",
      labelNames: ["controller"],
      registers,
    });
    this.maxConcurrentReconciles = new Gauge({
      name: "controller_runtime_max_concurrent_reconciles",
      help: "Maximum number of concurrent reconciles per controller",
      labelNames: ["controller"],
      registers,
    });
    this.leaderStatus = new Gauge({
      name: "leader_election_master_status",
      help: "Whether this replica holds the leader election lease (1) or not (0)",
      labelNames: ["name"],
      registers,
    });

    const depth = new Gauge({
      name: "workqueue_depth",
      help: "Current depth of the work queue",
      labelNames: ["name"],
      registers,
    });
    const adds = new Counter({
      name: "workqueue_adds_total",
      help: "Total number of adds handled by the work queue",
      labelNames: ["name"],
      registers,
    });
    const queueDuration = new Histogram({
      name: "workqueue_queue_duration_seconds",
      help: "How long in seconds an item stays in the work queue before being requested",
      labelNames: ["name"],
      buckets: queueBuckets,
      registers,
    });
    const workDuration = new Histogram({
      name: "workqueue_work_duration_seconds",
      help: "How long in seconds processing an item from the work queue takes",
      labelNames: ["name"],
      buckets: queueBuckets,
      registers,
    });
    const retries = new Counter({
      name: "workqueue_retries_total",
      help: "Total number of retries handled by the work queue",
      labelNames: ["name"],
      registers,
    });
    const longest = new Gauge({
      name: "workqueue_longest_running_processor_seconds",
      help: "How many seconds the longest running processor of the work queue has been running",
      labelNames: ["name"],
      registers,
    });
    const unfinished = new Gauge({
      name: "workqueue_unfinished_work_seconds",
      help: "How many seconds of work are in progress and not yet observed by work_duration; large values suggest stuck work",
      labelNames: ["name"],
      registers,
    });
    this.queue = {
      depth: (name, value) => depth.set({ name }, value),
      add: (name) => adds.inc({ name }),
      queueDuration: (name, seconds) => queueDuration.observe({ name }, seconds),
      workDuration: (name, seconds) => workDuration.observe({ name }, seconds),
      retry: (name) => retries.inc({ name }),
      unfinishedWork: (name, total, longestSeconds) => {
        unfinished.set({ name }, total);
        longest.set({ name }, longestSeconds);
      },
    };

    const restRequests = new Counter({
      name: "rest_client_requests_total",
      help: "Number of HTTP requests, partitioned by status code, method, and host",
      labelNames: ["code", "method", "host"],
      registers,
    });
    const restDuration = new Histogram({
      name: "rest_client_request_duration_seconds",
      help: "Request latency in seconds, by verb (the HTTP method, as client-go reports it) and host",
      labelNames: ["verb", "host"],
      buckets: requestBuckets,
      registers,
    });
    const apiRequests = new Counter({
      name: "operon_api_requests_total",
      help: "API requests by Kubernetes verb, resource (plural, with the group) and status code",
      labelNames: ["verb", "resource", "code"],
      registers,
    });
    this.client = {
      request: (m) => {
        // client-go reports requests that got no answer with the code "<error>".
        const code = m.code === 0 ? "<error>" : String(m.code);
        restRequests.inc({ code, method: m.method, host: m.host });
        restDuration.observe({ verb: m.method, host: m.host }, m.durationSeconds);
        const resource = m.group ? `${m.resource}.${m.group}` : m.resource;
        apiRequests.inc({
          verb: m.verb,
          resource: m.subresource ? `${resource}/${m.subresource}` : resource,
          code,
        });
      },
    };

    const webhookRequests = new Counter({
      name: "controller_runtime_webhook_requests_total",
      help: "Total number of admission requests by HTTP status code",
      labelNames: ["webhook", "code"],
      registers,
    });
    const webhookInFlight = new Gauge({
      name: "controller_runtime_webhook_requests_in_flight",
      help: "Current number of admission requests being served",
      labelNames: ["webhook"],
      registers,
    });
    const webhookLatency = new Histogram({
      name: "controller_runtime_webhook_latency_seconds",
      help: "Histogram of the latency of processing admission requests",
      labelNames: ["webhook"],
      buckets: webhookBuckets,
      registers,
    });
    const webhookFailures = new Counter({
      name: "operon_webhook_failures_total",
      help: "Webhook requests not answered with a handler's decision, by reason (bad_request, too_large, unknown_kind, handler_error, timeout, cancelled)",
      labelNames: ["webhook", "reason"],
      registers,
    });
    this.webhooks = {
      started: (webhook) => webhookInFlight.inc({ webhook }),
      finished: (webhook, code, seconds) => {
        webhookInFlight.dec({ webhook });
        webhookRequests.inc({ webhook, code: String(code) });
        webhookLatency.observe({ webhook }, seconds);
      },
      failed: (webhook, reason) => webhookFailures.inc({ webhook, reason }),
    };

    const restarts = new Counter({
      name: "operon_informer_restarts_total",
      help: "Watch restarts of the informers, by resource and reason (closed, gone, silence, error)",
      labelNames: ["resource", "reason"],
      registers,
    });
    this.informers = {
      restarted: (id, info) => restarts.inc({ resource: resourceLabel(id), reason: info.reason }),
    };
    const stats = () => this.#informerStats();
    new Gauge({
      name: "operon_cache_objects",
      help: "Objects held in the informer caches, by resource (apiVersion/Kind)",
      labelNames: ["resource"],
      registers,
      collect() {
        this.reset();
        const totals = new Map<string, number>();
        for (const informer of stats()) {
          const resource = resourceLabel(informer.id);
          totals.set(resource, (totals.get(resource) ?? 0) + informer.objects);
        }
        for (const [resource, objects] of totals) this.set({ resource }, objects);
      },
    });
  }

  /** @internal Where `operon_cache_objects` reads the informers' counters from at each scrape. */
  observeInformers(stats: () => InformerStats[]): void {
    this.#informerStats = stats;
  }

  /**
   * @internal
   * Adds Node's process metrics (CPU, memory, event-loop lag, GC, handles) to the registry.
   * Only once per manager: they install process-wide observers that live as long as the process.
   */
  collectProcessMetrics(): void {
    if (this.#processMetrics) return;
    this.#processMetrics = true;
    collectDefaultMetrics({ register: this.registry });
  }

  /** @internal Records one finished reconcile. */
  reconciled(controller: string, result: ReconcileResultLabel, seconds: number): void {
    this.reconcileTotal.inc({ controller, result });
    if (result === "error") this.reconcileErrors.inc({ controller });
    this.reconcileTime.observe({ controller }, seconds);
  }
}
