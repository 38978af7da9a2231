/**
 * `operon cluster up|down|status|kubeconfig`: the local control plane as a background service for
 * trying operators by hand with kubectl.
 */
import { spawn } from "node:child_process";
import { existsSync, openSync } from "node:fs";
import { mkdir, readFile, rm } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { type ControlPlaneState, startControlPlane, waitFor } from "../testkit/control-plane.ts";
import type { Command } from "./command.ts";

/** Where the background cluster keeps its data, logs and kubeconfig. */
export function clusterDir(): string {
  const base =
    process.env.OPERON_CACHE_DIR ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "operon");
  return join(base, "cluster");
}

const stateFile = () => join(clusterDir(), "state.json");
const daemonPidFile = () => join(clusterDir(), "daemon.pid");

async function readState(): Promise<ControlPlaneState | undefined> {
  try {
    return JSON.parse(await readFile(stateFile(), "utf8")) as ControlPlaneState;
  } catch {
    return undefined;
  }
}

async function daemonPid(): Promise<number | undefined> {
  const pid = Number.parseInt(await readFile(daemonPidFile(), "utf8").catch(() => ""), 10);
  if (!Number.isFinite(pid)) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

export const clusterUp: Command = {
  path: ["cluster", "up"],
  summary: "Start the local control plane in the background",
  description:
    "Starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and simulated nodes on\n" +
    "127.0.0.1 in the background (building the binaries on first use) and prints the admin\n" +
    "kubeconfig path as the last line, so `export KUBECONFIG=$(operon cluster up | tail -1)` works.",
  options: {
    nodes: { type: "string", description: "Simulated nodes", default: "2" },
  },
  async run({ values, stdout, stderr }) {
    const running = await daemonPid();
    const existing = await readState();
    if (running && existing) {
      stderr.write(
        `operon: the local cluster is already running (pid ${running}) at ${existing.server}\n`,
      );
      stdout.write(`${existing.kubeconfigPath}\n`);
      return 0;
    }
    const dir = clusterDir();
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const logPath = join(dir, "daemon.log");
    const log = openSync(logPath, "a");
    // The daemon is this same CLI in `cluster serve` mode, detached so it outlives this command.
    const daemon = spawn(
      process.execPath,
      [
        ...process.execArgv,
        process.argv[1]!,
        "cluster",
        "serve",
        "--nodes",
        String(values.nodes ?? "2"),
      ],
      { detached: true, stdio: ["ignore", log, log], env: process.env },
    );
    daemon.unref();
    let exited = false;
    daemon.on("exit", () => {
      exited = true;
    });
    stderr.write(`operon: starting the local control plane (pid ${daemon.pid}); log: ${logPath}\n`);
    await waitFor(
      async () => {
        if (exited) {
          const tail = (await readFile(logPath, "utf8").catch(() => ""))
            .trimEnd()
            .split("\n")
            .slice(-20);
          throw new Error(`the control plane failed to start:\n${tail.join("\n")}`);
        }
        return existsSync(stateFile());
      },
      45 * 60_000, // the first run builds the binaries
      async () => new Error(`the control plane did not start; see ${logPath}`),
    );
    const state = (await readState())!;
    stderr.write(`operon: ready at ${state.server}\n`);
    stdout.write(`${state.kubeconfigPath}\n`);
    return 0;
  },
};

export const clusterServe: Command = {
  path: ["cluster", "serve"],
  summary: "Run the local control plane in the foreground (used by `cluster up`)",
  options: {
    nodes: { type: "string", description: "Simulated nodes", default: "2" },
  },
  async run({ values }) {
    const dir = clusterDir();
    await mkdir(dir, { recursive: true });
    const { writeFile } = await import("node:fs/promises");
    await writeFile(daemonPidFile(), String(process.pid));
    const plane = await startControlPlane({
      dir,
      removeDirOnStop: false,
      nodes: Number(values.nodes ?? 2),
    });
    // Signal listeners alone do not keep Node's event loop alive; the timer does.
    const keepAlive = setInterval(() => {}, 60_000);
    await new Promise<void>((resolve) => {
      process.once("SIGTERM", () => resolve());
      process.once("SIGINT", () => resolve());
    });
    clearInterval(keepAlive);
    await rm(stateFile(), { force: true });
    await plane.stop();
    await rm(dir, { recursive: true, force: true });
    return 0;
  },
};

export const clusterDown: Command = {
  path: ["cluster", "down"],
  summary: "Stop the local control plane and delete its data",
  async run({ stderr }) {
    const pid = await daemonPid();
    if (!pid) {
      await rm(clusterDir(), { recursive: true, force: true });
      stderr.write("operon: the local cluster is not running\n");
      return 0;
    }
    process.kill(pid, "SIGTERM");
    await waitFor(
      async () => (await daemonPid()) === undefined,
      60_000,
      async () => new Error(`the cluster daemon (pid ${pid}) did not stop within 60 s`),
    );
    stderr.write("operon: the local cluster is stopped\n");
    return 0;
  },
};

export const clusterStatus: Command = {
  path: ["cluster", "status"],
  summary: "Show whether the local control plane runs, where, and its components",
  options: {
    output: {
      type: "string",
      short: "o",
      description: "Output format: text or json",
      default: "text",
    },
  },
  async run({ values, stdout }) {
    const pid = await daemonPid();
    const state = pid ? await readState() : undefined;
    if (values.output === "json") {
      stdout.write(`${JSON.stringify({ running: Boolean(state), pid, ...state }, null, 2)}\n`);
      return state ? 0 : 1;
    }
    if (!state) {
      stdout.write(
        pid ? `starting (pid ${pid})\n` : "not running (start it with `operon cluster up`)\n",
      );
      return pid ? 0 : 1;
    }
    stdout.write(`running (pid ${pid})\n`);
    stdout.write(`server:     ${state.server}\n`);
    stdout.write(`kubeconfig: ${state.kubeconfigPath}\n`);
    stdout.write(
      `versions:   Kubernetes v${state.versions.kubernetes}, etcd v${state.versions.etcd}, kwok v${state.versions.kwok}\n`,
    );
    for (const [name, componentPid] of Object.entries(state.pids)) {
      stdout.write(`  ${name.padEnd(24)} pid ${componentPid}\n`);
    }
    return 0;
  },
};

export const clusterKubeconfig: Command = {
  path: ["cluster", "kubeconfig"],
  summary: "Print the local control plane's admin kubeconfig path",
  async run({ stdout, stderr }) {
    const state = (await daemonPid()) ? await readState() : undefined;
    if (!state) {
      stderr.write("operon: the local cluster is not running; start it with `operon cluster up`\n");
      return 1;
    }
    stdout.write(`${state.kubeconfigPath}\n`);
    return 0;
  },
};
