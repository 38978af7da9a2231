/**
 * `operon dev`'s child process (a hidden command): loads the module fresh, tells the parent its
 * operators and CRDs, waits to be told to start, then runs the operators with the trace on and
 * sends each reconcile's record to the parent. Each source change gets a new child, so the
 * module is imported anew; the parent keeps the cluster, the trace and the viewer.
 *
 * Messages to the parent: `loaded` (operators, CRD manifests), `load-failed`, `started`,
 * `start-failed`, `record`, `stopped`. From the parent: `start`, `stop`.
 */

import { customTypesOf } from "../manager/install.ts";
import { createLogger, parseLogLevel } from "../manager/logging.ts";
import { Manager } from "../manager/manager.ts";
import { customResourceDefinition } from "../manifests/crd.ts";
import type { CustomResourceType } from "../resources/define.ts";
import type { Command } from "./command.ts";
import { kubeFlags, kubeOptions } from "./kube-options.ts";
import { loadModule } from "./load-module.ts";

/** A message from the worker to `operon dev`. */
export type WorkerMessage =
  | {
      type: "loaded";
      operators: { name: string; apiVersion: string; kind: string }[];
      crds: unknown[];
    }
  | { type: "ready" }
  | { type: "load-failed"; message: string }
  | { type: "started" }
  | { type: "start-failed"; message: string }
  | { type: "record"; record: unknown }
  | { type: "stopped" };

/** A message from `operon dev` to the worker. */
export type ParentMessage = { type: "load"; module: string } | { type: "start" } | { type: "stop" };

function send(message: WorkerMessage): void {
  process.send?.(message);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export const devWorker: Command = {
  path: ["dev-worker"],
  summary: "Runs a module's operators for operon dev (internal)",
  hidden: true,
  options: {
    ...kubeOptions,
    "log-level": { type: "string", description: "The operators' log level", default: "error" },
  },
  async run({ values, positionals }) {
    if (!process.send) throw new Error("dev-worker is run by operon dev");
    // Ctrl-C (and a kill of the group) reaches every process of the group: the parent decides
    // when to stop, and a worker whose parent is gone stops on the IPC channel's disconnect.
    process.on("SIGINT", () => {});
    process.on("SIGTERM", () => {});
    let manager: Manager | undefined;
    const stop = async (code: number) => {
      await manager?.stop().catch(() => {});
      send({ type: "stopped" });
      process.disconnect?.();
      process.exit(code);
    };
    // The parent went away without a word: do not outlive it.
    process.on("disconnect", () => void stop(0));
    // Started ahead of need: Operon's own modules load now, so that when a change comes only
    // the user's module is left to load.
    // By package name, as the user's module imports it (the same files, then cached).
    const packageName = "kube-operon";
    await import(packageName).catch(() => {});
    const path =
      positionals[0] ??
      (await new Promise<string>((resolve) => {
        const onLoad = (message: ParentMessage) => {
          if (message.type !== "load") return;
          process.off("message", onLoad);
          resolve(message.module);
        };
        process.on("message", onLoad);
        send({ type: "ready" });
      }));
    let module: Awaited<ReturnType<typeof loadModule>>;
    try {
      module = await loadModule(path, "dev");
      if (module.operators.length === 0) {
        throw new Error(`${path} exports no operator (defineOperator)`);
      }
    } catch (error) {
      send({ type: "load-failed", message: messageOf(error) });
      process.disconnect?.();
      return 1;
    }
    const types = new Map<string, CustomResourceType>();
    for (const type of [...customTypesOf(module.operators), ...module.kinds]) {
      types.set(`${type.plural}.${type.group}`, type);
    }
    send({
      type: "loaded",
      operators: module.operators.map((operator) => ({
        name: operator.name,
        apiVersion: operator.parent.apiVersion,
        kind: operator.parent.kind,
      })),
      crds: [...types.values()].map((type) => customResourceDefinition(type)),
    });
    const level = typeof values["log-level"] === "string" ? values["log-level"] : "error";
    process.on("message", (message: ParentMessage) => {
      if (message.type === "stop") {
        void stop(0);
        return;
      }
      if (message.type !== "start" || manager) return;
      manager = new Manager({
        ...kubeFlags(values),
        logger: createLogger({ level: parseLogLevel(level) }),
        trace: true,
        // One process restarted on every save: a shard member (and its handovers) would only slow it.
        sharding: false,
        gracefulShutdownMs: 5_000,
      }).add(...module.operators);
      manager.trace!.subscribe((record) => send({ type: "record", record }));
      manager.start().then(
        () => send({ type: "started" }),
        (error: unknown) => {
          send({ type: "start-failed", message: messageOf(error) });
          void stop(1);
        },
      );
    });
    // Keeps the process alive until told to stop.
    await new Promise(() => {});
    return 0;
  },
};
