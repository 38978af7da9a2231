/**
 * The `shards` scenario: the same N parents reconciled by one replica, then by three sharded
 * replicas (`operon run --sharding`) on a fresh namespace of the same control plane, then a
 * fourth replica joins. Figures: cold converge time, the steady resident set of each replica
 * (median of VmRSS over a quiet window, as the memory scenario), parents per replica, and on the
 * join the parents moved (the ring moves about N/4) and the time until every parent was with its
 * member again (the coordinator's "rebalance complete" line).
 *
 *   npm run bench -- --scenario shards --parents 10000
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { KubeClient } from "../src/client/client.ts";
import { isNotFound } from "../src/client/errors.ts";
import { ConfigMap, Namespace, Secret } from "../src/index.ts";
import type { ControlPlane } from "../src/testkit/index.ts";
import { type LaunchContext, launchPlan } from "./contenders.ts";
import { median, sleep } from "./harness.ts";
import { BenchParent, parentName, specFor } from "./model.ts";
import { type Expected, Observer } from "./observer.ts";
import { ContenderProcess } from "./proc.ts";

/** A converged operator settles this long before its resident set is sampled, then for this long. */
const settleMs = 20_000;
const sampleMs = 10_000;
const replicas = 3;

export interface ShardsEnv {
  plane: ControlPlane;
  client: KubeClient;
  launch: Omit<LaunchContext, "expectParents">;
  repoRoot: string;
  logDir: string;
  progress(line: string): void;
}

/** One replica's figures. */
export interface ReplicaFigures {
  steadyRssBytes: number;
  peakRssBytes: number;
  cpuSeconds: number;
  /** Parents assigned to it (sharded) or all of them (single). */
  parents: number;
  /** Whether it was the coordinator. */
  coordinator?: boolean;
}

export interface ShardsResult {
  parents: number;
  /** The steady RSS of a replica with no parents: Node, Operon and the clients. */
  idleRssBytes: number;
  single: { convergeSeconds: number; replica: ReplicaFigures };
  sharded: { convergeSeconds: number; replicas: ReplicaFigures[] };
  join: { moved: number; rebalanceSeconds: number } | { error: string };
  /** The largest sharded replica's steady RSS over the single replica's (goal: at most 0.4). */
  rssRatio: number;
  /** The same for the RSS above an idle replica's: what the parents and children cost. */
  dataRatio: number;
  /** Mean JSON size of a converged parent and of its children, as the API server returns them. */
  objectBytes: { parent: number; configMap: number; secret: number };
}

interface LogLine {
  msg?: string;
  member?: string;
  members?: string[];
  moved?: number;
  durationMs?: number;
  [field: string]: unknown;
}

/** The JSON log lines of a replica's log that contain `marker` (parsing only those: logs are long). */
function logLines(path: string, marker: string): LogLine[] {
  let text = "";
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return [];
  }
  const lines: LogLine[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{") || !line.includes(marker)) continue;
    try {
      lines.push(JSON.parse(line) as LogLine);
    } catch {
      // a line cut by the write in progress
    }
  }
  return lines;
}

async function until<T>(
  what: string,
  timeoutMs: number,
  check: () => T | undefined | Promise<T | undefined>,
) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (performance.now() > deadline)
      throw new Error(`${what} did not happen within ${timeoutMs / 1000} s`);
    await sleep(500);
  }
}

async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

class Run {
  readonly env: ShardsEnv;
  readonly parents: number;

  constructor(env: ShardsEnv, parents: number) {
    this.env = env;
    this.parents = parents;
  }

  get timeoutMs(): number {
    return Math.max(300_000, this.parents * 120);
  }

