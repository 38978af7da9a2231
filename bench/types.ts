/** The shapes the harness records and `bench/results/latest.json` holds. */
import type { RequestCounts } from "./metrics.ts";

export const scenarioNames = ["converge", "idle", "churn", "restart", "memory"] as const;
export type ScenarioName = (typeof scenarioNames)[number];

export const contenderNames = [
  "operon",
  "operon-matched",
  "controller-runtime",
  "controller-runtime-matched",
  "kube-rs",
  "kube-rs-matched",
  "client-node",
  "client-node-matched",
  "floor",
  "metacontroller",
  "operon-metacontroller",
  "operon-traced",
  "operon-otel",
] as const;
export type ContenderName = (typeof contenderNames)[number];

/**
 * The contenders of a run without `--contenders`: Metacontroller and Operon's Metacontroller mode
 * take part only when asked for (building Metacontroller takes minutes), and so do Operon with
 * its reconcile trace on (`operon-traced`) and exporting OpenTelemetry spans (`operon-otel`):
 * they measure what tracing costs against `operon`, which runs with both off.
 */
export const defaultContenders: readonly ContenderName[] = contenderNames.filter(
  (name) =>
    name !== "metacontroller" &&
    name !== "operon-metacontroller" &&
    name !== "operon-traced" &&
    name !== "operon-otel",
);

/** What one contender did in one scenario. `null`: the figure does not apply. */
export interface ContenderResult {
  name: ContenderName;
  /** converge/churn: until converged; restart: until ready; memory: the cold converge at that N. */
  wallSeconds: number | null;
  /** The process's peak resident set (VmHWM). */
  peakRssBytes: number | null;
  /** User + system CPU of the process during the scenario. */
  cpuSeconds: number | null;
  /** POST/PUT/PATCH/APPLY/DELETE requests to the bench resources, as the API server counted them. */
  writes: number;
  /** Requests to the bench resources by `"<VERB> <resource>[/<subresource>]"` (all status codes). */
  requests: RequestCounts;
  /** The requests of `requests` the server answered with a non-2xx code. */
  failedRequests?: RequestCounts;
  /** memory: the median resident set once converged and settled. */
  steadyRssBytes?: number;
  /** Parents reconciled at once (the floor: requests in flight; 0: unbounded). */
  concurrency?: number;
  /** The framework and its version, e.g. `controller-runtime v0.24.1`. */
  version?: string;
  /** Settings changed from the contender's defaults ("defaults" when none). */
  settings?: string;
  /**
   * Requests per second to the API server (all resources, watches aside) in the seconds before
   * the contender started: the background its figures were measured over.
   */
  backgroundRequestsPerSecond?: number;
  /**
   * CPU seconds the control plane's components spent during the scenario (context: they share
   * the machine with the contender).
   */
  clusterCpuSeconds?: Record<string, number>;
  /** Set when the contender did not finish the scenario. */
  error?: string;
}

export interface ScenarioResult {
  scenario: ScenarioName;
  parents: number;
  contenders: ContenderResult[];
}
