/**
 * `operon cluster up|down|status|kubeconfig`: local control planes as background services for
 * trying operators by hand with kubectl. Each has a name (`--name`; default: the nearest
 * package.json's name, else `default`), so two projects, or a user and a test run, do not share
 * one by accident, and one's `down` does not stop the other's.
 */
import { spawn } from "node:child_process";
import { existsSync, openSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { type ControlPlaneState, startControlPlane, waitFor } from "../testkit/control-plane.ts";
import { type Command, type Options, UsageError } from "./command.ts";

/** Where the background clusters keep their data, logs and kubeconfigs, one folder each. */
export function clustersDir(): string {
  const base =
    process.env.OPERON_CACHE_DIR ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "operon");
  return join(base, "clusters");
}

/** The folder of one named cluster. */
export function clusterDir(name: string): string {
  return join(clustersDir(), name);
}

const namePattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A cluster name from a package name: `@acme/My.Operator` → `acme-my-operator`. */
export function clusterNameOf(packageName: string): string | undefined {
  const name = packageName
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 50)
    .replace(/-+$/, "");
  return name === "" ? undefined : name;
}

/** The default cluster name: the nearest package.json's `name` above `from`, else `default`. */
export async function defaultClusterName(from = process.cwd()): Promise<string> {
  let dir = resolve(from);
  for (;;) {
    const file = join(dir, "package.json");
    if (existsSync(file)) {
      try {
        const { name } = JSON.parse(await readFile(file, "utf8")) as { name?: unknown };
        if (typeof name === "string") return clusterNameOf(name) ?? "default";
      } catch {
        // An unreadable package.json names nothing; look further up.
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return "default";
    dir = parent;
  }
}

const nameOption = {
  name: {
    type: "string",
    description:
      "The cluster's name (default: the nearest package.json's name, else default); lowercase letters, digits and '-'",
  },
} satisfies Options;

async function nameOf(values: Record<string, unknown>): Promise<string> {
  const given = values.name;
  if (typeof given !== "string") return defaultClusterName();
  if (!namePattern.test(given) || given.length > 50) {
    throw new UsageError(
      `--name "${given}" must be lowercase letters, digits and '-' (at most 50), e.g. --name my-operator`,
    );
  }
  return given;
}

async function readState(name: string): Promise<ControlPlaneState | undefined> {
  try {
    return JSON.parse(
      await readFile(join(clusterDir(name), "state.json"), "utf8"),
    ) as ControlPlaneState;
  } catch {
    return undefined;
  }
}

async function daemonPid(name: string): Promise<number | undefined> {
  const text = await readFile(join(clusterDir(name), "daemon.pid"), "utf8").catch(() => "");
  const pid = Number.parseInt(text, 10);
  if (!Number.isFinite(pid)) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** One cluster as `status` lists it. */
export interface ClusterSummary {
  name: string;
  state: "running" | "starting" | "stopped";
  pid?: number;
  server?: string;
  kubeconfigPath?: string;
}

async function summary(name: string): Promise<ClusterSummary> {
  const pid = await daemonPid(name);
  const state = pid ? await readState(name) : undefined;
  if (!pid) return { name, state: "stopped" };
  if (!state) return { name, state: "starting", pid };
  return {
    name,
    state: "running",
    pid,
    server: state.server,
    kubeconfigPath: state.kubeconfigPath,
  };
}

/** Every cluster that has a folder, by name. */
async function allClusters(): Promise<ClusterSummary[]> {
  const entries = await readdir(clustersDir(), { withFileTypes: true }).catch(() => []);
  const names = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  return Promise.all(names.sort().map(summary));
}

/** `--name x` as the user would retype it: empty for the default name. */
async function nameFlag(name: string): Promise<string> {
  return name === (await defaultClusterName()) ? "" : ` --name ${name}`;
}

async function othersRunning(name: string): Promise<string> {
  const running = (await allClusters()).filter((c) => c.name !== name && c.state !== "stopped");
  return running.length > 0
    ? ` (running: ${running.map((c) => c.name).join(", ")}; choose one with --name)`
    : "";
}

export const clusterUp: Command = {
  path: ["cluster", "up"],
  summary: "Start a local control plane in the background, or reuse the running one",
  usage: "[--name n] [--nodes n]",
  description:
    "Starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and simulated nodes on\n" +
    "127.0.0.1 in the background (building the binaries on first use) and prints the admin\n" +
    "kubeconfig path as the last line, so `export KUBECONFIG=$(operon cluster up | tail -1)` works.\n\n" +
    "Clusters have names: --name, by default the nearest package.json's name (else `default`).\n" +
    "When the named cluster already runs, it is reused (and says so). Data, logs and the\n" +
    "kubeconfig live in ~/.cache/operon/clusters/<name>.",
  options: {
    ...nameOption,
    nodes: { type: "string", description: "Simulated nodes", default: "2" },
  },
  async run({ values, stdout, stderr }) {
    const name = await nameOf(values);
    const nodes = String(values.nodes ?? "2");
    if (!/^\d+$/.test(nodes)) {
      throw new UsageError(`--nodes must be a whole number, e.g. --nodes 2, got "${nodes}"`);
    }
    const { state } = await ensureLocalCluster(name, Number(nodes), stderr);
    stdout.write(`${state.kubeconfigPath}\n`);
    return 0;
  },
};

/**
 * The named local cluster: the running one, or one started now in the background (`started`
 * says which). Progress goes to `stderr`.
 *
 * @example
 * const { state, started } = await ensureLocalCluster("my-operator", 2, process.stderr);
 */
export async function ensureLocalCluster(
  name: string,
  nodes: number,
  stderr: NodeJS.WritableStream,
): Promise<{ state: ControlPlaneState; started: boolean }> {
  const running = await daemonPid(name);
  const existing = running ? await readState(name) : undefined;
  if (running && existing) {
    stderr.write(
      `operon: reusing the running cluster "${name}" (pid ${running}) at ${existing.server}; ` +
        `\`operon cluster down${await nameFlag(name)}\` stops it\n`,
    );
    return { state: existing, started: false };
  }
  const dir = clusterDir(name);
  if (!running) {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
  }
  const logPath = join(dir, "daemon.log");
  let exited = false;
  if (running) {
    stderr.write(`operon: the cluster "${name}" is starting (pid ${running}); waiting for it\n`);
  } else {
    const log = openSync(logPath, "a");
    // The daemon is this same CLI in `cluster serve` mode, detached so it outlives this command.
    const daemon = spawn(
      process.execPath,
      [
        ...process.execArgv,
        process.argv[1]!,
        "cluster",
        "serve",
        "--name",
        name,
        "--nodes",
        String(nodes),
      ],
      { detached: true, stdio: ["ignore", log, log], env: process.env },
    );
    daemon.unref();
    daemon.on("exit", () => {
      exited = true;
    });
    stderr.write(
      `operon: starting the local cluster "${name}" (pid ${daemon.pid}); log: ${logPath}\n`,
    );
  }
  await waitFor(
    async () => {
      if (exited) {
        const tail = (await readFile(logPath, "utf8").catch(() => ""))
          .trimEnd()
          .split("\n")
          .slice(-20);
        throw new Error(`the cluster "${name}" failed to start:\n${tail.join("\n")}`);
      }
      return (await readState(name)) !== undefined;
    },
    45 * 60_000, // the first run builds the binaries
    async () => new Error(`the cluster "${name}" did not start; see ${logPath}`),
  );
  const state = (await readState(name))!;
  stderr.write(`operon: cluster "${name}" ready at ${state.server}\n`);
  return { state, started: !running };
}

/** Stops the named local cluster (if it runs) and waits until it has. */
export async function stopLocalCluster(name: string): Promise<boolean> {
  const pid = await daemonPid(name);
  if (!pid) return false;
  process.kill(pid, "SIGTERM");
  await waitFor(
    async () => (await daemonPid(name)) === undefined,
    60_000,
    async () => new Error(`the cluster "${name}" (pid ${pid}) did not stop within 60 s`),
  );
  return true;
}

/** The `--name` option of the cluster commands, for other commands that use a local cluster. */
export const clusterNameOption = nameOption;

/** The local cluster's name from a `--name` flag, or the default one. */
export const localClusterName = nameOf;

export const clusterServe: Command = {
  path: ["cluster", "serve"],
  summary: "Run a local control plane in the foreground (used by `cluster up`)",
  options: {
    ...nameOption,
    nodes: { type: "string", description: "Simulated nodes", default: "2" },
  },
  async run({ values }) {
    const name = await nameOf(values);
    const dir = clusterDir(name);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "daemon.pid"), String(process.pid));
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
    await rm(join(dir, "state.json"), { force: true });
    await plane.stop();
    await rm(dir, { recursive: true, force: true });
    return 0;
  },
};

export const clusterDown: Command = {
  path: ["cluster", "down"],
  summary: "Stop a local control plane and delete its data",
  usage: "[--name n]",
  options: { ...nameOption },
  async run({ values, stderr }) {
    const name = await nameOf(values);
    if (!(await stopLocalCluster(name))) {
      await rm(clusterDir(name), { recursive: true, force: true });
      stderr.write(`operon: the cluster "${name}" is not running${await othersRunning(name)}\n`);
      return 0;
    }
    stderr.write(`operon: the cluster "${name}" is stopped\n`);
    return 0;
  },
};

export const clusterStatus: Command = {
  path: ["cluster", "status"],
  summary: "Show a local control plane's state and components, and list every cluster",
  usage: "[--name n] [-o text|json]",
  options: {
    ...nameOption,
    output: {
      type: "string",
      short: "o",
      description: "Output format: text or json",
      default: "text",
    },
  },
  async run({ values, stdout }) {
    const output = values.output ?? "text";
    if (output !== "text" && output !== "json") {
      throw new UsageError(`--output must be text or json, got "${String(output)}"`);
    }
    const name = await nameOf(values);
    const pid = await daemonPid(name);
    const state = pid ? await readState(name) : undefined;
    const clusters = await allClusters();
    if (output === "json") {
      stdout.write(
        `${JSON.stringify({ name, running: Boolean(state), pid, ...state, clusters }, null, 2)}\n`,
      );
      return state ? 0 : 1;
    }
    if (!state) {
      stdout.write(
        pid
          ? `cluster "${name}": starting (pid ${pid})\n`
          : `cluster "${name}": not running (start it with \`operon cluster up${await nameFlag(name)}\`)\n`,
      );
    } else {
      stdout.write(`cluster "${name}": running (pid ${pid})\n`);
      stdout.write(`server:     ${state.server}\n`);
      stdout.write(`kubeconfig: ${state.kubeconfigPath}\n`);
      stdout.write(
        `versions:   Kubernetes v${state.versions.kubernetes}, etcd v${state.versions.etcd}, kwok v${state.versions.kwok}\n`,
      );
      for (const [component, componentPid] of Object.entries(state.pids)) {
        stdout.write(`  ${component.padEnd(24)} pid ${componentPid}\n`);
      }
    }
    if (clusters.length > 0) {
      const width = Math.max(4, ...clusters.map((c) => c.name.length));
      stdout.write(`\n  ${"NAME".padEnd(width)}  STATE     SERVER\n`);
      for (const cluster of clusters) {
        const mark = cluster.name === name ? "*" : " ";
        stdout.write(
          `${mark} ${cluster.name.padEnd(width)}  ${cluster.state.padEnd(8)}  ${cluster.server ?? "-"}\n`,
        );
      }
    }
    return state || pid ? 0 : 1;
  },
};

export const clusterKubeconfig: Command = {
  path: ["cluster", "kubeconfig"],
  summary: "Print a local control plane's admin kubeconfig path",
  usage: "[--name n]",
  options: { ...nameOption },
  async run({ values, stdout }) {
    const name = await nameOf(values);
    const state = (await daemonPid(name)) ? await readState(name) : undefined;
    if (!state) {
      throw new Error(
        `the cluster "${name}" is not running${await othersRunning(name)}; start it with \`operon cluster up${await nameFlag(name)}\``,
      );
    }
    stdout.write(`${state.kubeconfigPath}\n`);
    return 0;
  },
};