  /** A fresh namespace with N parents, and the observer that tells when they converged. */
  async prepare(label: string): Promise<{ namespace: string; observer: Observer }> {
    const { plane, client, progress } = this.env;
    const namespace = await plane.createNamespace(`bench-shards-${label}`);
    await until("kube-root-ca.crt", 30_000, () =>
      client.get(ConfigMap, "kube-root-ca.crt", { namespace }).catch((error: unknown) => {
        if (isNotFound(error)) return undefined;
        throw error;
      }),
    );
    const started = performance.now();
    const expected = new Map<string, Expected>();
    await mapLimit(
      Array.from({ length: this.parents }, (_, i) => i),
      32,
      async (index) => {
        const spec = specFor(index, 0);
        const created = await client.create(BenchParent, {
          metadata: { name: parentName(index), namespace },
          spec,
        } as never);
        expected.set(created.metadata.name!, {
          generation: created.metadata.generation ?? 1,
          value: spec.value,
        });
      },
    );
    progress(
      `  ${namespace}: created ${this.parents} parents in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    const observer = await Observer.open(client, namespace);
    observer.expect(expected);
    return { namespace, observer };
  }

  spawn(name: string, namespace: string, sharded: boolean): ContenderProcess {
    const plan = launchPlan("operon", this.env.launch);
    return new ContenderProcess({
      name,
      command: plan.command,
      args: [
        ...plan.args,
        ...(sharded ? ["--sharding", "--leader-election-namespace", namespace] : []),
      ],
      env: plan.env,
      cwd: this.env.repoRoot,
      logFile: this.logFile(name),
    });
  }

  logFile(name: string): string {
    return join(this.env.logDir, `shards-${this.parents}-${name}.log`);
  }

  /** Medians of each process's resident set over the quiet window after convergence. */
  async steady(processes: ContenderProcess[]): Promise<number[]> {
    const samples = processes.map(() => [] as number[]);
    const started = performance.now();
    while (performance.now() - started < settleMs + sampleMs) {
      const sampling = performance.now() - started >= settleMs;
      processes.forEach((process, i) => {
        const sample = process.sample();
        if (sampling && sample) samples[i]!.push(sample.rssBytes);
      });
      await Promise.race(processes.map((process) => process.unlessExited(sleep(500))));
    }
    return samples.map((values) => median(values));
  }

  async deleteNamespace(namespace: string): Promise<void> {
    const { client, progress } = this.env;
    await client.delete(Namespace, namespace).catch(() => {});
    const started = performance.now();
    await until(`deletion of ${namespace}`, 900_000, () =>
      client.get(Namespace, namespace).then(
        () => undefined,
        (error: unknown) => (isNotFound(error) ? true : undefined),
      ),
    );
    progress(`  ${namespace} deleted in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }

  /** A replica on a namespace with no parents: what every replica costs before any parent. */
  async idle(): Promise<number> {
    const namespace = await this.env.plane.createNamespace("bench-shards-idle");
    const process = this.spawn("idle", namespace, false);
    try {
      const [rss] = await this.steady([process]);
      this.env.progress(`  an idle replica: ${mib(rss!)} MiB`);
      return rss!;
    } finally {
      await process.stop();
      await this.env.client.delete(Namespace, namespace).catch(() => {});
    }
  }

  async single(): Promise<ShardsResult["single"]> {
    const { namespace, observer } = await this.prepare("single");
    const process = this.spawn("single", namespace, false);
    try {
      const at = await withTimeout(process.unlessExited(observer.converged()), this.timeoutMs);
      const convergeSeconds = (at - process.startedAt) / 1000;
      this.env.progress(
        `  1 replica: converged ${this.parents} parents in ${convergeSeconds.toFixed(1)} s`,
      );
      const [steadyRssBytes] = await this.steady([process]);
      const sample = process.sample()!;
      return {
        convergeSeconds,
        replica: {
          steadyRssBytes: steadyRssBytes!,
          peakRssBytes: sample.peakRssBytes,
          cpuSeconds: sample.cpuSeconds,
          parents: this.parents,
        },
      };
    } finally {
      await process.stop();
      await observer.close();
      await this.deleteNamespace(namespace);
    }
  }

  /** Mean JSON sizes of the converged objects (with managedFields, as etcd keeps them). */
  async objectBytes(namespace: string): Promise<ShardsResult["objectBytes"]> {
    const mean = async (type: typeof BenchParent | typeof ConfigMap | typeof Secret) => {
      const list = await this.env.client.list(type as typeof ConfigMap, { namespace, limit: 200 });
      const items = list.items.filter((item) => item.metadata.name !== "kube-root-ca.crt");
      const total = items.reduce((sum, item) => sum + JSON.stringify(item).length, 0);
      return Math.round(total / Math.max(1, items.length));
    };
    return {
      parent: await mean(BenchParent),
      configMap: await mean(ConfigMap),
      secret: await mean(Secret),
    };
  }

  async sharded(): Promise<{
    sharded: ShardsResult["sharded"];
    join: ShardsResult["join"];
    objectBytes: ShardsResult["objectBytes"];
  }> {
    const { namespace, observer } = await this.prepare("sharded");
    const names = Array.from({ length: replicas }, (_, i) => `replica-${i + 1}`);
    const processes = names.map((name) => this.spawn(name, namespace, true));
    let joiner: ContenderProcess | undefined;
    try {
      const first = Math.min(...processes.map((process) => process.startedAt));
      const at = await withTimeout(
        Promise.race(processes.map((process) => process.unlessExited(observer.converged()))),
        this.timeoutMs,
      );
      const convergeSeconds = (at - first) / 1000;
      this.env.progress(
        `  ${replicas} replicas: converged ${this.parents} parents in ${convergeSeconds.toFixed(1)} s`,
      );
      const steady = await this.steady(processes);
      const joined = "joined the shard ring";
      const members = names.map(
        (name) => logLines(this.logFile(name), joined).find((line) => line.msg === joined)?.member,
      );
      const coordinating = "coordinating the shard ring";
      const coordinator = names.find((name) =>
        logLines(this.logFile(name), coordinating).some((line) => line.msg === coordinating),
      );
      const assigned = await this.assignments(namespace);
      const figures = processes.map((process, i): ReplicaFigures => {
        const sample = process.sample()!;
        return {
          steadyRssBytes: steady[i]!,
          peakRssBytes: sample.peakRssBytes,
          cpuSeconds: sample.cpuSeconds,
          parents: [...assigned.values()].filter((member) => member === members[i]).length,
          ...(names[i] === coordinator ? { coordinator: true } : {}),
        };
      });

      // A fourth replica joins: about a quarter of the parents move to it.
      let join: ShardsResult["join"];
      try {
        joiner = this.spawn(`replica-${replicas + 1}`, namespace, true);
        const started = joiner.startedAt;
        const done = await until("the rebalance after the join", this.timeoutMs, () => {
          const complete = "shard rebalance complete: every parent is with its member";
          for (const name of names) {
            const line = logLines(this.logFile(name), complete).find(
              (entry) => entry.msg === complete && (entry.members?.length ?? 0) === replicas + 1,
            );
            if (line) return performance.now();
          }
          return undefined;
        });
        const after = await this.assignments(namespace);
        const moved = [...after].filter(([key, member]) => assigned.get(key) !== member).length;
        join = { moved, rebalanceSeconds: (done - started) / 1000 };
        this.env.progress(
          `  join: ${moved} of ${this.parents} parents moved (the ring's share: ${Math.round(this.parents / (replicas + 1))}), in place ${join.rebalanceSeconds.toFixed(1)} s after the spawn`,
        );
      } catch (error) {
        join = { error: (error as Error).message };
      }
      const objectBytes = await this.objectBytes(namespace);
      return { sharded: { convergeSeconds, replicas: figures }, join, objectBytes };
    } finally {
      await Promise.all(
        [...processes, ...(joiner ? [joiner] : [])].map((process) => process.stop()),
      );
      await observer.close();
      await this.deleteNamespace(namespace);
    }
  }

  /** Each parent's member, from its shard label. */
  async assignments(namespace: string): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    const label = "shard.operon.dev/bench";
    for await (const page of this.env.client.listPages(BenchParent, { namespace })) {
      for (const parent of page.items)
        found.set(parent.metadata.name!, parent.metadata.labels?.[label] ?? "");
    }
    return found;
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no convergence within ${ms / 1000} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** One replica, then three sharded replicas and a join, at `parents` parents. */
export async function runShards(env: ShardsEnv, parents: number): Promise<ShardsResult> {
  const run = new Run(env, parents);
  const idleRssBytes = await run.idle();
  const single = await run.single();
  const { sharded, join, objectBytes } = await run.sharded();
  const largest = Math.max(...sharded.replicas.map((replica) => replica.steadyRssBytes));
  return {
    parents,
    idleRssBytes,
    single,
    sharded,
    join,
    rssRatio: largest / single.replica.steadyRssBytes,
    dataRatio: (largest - idleRssBytes) / (single.replica.steadyRssBytes - idleRssBytes),
    objectBytes,
  };
}

const mib = (bytes: number) => (bytes / 1048576).toFixed(0);

/** The markdown report of the shards scenario. */
export function renderShards(results: readonly ShardsResult[]): string {
  const lines = [
    "## shards",
    "",
    "| N | replicas | converge s | steady RSS MiB (each) | peak RSS MiB (each) | CPU s (each) | parents (each) | largest RSS / single | above idle: largest / single |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const result of results) {
    const { single, sharded } = result;
    lines.push(
      `| ${result.parents} | 1 | ${single.convergeSeconds.toFixed(1)} | ${mib(single.replica.steadyRssBytes)} | ${mib(single.replica.peakRssBytes)} | ${single.replica.cpuSeconds.toFixed(1)} | ${single.replica.parents} | 1 | 1 |`,
    );
    const each = (f: (replica: ReplicaFigures) => string) =>
      sharded.replicas
        .map((replica) => `${f(replica)}${replica.coordinator ? "*" : ""}`)
        .join(" / ");
    lines.push(
      `| ${result.parents} | ${sharded.replicas.length} | ${sharded.convergeSeconds.toFixed(1)} | ${each((r) => mib(r.steadyRssBytes))} | ${each((r) => mib(r.peakRssBytes))} | ${each((r) => r.cpuSeconds.toFixed(1))} | ${each((r) => String(r.parents))} | ${result.rssRatio.toFixed(2)} | ${result.dataRatio.toFixed(2)} |`,
    );
  }
  lines.push(
    "",
    "`*` the coordinator (it also caches the metadata of every parent).",
    `An idle replica (no parents): ${results.map((r) => `${mib(r.idleRssBytes)} MiB`).join(", ")}; the single replica's CPU per parent: ${results.map((r) => `${((r.single.replica.cpuSeconds * 1000) / r.parents).toFixed(2)} ms`).join(", ")}; objects as stored (JSON): ${results.map((r) => `parent ${r.objectBytes.parent} B, ConfigMap ${r.objectBytes.configMap} B, Secret ${r.objectBytes.secret} B`).join("; ")}.`,
    "",
  );
  lines.push(
    "| N | join: parents moved | the ring's share (N/4) | in place after s |",
    "| --- | --- | --- | --- |",
  );
  for (const result of results) {
    const join = result.join;
    lines.push(
      "error" in join
        ? `| ${result.parents} | failed: ${join.error} | ${Math.round(result.parents / 4)} | — |`
        : `| ${result.parents} | ${join.moved} | ${Math.round(result.parents / 4)} | ${join.rebalanceSeconds.toFixed(1)} |`,
    );
  }
  lines.push(
    "",
    `Goal: each sharded replica's steady RSS at most 0.4 × the single replica's: ${results
      .map((r) => `${r.parents}: ${r.rssRatio.toFixed(2)} ${r.rssRatio <= 0.4 ? "met" : "not met"}`)
      .join(", ")}.`,
    "",
  );
  return lines.join("\n");
}
