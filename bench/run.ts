/**
 * `npm run bench`: Operon against controller-runtime and against the API server's own limit (the
 * write floor), on a local control plane this script starts and stops. See bench/README.md.
 *
 *   node --conditions=operon-source bench/run.ts [--scenario ...] [--contenders ...] [--parents N,...]
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { cpus, release, totalmem } from "node:os";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { KubeClient } from "../src/client/client.ts";
import { installCustomResources } from "../src/manager/install.ts";
import { installMetacontrollerCrds } from "../src/metacontroller/install.ts";
import { CompositeControllerType } from "../src/metacontroller/types.ts";
import { attachControlPlane, type ControlPlane, startControlPlane } from "../src/testkit/index.ts";
import { parseBenchArgs, UsageError, usage } from "./args.ts";
import { type RunContext, renderCharts } from "./charts.ts";
import { credentialsOf, Harness, type PipelineResults } from "./harness.ts";
import { BenchParent } from "./model.ts";
import { buildOperon, ensureCargoBinary, ensureGoBinary, unpackSource } from "./peer-build.ts";
import { renderReport } from "./report.ts";
import { renderShards, runShards, type ShardsEnv, type ShardsResult } from "./shards.ts";
import type { ContenderName, ContenderResult, ScenarioName, ScenarioResult } from "./types.ts";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const progress = (line: string) => process.stderr.write(`${line}\n`);

/**
 * Metacontroller's source: `--metacontroller-source`, `$METACONTROLLER_SOURCE`, else a
 * `shared/peers/metacontroller-*.tar.gz` in a folder above the repository.
 */
async function metacontrollerSource(explicit: string | undefined): Promise<string> {
  const given = explicit ?? process.env.METACONTROLLER_SOURCE;
  if (given) return resolve(given);
  for (const up of ["..", "../.."]) {
    const peers = join(repoRoot, up, "shared", "peers");
    if (!existsSync(peers)) continue;
    const found = (await readdir(peers))
      .filter((file) => /^metacontroller-.*\.tar\.gz$/.test(file))
      .sort();
    if (found.length > 0) return join(peers, found.at(-1)!);
  }
  throw new Error(
    "Metacontroller's source was not found: pass --metacontroller-source <file.tar.gz> or set METACONTROLLER_SOURCE",
  );
}

/** A free port on the loopback interface. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as { port: number };
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

/**
 * The CompositeController both Metacontroller contenders run: BenchParents own a ConfigMap and a
 * Secret, updated in place; the children are selected by the generated `controller-uid` label.
 */
function benchCompositeController(hookAddress: string) {
  return {
    apiVersion: "metacontroller.k8s.io/v1alpha1",
    kind: "CompositeController",
    metadata: { name: "bench" },
    spec: {
      generateSelector: true,
      parentResource: { apiVersion: "bench.operon.dev/v1", resource: "benchparents" },
      childResources: [
        { apiVersion: "v1", resource: "configmaps", updateStrategy: { method: "InPlace" } },
        { apiVersion: "v1", resource: "secrets", updateStrategy: { method: "InPlace" } },
      ],
      hooks: { sync: { webhook: { url: `http://${hookAddress}/sync`, timeout: "10s" } } },
    },
  };
}

/** `operon run` flags that switch off its HTTP listeners, when this version of it has them. */
async function operonListenerFlags(): Promise<string[]> {
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--conditions=operon-source", "src/cli/main.ts", "run", "--help"],
      { cwd: repoRoot },
    );
    const flags: string[] = [];
    for (const flag of ["--metrics-bind-address", "--health-probe-bind-address"]) {
      if (stdout.includes(flag)) flags.push(flag, "0");
    }
    return flags;
  } catch {
    return [];
  }
}

/** The machine, date and command a run was taken with, as the charts print them. */
function runContext(): RunContext {
  const cores = cpus();
  return {
    machine: `${cores[0]?.model.trim() ?? "unknown CPU"}, ${cores.length} cores, ${Math.round(totalmem() / 1024 ** 3)} GiB, Linux ${release()}, Node ${process.versions.node}`,
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    command: `node bench/run.ts ${process.argv.slice(2).join(" ")}`.trim(),
  };
}

class Results {
  readonly #path: string;
  readonly #list: ScenarioResult[] = [];
  readonly #context = runContext();

  constructor(path: string) {
    this.#path = path;
  }

  add(scenario: ScenarioName, parents: number, result: ContenderResult): void {
    let entry = this.#list.find((r) => r.scenario === scenario && r.parents === parents);
    if (!entry) {
      entry = { scenario, parents, contenders: [] };
      this.#list.push(entry);
    }
    entry.contenders.push(result);
  }

