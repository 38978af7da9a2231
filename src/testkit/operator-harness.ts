/**
 * Running operators in tests: in-process against the local control plane, with the sync outcomes
 * and errors of each parent at hand, API writes counted, and waits that poll until the cluster
 * reaches a state.
 */

import { KubeClient } from "../client/client.ts";
import { isNotFound } from "../client/errors.ts";
import type { RequestMetric } from "../client/request.ts";
import { silentLogger } from "../logger.ts";
import { Manager, type TraceOptions } from "../manager/manager.ts";
import type { Operator } from "../operator/declaration.ts";
import type { SyncOutcome } from "../operator/reconciler.ts";
import type { KubeObject, ResourceType } from "../resources/object.ts";
import type { ControlPlane } from "./control-plane.ts";

/** Options of {@link runOperator}. */
export interface RunOperatorOptions {
  /** The control plane; default: `testControlPlane()`. */
  plane?: ControlPlane;
  /** Kubeconfig to run the operator with (e.g. a restricted ServiceAccount's); default: admin. */
  kubeconfigPath?: string;
  /** Log sync details to stderr (or set OPERON_TEST_LOG=1). */
  log?: boolean;
  /**
   * Run the operators in this namespace only (their parents and children), as their declared
   * `namespace` would: give each test its own namespace and one test's parents do not keep
   * syncing during the next. An operator that declares another namespace is refused.
   */
  namespace?: string;
  /**
   * The time `sync` sees as `request.now`: a fixed date, or a function read on every sync (to
   * move time forward during a test). Default: the system clock.
   */
  now?: Date | (() => Date);
  /** Keep the reconcile trace (`harness.manager.trace`), and serve it with a `bindAddress`. */
  trace?: boolean | TraceOptions;
}

/** A write request the operator made. */
export interface RecordedWrite {
  verb: string;
  resource: string;
  subresource: string;
  code: number;
}

const writeVerbs = new Set(["create", "update", "patch", "apply", "delete", "deletecollection"]);

/** An operator running in this process; see {@link runOperator}. */
export interface OperatorHarness {
  readonly manager: Manager;
  /** The client the operator uses (its requests are counted). */
  readonly client: KubeClient;
  /** Every sync outcome so far for a parent key (`namespace/name`). */
  outcomes(key: string): SyncOutcome[];
  /** The errors of a parent's syncs so far. */
  errors(key: string): Error[];
  /** Write requests the operator made since the start or the last `resetWrites()`. */
  writes(): RecordedWrite[];
  resetWrites(): void;
  /**
   * Queues a parent key for a sync now (reason `manual`), e.g. after moving `now` forward.
   * `operator`: its name, when several run; default: every operator run.
   */
  enqueue(key: string, operator?: string): void;
  stop(): Promise<void>;
}

/** The operators to run, each limited to `namespace` when one is given. */
function scoped(operators: Operator[], namespace: string | undefined): Operator[] {
  if (namespace === undefined) return operators;
  return operators.map((operator) => {
    if (operator.namespace !== undefined && operator.namespace !== namespace) {
      throw new Error(
        `runOperator: operator "${operator.name}" declares namespace "${operator.namespace}", not "${namespace}"`,
      );
    }
    return { ...operator, namespace };
  });
}

/**
 * Starts operators in-process and resolves once their caches are synced.
 *
 * @example
 * const plane = await testControlPlane();
 * const namespace = await plane.createNamespace();
 * const harness = await runOperator(echoOperator, { plane, namespace });
 * // create parents with plane's kubeconfig, then:
 * await eventually(() => harness.client.get(Service, "echo", { namespace }));
 * await harness.stop();
 */
export async function runOperator(
  operators: Operator | Operator[],
  options: RunOperatorOptions = {},
): Promise<OperatorHarness> {
  const list = scoped(Array.isArray(operators) ? operators : [operators], options.namespace);
  const plane = options.plane ?? (await (await import("./shared.ts")).testControlPlane());
  const recorded: RecordedWrite[] = [];
  const client = await KubeClient.fromKubeConfig({
    kubeconfig: options.kubeconfigPath ?? plane.kubeconfigPath,
    metrics: {
      request(metric: RequestMetric) {
        if (writeVerbs.has(metric.verb)) {
          recorded.push({
            verb: metric.verb,
            resource: metric.resource,
            subresource: metric.subresource,
            code: metric.code,
          });
        }
      },
    },
  });
  const outcomes = new Map<string, SyncOutcome[]>();
  const log = options.log ?? process.env.OPERON_TEST_LOG === "1";
  const now = options.now;
  const manager = new Manager({
    client,
    ...(log ? {} : { logger: silentLogger }),
    ...(now === undefined
      ? {}
      : { clock: typeof now === "function" ? now : () => new Date(now.getTime()) }),
    // One process per test: its operator runs unsharded, whatever it declares.
    sharding: false,
    gracefulShutdownMs: 10_000,
    ...(options.trace ? { trace: options.trace } : {}),
    onOutcome: (operator, key, outcome) => {
      const id = `${key}`;
      const list = outcomes.get(id) ?? [];
      list.push(outcome);
      outcomes.set(id, list);
      if (log && outcome.error)
        process.stderr.write(`[${operator}] ${key}: ${outcome.error.message}\n`);
    },
  });
  manager.add(...list);
  await manager.start();
  return {
    manager,
    client,
    outcomes: (key) => outcomes.get(key) ?? [],
    errors: (key) =>
      (outcomes.get(key) ?? []).flatMap((outcome) => (outcome.error ? [outcome.error] : [])),
    writes: () => [...recorded],
    resetWrites: () => {
      recorded.length = 0;
    },
    enqueue: (key, name) => {
      for (const operator of list) {
        if (name === undefined || operator.name === name)
          manager.runtime(operator.name)?.enqueue(key);
      }
    },
    stop: async () => {
      await manager.stop();
      await client.close();
    },
  };
}

/**
 * Polls `check` until it returns something other than `undefined`/`false` (or stops throwing),
 * and returns that. Fails with the last error or `message` after `timeoutMs` (default 60 s).
 *
 * @example
 * const service = await eventually(() => client.get(Service, "web", { namespace }));
 * await eventually(async () => (await client.get(MyApp, "a", { namespace })).status?.ready === true);
 */
export async function eventually<T>(
  check: () => T | Promise<T>,
  options: { timeoutMs?: number; intervalMs?: number; message?: string } = {},
): Promise<Exclude<T, undefined | false>> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value as Exclude<T, undefined | false>;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? `: ${lastError.message}` : "";
      throw new Error(
        `${options.message ?? "condition not reached"} within ${options.timeoutMs ?? 60_000} ms${detail}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 100));
  }
}

/** Reads an object, or `undefined` when it does not exist. */
export async function getOrUndefined<T extends KubeObject>(
  client: KubeClient,
  type: ResourceType<T>,
  name: string,
  namespace?: string,
): Promise<T | undefined> {
  try {
    return await client.get(type, name, namespace ? { namespace } : {});
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}
