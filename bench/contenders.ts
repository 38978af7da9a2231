/**
 * How each contender is started. Operon runs through `operon run`; the controller-runtime peer,
 * the kube-rs peer and the floor are binaries built into the cache outside the repository; the
 * client-node peer runs on the project's Node without loading Operon.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { operatorEnvironment, operatorNodeFlags } from "../src/manifests/deployment.ts";
import type { ContenderName } from "./types.ts";

/** Operon's default `concurrency` (parents synced at once; see `OperatorDeclaration`). */
export const operonDefaultConcurrency = 8;
/** controller-runtime's default `MaxConcurrentReconciles`. */
export const controllerRuntimeDefaultConcurrency = 1;
/** kube-rs's default `controller::Config::concurrency`: 0, unbounded. */
export const kubeRsDefaultConcurrency = 0;
/** The client-node peer's default: one worker drains its queue. */
export const clientNodeDefaultConcurrency = 1;

/** Parents synced at once by both Metacontroller contenders (`--workers`). */
export const metacontrollerWorkers = 16;

/** A process started before the contender and stopped after it (not measured). */
export interface Sidecar {
  command: string;
  args: string[];
  env: Record<string, string>;
  /** The line it prints once it is ready to serve. */
  readyLine: string;
  /** It prints the contender's BENCH_READY line (the Metacontroller hook server). Default true. */
  marksReady?: boolean;
}

export interface LaunchPlan {
  command: string;
  args: string[];
  env: Record<string, string>;
  /** Parents reconciled at once; 0 for unbounded. */
  concurrency: number;
  /** The framework and its version. */
  version: string;
  /** What differs from the contender's defaults. */
  settings: string;
  /** The hook server of the Metacontroller contenders; it prints their BENCH_READY line. */
  sidecar?: Sidecar;
}

export interface LaunchContext {
  repoRoot: string;
  kubeconfig: string;
  nodePath: string;
  /** Flags `operon run` takes to switch off its HTTP listeners (when it has them). */
  operonExtraFlags: readonly string[];
  /** Extra Node flags for the Operon processes (profiling). */
  operonNodeFlags?: readonly string[];
  controllerRuntimeBinary?: string;
  kubeRsBinary?: string;
  /** Operon's JavaScript build and the benchmark's operator module beside it. */
  operonBuild?: { cli: string; operatorModule: string };
  metacontrollerBinary?: string;
  /** Where the OTLP sink listens, for `operon-otel` (`host:port`). */
  otlpSinkAddress?: string;
  /** The benchmark's sync hook server and where it listens (the CompositeController's URL). */
  hookBinary?: string;
  hookAddress?: string;
  /** Parents to report BENCH_READY after (restart scenario). */
  expectParents?: number;
}

const versions = new Map<string, string>();

/** The version of a dependency, read from the file that pins it. */
export function pinnedVersion(
  repoRoot: string,
  what: "operon" | "controller-runtime" | "kube" | "client-node",
): string {
  const cached = versions.get(what);
  if (cached) return cached;
  let found = "?";
  try {
    switch (what) {
      case "operon":
        found = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")).version;
        break;
      case "controller-runtime":
        found =
          /sigs\.k8s\.io\/controller-runtime (v\S+)/.exec(
            readFileSync(join(repoRoot, "bench/peers/controller-runtime/go.mod"), "utf8"),
          )?.[1] ?? "?";
        break;
      case "kube":
        found =
          /name = "kube"\nversion = "([^"]+)"/.exec(
            readFileSync(join(repoRoot, "bench/peers/kube-rs/Cargo.lock"), "utf8"),
          )?.[1] ?? "?";
        break;
      case "client-node":
        found = JSON.parse(
          readFileSync(join(repoRoot, "node_modules/@kubernetes/client-node/package.json"), "utf8"),
        ).version;
        break;
    }
  } catch {
    // unknown: reported as "?"
  }
  versions.set(what, found);
  return found;
}