  get list(): ScenarioResult[] {
    const order = ["converge", "idle", "churn", "restart", "memory"];
    return [...this.#list].sort(
      (a, b) => order.indexOf(a.scenario) - order.indexOf(b.scenario) || a.parents - b.parents,
    );
  }

  async save(): Promise<void> {
    await mkdir(dirname(this.#path), { recursive: true });
    await writeFile(this.#path, `${JSON.stringify(this.list, null, 2)}\n`);
    // The charts sit next to the JSON.
    for (const [file, svg] of renderCharts(this.list, this.#context)) {
      await writeFile(this.#chartPath(file), svg);
    }
  }

  /** `converge.svg` beside `latest.json`; `10k-converge.svg` beside `10k.json`. */
  #chartPath(file: string): string {
    const base = basename(this.#path, ".json");
    return join(dirname(this.#path), base === "latest" ? file : `${base}-${file}`);
  }

  /** The chart files written so far. */
  get chartPaths(): string[] {
    return [...renderCharts(this.list, this.#context).keys()].map((file) => this.#chartPath(file));
  }
}

function failed(name: ContenderName, error: unknown): ContenderResult {
  return {
    name,
    wallSeconds: null,
    peakRssBytes: null,
    cpuSeconds: null,
    writes: 0,
    requests: {},
    error: error instanceof Error ? error.message.split("\n")[0]! : String(error),
  };
}

async function main(): Promise<number> {
  let options: ReturnType<typeof parseBenchArgs>;
  try {
    options = parseBenchArgs(process.argv.slice(2));
  } catch (error) {
    if (
      error instanceof UsageError ||
      (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")
    ) {
      process.stderr.write(`bench: ${(error as Error).message}\n\n${usage}`);
      return 2;
    }
    throw error;
  }
  if (!options) {
    process.stdout.write(usage);
    return 0;
  }
  const scenarios = new Set<ScenarioName>(options.scenarios);
  const floorRuns = ["converge", "churn", "memory"].some((s) => scenarios.has(s as ScenarioName));
  // `shards` runs Operon alone, on its own (bench/shards.ts); the others compare contenders.
  const shards = options.shards;
  const classic = options.scenarios;
  const contenders =
    classic.length > 0 ? options.contenders.filter((c) => c !== "floor" || floorRuns) : [];

  const started = Date.now();
  const logDir = join(repoRoot, "bench", "results", "logs");
  await rm(logDir, { recursive: true, force: true });
  await mkdir(logDir, { recursive: true });

  // Go builds and the Cargo build run one after another: on a small machine each uses every core.
  const controllerRuntimeBinary = contenders.some((c) => c.startsWith("controller-runtime"))
    ? await ensureGoBinary(
        "controller-runtime-peer",
        join(repoRoot, "bench/peers/controller-runtime"),
        progress,
      )
    : undefined;
  const floorBinary = contenders.includes("floor")
    ? await ensureGoBinary("write-floor", join(repoRoot, "bench/floor"), progress)
    : undefined;
  const kubeRsBinary = contenders.some((c) => c.startsWith("kube-rs"))
    ? await ensureCargoBinary("kube-rs", join(repoRoot, "bench/peers/kube-rs"), progress)
    : undefined;
  const operonBuild =
    shards || contenders.some((c) => c.startsWith("operon"))
      ? await buildOperon(repoRoot, progress)
      : undefined;
  const metacontrollerMode = contenders.some((c) => c.endsWith("metacontroller"));
  const hookBinary = metacontrollerMode
    ? await ensureGoBinary(
        "metacontroller-hook",
        join(repoRoot, "bench/peers/metacontroller-hook"),
        progress,
      )
    : undefined;
  const metacontrollerBinary = contenders.includes("metacontroller")
    ? await ensureGoBinary(
        "metacontroller",
        await unpackSource(
          await metacontrollerSource(options.metacontrollerSource),
          "metacontroller-src",
        ),
        progress,
        "./pkg/cmd/metacontroller",
      )
    : undefined;
  const hookAddress = metacontrollerMode ? `127.0.0.1:${await freePort()}` : undefined;
  const otlpSinkAddress = contenders.includes("operon-otel")
    ? `127.0.0.1:${await freePort()}`
    : undefined;
  const operonExtraFlags = await operonListenerFlags();
  if (contenders.some((c) => c.startsWith("operon"))) {
    progress(
      operonExtraFlags.length > 0
        ? `operon run: ${operonExtraFlags.join(" ")}`
        : "operon run has no --metrics-bind-address / --health-probe-bind-address: running it without",
    );
  }

  progress(
    "starting the local control plane (etcd, kube-apiserver, kube-controller-manager; no nodes)...",
  );
  let plane: ControlPlane | undefined;
  let client: KubeClient | undefined;
  const stopAll = async () => {
    await client?.close().catch(() => {});
    await plane?.stop().catch(() => {});
  };
  let interrupted = false;
  process.once("SIGINT", () => {
    interrupted = true;
    progress("interrupted: stopping the contender and the control plane");
    void stopAll().then(() => process.exit(130));
  });
  try {
    plane = options.attach
      ? await attachControlPlane(options.attach)
      : await startControlPlane({
          nodes: 0,
          // The harness deletes each contender's children itself; a higher client rate lets the
          // garbage collector finish what is left before the next contender starts.
          controllerManagerArgs: ["--kube-api-qps=500", "--kube-api-burst=1000"],
        });
    client = await KubeClient.fromKubeConfig({
      kubeconfig: plane.kubeconfigPath,
      fieldManager: "bench-harness",
      maxInFlight: 64,
    });
    await installCustomResources(client, [BenchParent], { fieldManager: "bench-harness" });
    if (hookAddress) {
      await installMetacontrollerCrds(client, { fieldManager: "bench-harness" });
      await client.apply(CompositeControllerType, benchCompositeController(hookAddress) as never, {
        fieldManager: "bench-harness",
        force: true,
      });
    }
    progress(`control plane ready at ${plane.server} (${plane.dir})`);

    const harness = new Harness({
      plane,
      client,
      credentials: credentialsOf(plane),
      repoRoot,
      logDir,
      options,
      launch: {
        repoRoot,
        kubeconfig: plane.kubeconfigPath,
        nodePath: process.execPath,
        operonExtraFlags,
        operonNodeFlags: options.operonNodeFlags,
        ...(controllerRuntimeBinary ? { controllerRuntimeBinary } : {}),
        ...(kubeRsBinary ? { kubeRsBinary } : {}),
        ...(operonBuild ? { operonBuild } : {}),
        ...(metacontrollerBinary ? { metacontrollerBinary } : {}),
        ...(hookBinary && hookAddress ? { hookBinary, hookAddress } : {}),
        ...(otlpSinkAddress ? { otlpSinkAddress } : {}),
      },
      ...(floorBinary ? { floorBinary } : {}),
      progress,
    });
    const results = new Results(resolve(repoRoot, options.out));

    for (const parents of options.parents) {
      for (const name of contenders) {
        if (interrupted) break;
        progress(
          `[${Math.round((Date.now() - started) / 1000)} s] ${name}, ${parents} parents: ${classic.join(", ")}`,
        );
        let pipeline: PipelineResults;
        try {
          pipeline =
            name === "floor"
              ? await harness.floor(parents, scenarios)
              : await harness.operator(name, parents, scenarios);
        } catch (error) {
          progress(`  ${name} failed: ${(error as Error).message}`);
          const applicable = classic.filter(
            (s) => name !== "floor" || s === "converge" || s === "churn" || s === "memory",
          );
          pipeline = Object.fromEntries(applicable.map((s) => [s, failed(name, error)]));
        }
        for (const scenario of classic) {
          const result = pipeline[scenario];
          if (result) results.add(scenario, parents, result);
        }
        await results.save();
      }
    }
    const shardResults: ShardsResult[] = [];
    const shardsPath = join(dirname(resolve(repoRoot, options.out)), "shards.json");
    if (shards && operonBuild) {
      const shardsEnv: ShardsEnv = {
        plane,
        client,
        repoRoot,
        logDir,
        progress,
        launch: {
          repoRoot,
          kubeconfig: plane.kubeconfigPath,
          nodePath: process.execPath,
          operonExtraFlags,
          operonNodeFlags: options.operonNodeFlags,
          operonBuild,
        },
      };
      for (const parents of options.parents) {
        if (interrupted) break;
        progress(
          `[${Math.round((Date.now() - started) / 1000)} s] shards, ${parents} parents: 1 replica, then 3 sharded and a join`,
        );
        shardResults.push(await runShards(shardsEnv, parents));
        await mkdir(dirname(shardsPath), { recursive: true });
        await writeFile(shardsPath, `${JSON.stringify(shardResults, null, 2)}\n`);
      }
    }
    // No wait for the last namespace's garbage collection: the control plane stops here.
    const wrote =
      classic.length > 0
        ? `results in ${options.out}, charts in ${results.chartPaths.map((path) => relative(repoRoot, path)).join(", ")}`
        : "";
    const shardsWrote =
      shardResults.length > 0 ? `shards results in ${relative(repoRoot, shardsPath)}` : "";
    progress(
      `done in ${Math.round((Date.now() - started) / 1000)} s; ${[wrote, shardsWrote].filter(Boolean).join("; ")}; logs in bench/results/logs/`,
    );
    if (classic.length > 0) process.stdout.write(`\n${renderReport(results.list)}`);
    if (shardResults.length > 0) process.stdout.write(`\n${renderShards(shardResults)}`);
    return 0;
  } finally {
    await stopAll();
  }
}

process.exitCode = await main();
