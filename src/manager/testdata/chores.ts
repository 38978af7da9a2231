/**
 * A test operator for the manager's tests, in-process and as `operon run` child processes: a
 * `Chore` becomes a ConfigMap holding its value, and its status says which replica wrote it.
 * Each sync may take a while (`delayMs`), fail, hang, or ask to run again; every sync start and
 * end is appended to a trace file, so tests can tell which replica worked when.
 *
 * As a module for `operon run`, it is configured through the environment:
 * `CHORES_NAMESPACE` (required), `CHORES_OPERATOR`, `CHORES_REPLICA`, `CHORES_TRACE`,
 * `CHORES_DELAY_MS`, `CHORES_CONCURRENCY`, `CHORES_REQUEUE_MS`, `CHORES_STAMP`.
 */
import { appendFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { defineOperator } from "../../operator/declaration.ts";
import { ConfigMap } from "../../resources/core.ts";
import { defineResource } from "../../resources/define.ts";
import { K8s, Type } from "../../resources/index.ts";

export const Chore = defineResource({
  group: "manager.test.operon.dev",
  version: "v1",
  kind: "Chore",
  plural: "chores",
  scope: "Namespaced",
  spec: Type.Object({
    value: Type.String(),
    /** How long each sync takes. */
    delayMs: Type.Optional(Type.Integer()),
    /** Every sync throws. */
    fail: Type.Optional(Type.Boolean()),
    /** Every sync waits until it is aborted. */
    hang: Type.Optional(Type.Boolean()),
    requeueAfterMs: Type.Optional(Type.Integer()),
  }),
  status: K8s.Status({
    value: Type.Optional(Type.String()),
    writer: Type.Optional(Type.String()),
    tick: Type.Optional(Type.Integer()),
  }),
});

/** One line of a trace file. */
export interface TraceLine {
  /** Replica. */
  r: string;
  e: "start" | "end" | "aborted" | "failed";
  /** Parent key. */
  k: string;
  /** Epoch ms. */
  t: number;
}

export interface ChoreOptions {
  name?: string;
  namespace: string;
  /** Written to `status.writer` and the trace. */
  replica?: string;
  /** Trace file to append to. */
  trace?: string;
  /** Overrides every Chore's `spec.delayMs`. */
  delayMs?: number;
  concurrency?: number;
  /** Overrides every Chore's `spec.requeueAfterMs`. */
  requeueAfterMs?: number;
  /** Write `status.tick` on every sync, so every sync writes to the API server. */
  stamp?: boolean;
}

/** The Chore operator. */
export function choreOperator(options: ChoreOptions) {
  const replica = options.replica ?? "test";
  const trace = (e: TraceLine["e"], k: string) => {
    if (options.trace)
      appendFileSync(options.trace, `${JSON.stringify({ r: replica, e, k, t: Date.now() })}\n`);
  };
  return defineOperator({
    name: options.name ?? "chores",
    parent: Chore,
    namespace: options.namespace,
    concurrency: options.concurrency ?? 8,
    children: { configMaps: ConfigMap },
    async sync({ parent, signal }) {
      const key = `${parent.metadata.namespace}/${parent.metadata.name}`;
      trace("start", key);
      const delayMs = options.delayMs ?? parent.spec.delayMs ?? 0;
      try {
        if (parent.spec.hang)
          await new Promise((_, reject) =>
            signal.addEventListener("abort", () => reject(signal.reason)),
          );
        if (delayMs > 0) await sleep(delayMs, undefined, { signal });
      } catch (error) {
        trace("aborted", key);
        throw error;
      }
      if (parent.spec.fail) {
        trace("failed", key);
        throw new Error("this chore fails on purpose");
      }
      trace("end", key);
      const requeueAfterMs = options.requeueAfterMs ?? parent.spec.requeueAfterMs;
      return {
        status: {
          value: parent.spec.value,
          writer: replica,
          ...(options.stamp ? { tick: Date.now() } : {}),
        },
        children: [
          {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: parent.metadata.name! },
            data: { value: parent.spec.value },
          },
        ],
        ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}),
      };
    },
  });
}

function envNumber(name: string): number | undefined {
  const value = process.env[name];
  return value ? Number(value) : undefined;
}

const env = process.env;
export default env.CHORES_NAMESPACE
  ? choreOperator({
      namespace: env.CHORES_NAMESPACE,
      ...(env.CHORES_OPERATOR ? { name: env.CHORES_OPERATOR } : {}),
      ...(env.CHORES_REPLICA ? { replica: env.CHORES_REPLICA } : {}),
      ...(env.CHORES_TRACE ? { trace: env.CHORES_TRACE } : {}),
      ...(envNumber("CHORES_DELAY_MS") !== undefined
        ? { delayMs: envNumber("CHORES_DELAY_MS") }
        : {}),
      ...(envNumber("CHORES_CONCURRENCY") !== undefined
        ? { concurrency: envNumber("CHORES_CONCURRENCY") }
        : {}),
      ...(envNumber("CHORES_REQUEUE_MS") !== undefined
        ? { requeueAfterMs: envNumber("CHORES_REQUEUE_MS") }
        : {}),
      stamp: env.CHORES_STAMP === "1",
    })
  : undefined;
