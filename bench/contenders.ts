/**
 * How each contender is started. Operon runs through `operon run`, the controller-runtime peer and
 * the floor are Go binaries built into the cache outside the repository.
 */
import { operatorNodeFlags } from "../src/manifests/deployment.ts";
import type { ContenderName } from "./types.ts";

/** Operon's default `concurrency` (parents synced at once; see `OperatorDeclaration`). */
export const operonDefaultConcurrency = 8;
/** controller-runtime's default `MaxConcurrentReconciles`. */
export const controllerRuntimeDefaultConcurrency = 1;

export interface LaunchPlan {
  command: string;
  args: string[];
  env: Record<string, string>;
  concurrency: number;
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
  /** Parents to report BENCH_READY after (restart scenario). */
  expectParents?: number;
}

/** The command line of an operator contender (not the floor, which runs per job). */
export function launchPlan(
  name: Exclude<ContenderName, "floor">,
  context: LaunchContext,
): LaunchPlan {
  const expect: Record<string, string> = context.expectParents
    ? { BENCH_EXPECT_PARENTS: String(context.expectParents) }
    : {};
  switch (name) {
    case "operon":
    case "operon-matched": {
      const concurrency =
        name === "operon" ? operonDefaultConcurrency : controllerRuntimeDefaultConcurrency;
      return {
        command: context.nodePath,
        args: [
          // As the image `operon generate` writes runs it.
          ...operatorNodeFlags,
          ...(context.operonNodeFlags ?? []),
          "--conditions=operon-source",
          "src/cli/main.ts",
          "run",
          "bench/operon-operator.ts",
          "--kubeconfig",
          context.kubeconfig,
          "--log-format",
          "json",
          ...context.operonExtraFlags,
        ],
        env: {
          ...expect,
          ...(name === "operon-matched" ? { BENCH_CONCURRENCY: String(concurrency) } : {}),
        },
        concurrency,
      };
    }
    case "controller-runtime":
    case "controller-runtime-matched": {
      if (!context.controllerRuntimeBinary)
        throw new Error("the controller-runtime peer is not built");
      const matched = name === "controller-runtime-matched";
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
      };
    }
  }
}