function otlpSink(context: LaunchContext): string {
  if (!context.otlpSinkAddress) throw new Error("operon-otel needs the OTLP sink's address");
  return context.otlpSinkAddress;
}

/** The command line of an operator contender (not the floor, which runs per job). */
export function launchPlan(
  name: Exclude<ContenderName, "floor">,
  context: LaunchContext,
): LaunchPlan {
  const expect: Record<string, string> = context.expectParents
    ? { BENCH_EXPECT_PARENTS: String(context.expectParents) }
    : {};
  const matched = name.endsWith("-matched");
  switch (name) {
    case "operon":
    case "operon-matched":
    case "operon-traced":
    case "operon-otel": {
      const concurrency = matched ? controllerRuntimeDefaultConcurrency : operonDefaultConcurrency;
      if (!context.operonBuild) throw new Error("Operon is not built");
      return {
        command: context.nodePath,
        args: [
          // As the image `operon generate` writes runs it: Operon's JavaScript build, the
          // operator's own module in TypeScript.
          ...operatorNodeFlags,
          ...(context.operonNodeFlags ?? []),
          context.operonBuild.cli,
          "run",
          context.operonBuild.operatorModule,
          "--kubeconfig",
          context.kubeconfig,
          "--log-format",
          "json",
          ...context.operonExtraFlags,
          ...(name === "operon-traced" ? ["--trace", "--trace-bind-address", "127.0.0.1:0"] : []),
        ],
        env: {
          // As the image runs it; and not the npm scripts' `--conditions=operon-source`, which
          // would load Operon's TypeScript sources beside its build.
          NODE_OPTIONS: "",
          ...operatorEnvironment,
          ...expect,
          ...(matched ? { BENCH_CONCURRENCY: String(concurrency) } : {}),
          ...(name === "operon-otel"
            ? {
                OTEL_EXPORTER_OTLP_ENDPOINT: `http://${otlpSink(context)}`,
                OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
                OTEL_SERVICE_NAME: "bench",
              }
            : {}),
        },
        ...(name === "operon-otel"
          ? {
              sidecar: {
                command: context.nodePath,
                args: ["bench/otlp-sink.ts", otlpSink(context)],
                env: { NODE_OPTIONS: "" },
                readyLine: "OTLP_SINK_READY",
                marksReady: false,
              },
            }
          : {}),
        concurrency,
        version: `kube-operon ${pinnedVersion(context.repoRoot, "operon")} (this tree, built)`,
        settings: [
          `node ${[...operatorNodeFlags, ...(context.operonNodeFlags ?? [])].join(" ")} and ${Object.entries(
            operatorEnvironment,
          )
            .map(([name, value]) => `${name}=${value}`)
            .join(" ")} (as the image runs it)`,
          "--log-format json",
          ...(matched ? [`concurrency ${concurrency} (controller-runtime's default)`] : []),
          ...(name === "operon-traced"
            ? ["--trace (the reconcile trace kept, its viewer on 127.0.0.1)"]
            : []),
          ...(name === "operon-otel"
            ? [
                "OTEL_EXPORTER_OTLP_ENDPOINT set: a span per reconcile and write, OTLP/protobuf to a sink",
              ]
            : []),
        ].join("; "),
      };
    }
    case "controller-runtime":
    case "controller-runtime-matched": {
      if (!context.controllerRuntimeBinary)
        throw new Error("the controller-runtime peer is not built");
      return {
        command: context.controllerRuntimeBinary,
        args: [],
        env: {
          KUBECONFIG: context.kubeconfig,
          ...expect,
          // Matched: Operon's concurrency and Operon's client limits (no client-side rate limit,
          // which is also controller-runtime's default: QPS -1).
          ...(matched
            ? {
                BENCH_CONCURRENCY: String(operonDefaultConcurrency),
                BENCH_QPS: "-1",
                BENCH_BURST: "0",
              }
            : {}),
        },
        concurrency: matched ? operonDefaultConcurrency : controllerRuntimeDefaultConcurrency,
        version: `controller-runtime ${pinnedVersion(context.repoRoot, "controller-runtime")}`,
        settings: matched
          ? `MaxConcurrentReconciles ${operonDefaultConcurrency}; QPS -1 (no client-side limit, as its default)`
          : "defaults",
      };
    }
    case "metacontroller":
    case "operon-metacontroller": {
      if (!context.hookBinary || !context.hookAddress)
        throw new Error("the benchmark's hook server is not built");
      // The same hook server for both, started first; it tells when every parent was synced.
      const sidecar: Sidecar = {
        command: context.hookBinary,
        args: [],
        env: { BENCH_HOOK_ADDR: context.hookAddress, ...expect },
        readyLine: "BENCH_HOOK_LISTENING",
      };
      if (name === "metacontroller") {
        if (!context.metacontrollerBinary) throw new Error("Metacontroller is not built");
        return {
          command: context.metacontrollerBinary,
          // Matched: Operon's worker count, no client-side rate limit (the default is 5 workers
          // at 5 requests/s, which alone takes 10 minutes per 1,000 parents); its default apply
          // strategy (client-side dynamic apply).
          args: [
            `--workers=${metacontrollerWorkers}`,
            "--client-go-qps=-1",
            "--metrics-address=0",
            "--health-probe-bind-address=0",
            "--zap-log-level=info",
          ],
          env: { KUBECONFIG: context.kubeconfig },
          concurrency: metacontrollerWorkers,
          version: "metacontroller (built from its source, commit of the tarball)",
          settings: `--workers=${metacontrollerWorkers} --client-go-qps=-1 (defaults: 5 workers, 5 requests/s)`,
          sidecar,
        };
      }
      if (!context.operonBuild) throw new Error("Operon is not built");
      return {
        command: context.nodePath,
        args: [
          ...operatorNodeFlags,
          ...(context.operonNodeFlags ?? []),
          context.operonBuild.cli,
          "metacontroller",
          "run",
          "--kubeconfig",
          context.kubeconfig,
          `--workers=${metacontrollerWorkers}`,
          "--log-format",
          "json",
          "--metrics-bind-address",
          "0",
          "--health-probe-bind-address",
          "0",
        ],
        env: { NODE_OPTIONS: "", ...operatorEnvironment },
        concurrency: metacontrollerWorkers,
        version: `kube-operon ${pinnedVersion(context.repoRoot, "operon")} (this tree, built)`,
        settings: `operon metacontroller run --workers=${metacontrollerWorkers}; node ${operatorNodeFlags.join(" ")} (as the image runs it)`,
        sidecar,
      };
    }
    case "kube-rs":
    case "kube-rs-matched": {
      if (!context.kubeRsBinary) throw new Error("the kube-rs peer is not built");
      return {
        command: context.kubeRsBinary,
        args: [],
        env: {
          KUBECONFIG: context.kubeconfig,
          ...expect,
          ...(matched ? { BENCH_CONCURRENCY: String(operonDefaultConcurrency) } : {}),
        },
        concurrency: matched ? operonDefaultConcurrency : kubeRsDefaultConcurrency,
        version: `kube ${pinnedVersion(context.repoRoot, "kube")}`,
        settings: matched
          ? `controller::Config::concurrency(${operonDefaultConcurrency})`
          : "defaults (concurrency unbounded)",
      };
    }
    case "client-node":
    case "client-node-matched": {
      return {
        command: context.nodePath,
        args: ["bench/peers/client-node/operator.ts"],
        env: {
          KUBECONFIG: context.kubeconfig,
          ...expect,
          ...(matched ? { BENCH_CONCURRENCY: String(operonDefaultConcurrency) } : {}),
        },
        concurrency: matched ? operonDefaultConcurrency : clientNodeDefaultConcurrency,
        version: `@kubernetes/client-node ${pinnedVersion(context.repoRoot, "client-node")}`,
        settings: matched
          ? `${operonDefaultConcurrency} queue workers; Node's defaults`
          : "1 queue worker; Node's defaults",
      };
    }
  }
}
