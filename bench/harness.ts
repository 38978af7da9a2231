/**
 * The benchmark's scenarios against a local control plane. Each contender gets a fresh namespace
 * with N parents, runs alone (the API server's counters cover every client), and its scenarios
 * run on one converged state in sequence:
 *
 *   converge (process 1 from cold) → idle → churn → restart (process 2 on the converged state)
 *
 * and memory, at its own N, on a namespace of its own. The request counts of each scenario are
 * the API server's `apiserver_request_total` diffed around it, restricted to the bench resources,
 * minus the harness's own requests.
 */
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import type { KubeClient } from "../src/client/client.ts";
import { isNotFound } from "../src/client/errors.ts";
import { ConfigMap, Namespace, Secret } from "../src/index.ts";
import type { ControlPlane } from "../src/testkit/index.ts";
import type { BenchOptions } from "./args.ts";
import { type LaunchContext, launchPlan } from "./contenders.ts";
import { type FloorParent, writeFloorJob } from "./floor-job.ts";
import {
  addCounts,
  countAll,
  countWrites,
  diffRequests,
  filterVerbs,
  parseRequestTotals,
  type RequestCounts,
  type RequestSample,
  subtractCounts,
} from "./metrics.ts";
import { BenchParent, parentLabel, parentName, specFor } from "./model.ts";
import { type Expected, Observer } from "./observer.ts";
import { ContenderProcess, type ProcessSample, sampleProcess } from "./proc.ts";
import { readyLine } from "./ready-marker.ts";
import type { ContenderName, ContenderResult, ScenarioName } from "./types.ts";

/** After converging, trailing requests (events, echoes of the operator's own writes) land here. */
const settleMs = 5_000;
/** memory without idle: how long a converged operator settles before its resident set is sampled. */
const memorySettleMs = 20_000;
const memorySampleMs = 10_000;
/** The seconds before a start whose request rate is recorded as the background. */
export const backgroundWindowSeconds = 3;
/** Parents the harness creates or patches at once. */
const harnessConcurrency = 32;

export interface Credentials {
  ca: string;
  cert: string;
  key: string;
}

export interface HarnessEnv {
  plane: ControlPlane;
  client: KubeClient;
  credentials: Credentials;
  repoRoot: string;
  logDir: string;
  options: BenchOptions;
  launch: Omit<LaunchContext, "expectParents">;
  floorBinary?: string;
  progress(line: string): void;
}

/** The admin kubeconfig's client certificate, for the metrics scrape and the floor. */
export function credentialsOf(plane: ControlPlane): Credentials {
  const config = parseYaml(plane.kubeconfig) as {
    users: { user: Record<string, string> }[];
  };
  const user = config.users[0]!.user;
  const decode = (value: string | undefined) => Buffer.from(value ?? "", "base64").toString("utf8");
  return {
    ca: plane.caCertificatePem,
    cert: decode(user["client-certificate-data"]),
    key: decode(user["client-key-data"]),
  };
}

/** Thrown when the API server does not go quiet before a contender starts. */
export class BackgroundTrafficError extends Error {
  constructor(rate: number, limit: number) {
    super(
      `refused: ${rate.toFixed(1)} requests/s of background traffic before the start ` +
        `(limit ${limit}); no figure is reported over another client's traffic`,
    );
  }
}

function nonWatch(counts: RequestCounts): RequestCounts {
  return filterVerbs(counts, (verb) => verb !== "WATCH");
}

/**
 * Requests per second to any resource, watches aside, between the first and the last of
 * `samples` (scraped one second apart).
 */
export function backgroundRate(samples: readonly RequestSample[][]): number {
  if (samples.length < 2) return 0;
  const counts = diffRequests(samples[0]!, samples[samples.length - 1]!, { resources: "all" });
  return countAll(nonWatch(counts)) / (samples.length - 1);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${what} did not happen within ${Math.round(ms / 1000)} s`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** The API server's request counters. */
export function scrapeRequests(
  env: Pick<HarnessEnv, "plane" | "credentials">,
): Promise<RequestSample[]> {
  const url = new URL("/metrics", env.plane.server);
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      url,
      {
        ca: env.credentials.ca,
        cert: env.credentials.cert,
        key: env.credentials.key,
        timeout: 30_000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => {
          if (response.statusCode !== 200) {
            reject(new Error(`GET /metrics answered ${response.statusCode}`));
            return;
          }
          resolve(parseRequestTotals(Buffer.concat(chunks).toString("utf8")));
        });
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.end();
  });
}

/** CPU seconds of each control-plane component so far. */
function clusterCpu(env: HarnessEnv): Record<string, number> {
  const cpu: Record<string, number> = {};
  for (const [name, pid] of Object.entries(env.plane.pids())) {
    if (pid) cpu[name] = sampleProcess(pid)?.cpuSeconds ?? 0;
  }
  return cpu;
}

interface ParentRecord extends FloorParent {
  index: number;
}

interface Prepared {
  namespace: string;
  observer: Observer;
  parents: Map<string, ParentRecord>;
}

function expectedOf(parents: ReadonlyMap<string, ParentRecord>): Map<string, Expected> {
  return new Map(
    [...parents].map(([name, p]) => [name, { generation: p.generation, value: p.value }]),
  );
}

/** The API server's request counters and the control plane's CPU at one moment. */
interface Mark {
  samples: RequestSample[];
  clusterCpu: Record<string, number>;
}

async function mark(env: HarnessEnv): Promise<Mark> {
  return { samples: await scrapeRequests(env), clusterCpu: clusterCpu(env) };
}

function requestsBetween(a: Mark, b: Mark): RequestCounts {
  return diffRequests(a.samples, b.samples);
}

function failedBetween(a: Mark, b: Mark): RequestCounts {
  return diffRequests(a.samples, b.samples, { code: (code) => !code.startsWith("2") });
}

/** Results of one contender, by scenario. */
export type PipelineResults = Partial<Record<ScenarioName, ContenderResult>>;

export class Harness {
  readonly env: HarnessEnv;
  /** Namespaces being deleted; the next scenario waits until they are gone. */
  #deleting: string[] = [];
  /** Hook servers of the running contenders. */
  #sidecars: ContenderProcess[] = [];

  constructor(env: HarnessEnv) {
    this.env = env;
  }

  // -- namespaces and parents --------------------------------------------------------------------

  async #prepare(contender: ContenderName, parents: number): Promise<Prepared> {
    const { plane, client, progress } = this.env;
    const namespace = await plane.createNamespace(`bench-${contender}`.slice(0, 40));
    // kube-controller-manager publishes kube-root-ca.crt into every new namespace: let that
    // write happen before anything is counted.
    await withTimeout(
      (async () => {
        for (;;) {
          const found = await client
            .get(ConfigMap, "kube-root-ca.crt", { namespace })
            .catch((error: unknown) => {
              if (isNotFound(error)) return undefined;
              throw error;
            });
          if (found) return;
          await sleep(100);
        }
      })(),
      30_000,
      `kube-root-ca.crt in ${namespace}`,
    );
    const started = performance.now();
    const indices = Array.from({ length: parents }, (_, index) => index);
    const records = await mapLimit(indices, harnessConcurrency, async (index) => {
      const spec = specFor(index, 0);
      const created = await client.create(BenchParent, {
        metadata: { name: parentName(index), namespace },
        spec,
      } as never);
      return {
        index,
        name: created.metadata.name!,
        uid: created.metadata.uid!,
        generation: created.metadata.generation ?? 1,
        value: spec.value,
        tier: spec.tier,
      } satisfies ParentRecord;
    });
    progress(
      `  ${namespace}: created ${parents} parents in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    const observer = await Observer.open(client, namespace);
    return { namespace, observer, parents: new Map(records.map((r) => [r.name, r])) };
  }

  /**
   * Cleans up a contender's namespace (its process already stopped): the children with one
   * deletecollection each, then the parents, then the namespace. Removing the children first
   * leaves kube-controller-manager's garbage collector nothing to look up, so the next contender
   * does not start over its traffic (at 10,000 parents, tens of thousands of 404 lookups at its
   * default client rate).
   */
  async #delete(namespace: string): Promise<void> {
    const { client } = this.env;
    this.#deleting.push(namespace);
    const selector = parentLabel;
    try {
      // Tens of thousands of objects take the server a while: no client deadline short of that.
      const timeoutMs = 900_000;
      await Promise.all([
        client.deleteCollection(ConfigMap, { namespace, labelSelector: selector, timeoutMs }),
        client.deleteCollection(Secret, { namespace, labelSelector: selector, timeoutMs }),
      ]);
      await client.deleteCollection(BenchParent, { namespace, timeoutMs });
    } catch (error) {
      this.env.progress(`  cleanup of ${namespace}: ${(error as Error).message.split("\n")[0]}`);
    }
    await client.delete(Namespace, namespace).catch(() => {});
  }

  /**
   * Waits until deleted namespaces are gone and the API server is quiet: no request to the bench
   * resources for two seconds and at most `--max-background-rps` requests per second to any
   * resource (watches aside) over the last {@link backgroundWindowSeconds} seconds. Returns that
   * rate; throws a {@link BackgroundTrafficError} when the server does not go quiet within ten
   * minutes, so that no figure is measured over another client's traffic.
   */
  async #quiesce(): Promise<number> {
    const { client } = this.env;
    for (const namespace of this.#deleting) {
      await withTimeout(
        (async () => {
          for (;;) {
            const gone = await client.get(Namespace, namespace).then(
              () => false,
              (error: unknown) => isNotFound(error),
            );
            if (gone) return;
            await sleep(250);
          }
        })(),
        300_000,
        `deletion of namespace ${namespace}`,
      );
    }
    this.#deleting = [];
    const limit = this.env.options.maxBackgroundRps;
    const samples: RequestSample[][] = [await scrapeRequests(this.env)];
    const started = Date.now();
    const deadline = started + 600_000;
    let told = false;
    for (;;) {
      await sleep(1_000);
      samples.push(await scrapeRequests(this.env));
      if (samples.length > backgroundWindowSeconds + 1) samples.shift();
      const last = samples.length - 1;
      const benchQuiet =
        last >= 2 && countAll(nonWatch(diffRequests(samples[last - 2]!, samples[last]!))) === 0;
      const rate = backgroundRate(samples);
      if (benchQuiet && samples.length === backgroundWindowSeconds + 1 && rate <= limit) {
        return rate;
      }
      if (Date.now() > deadline) throw new BackgroundTrafficError(rate, limit);
      if (!told && Date.now() - started > 15_000) {
        told = true;
        this.env.progress(
          `  waiting for the API server to go quiet (${rate.toFixed(1)} requests/s, limit ${limit})...`,
        );
      }
    }
  }

  // -- churn ---------------------------------------------------------------------------------------

  /** Changes the spec of a share of the parents; returns them with their new generations. */
  async #churn(prepared: Prepared): Promise<ParentRecord[]> {
    const all = [...prepared.parents.values()];
    const count = Math.max(1, Math.round(all.length * this.env.options.churnFraction));
    const chosen = Array.from(
      { length: count },
      (_, j) => all[Math.floor((j * all.length) / count)]!,
    );
    const changed = await mapLimit(chosen, harnessConcurrency, async (record) => {
      const spec = specFor(record.index, 1);
      const patched = await this.env.client.patch(BenchParent, record.name, { spec } as never, {
        namespace: prepared.namespace,
        type: "merge",
      });
      const updated: ParentRecord = {
        ...record,
        generation: patched.metadata.generation ?? record.generation + 1,
        value: spec.value,
        tier: spec.tier,
      };
      prepared.parents.set(record.name, updated);
      return updated;
    });
    prepared.observer.expect(expectedOf(prepared.parents));
    return changed;
  }

  /**
   * Starts a contender (after its sidecar, when it has one: the sidecar runs from before the
   * contender's start, so its own start is not counted, until after the contender stops).
   */
  async #spawn(
    name: Exclude<ContenderName, "floor">,
    phase: string,
    expectParents?: number,
  ): Promise<{ process: ContenderProcess; sidecar?: ContenderProcess; marker?: ContenderProcess }> {
    const plan = launchPlan(name, {
      ...this.env.launch,
      ...(expectParents ? { expectParents } : {}),
    });
    let sidecar: ContenderProcess | undefined;
    if (plan.sidecar) {
      sidecar = new ContenderProcess({
        name: `${name}-hook`,
        command: plan.sidecar.command,
        args: plan.sidecar.args,
        env: plan.sidecar.env,
        cwd: this.env.repoRoot,
        logFile: join(this.env.logDir, `${name}-hook-${phase}.log`),
      });
      this.#sidecars.push(sidecar);
      await withTimeout(
        sidecar.unlessExited(sidecar.waitForLine(plan.sidecar.readyLine)),
        30_000,
        `${name}'s hook server listening`,
      );
    }
    const process = new ContenderProcess({
      name,
      command: plan.command,
      args: plan.args,
      env: plan.env,
      cwd: this.env.repoRoot,
      logFile: join(this.env.logDir, `${name}-${phase}.log`),
    });
    const marksReady = plan.sidecar?.marksReady ?? true;
    return {
      process,
      ...(sidecar ? { sidecar } : {}),
      ...(sidecar && marksReady ? { marker: sidecar } : {}),
    };
  }

  /** Stops the sidecars still running (after their contenders). */
  async #stopSidecars(): Promise<void> {
    const sidecars = this.#sidecars.splice(0);
    await Promise.all(sidecars.map((sidecar) => sidecar.stop()));
  }

  #timeoutFor(parents: number): number {
    return Math.max(300_000, parents * 120);
  }

  // -- operators -----------------------------------------------------------------------------------

  /** converge → idle (and memory) → churn → restart for one operator contender at one N. */
  async operator(
    name: Exclude<ContenderName, "floor">,
    parents: number,
    scenarios: ReadonlySet<ScenarioName>,
  ): Promise<PipelineResults> {
    const { progress, options } = this.env;
    const plan = launchPlan(name, this.env.launch);
    const concurrency = plan.concurrency;
    const results: PipelineResults = {};
    const prepared = await this.#prepare(name, parents);
    let first: ContenderProcess | undefined;
    let second: ContenderProcess | undefined;
    let restartBackground = 0;
    try {
      const background = await this.#quiesce();
      progress(`  background before the start: ${background.toFixed(1)} requests/s`);
      const m0 = await mark(this.env);
      first = (await this.#spawn(name, `converge-${parents}`)).process;
      const running = first;
      prepared.observer.expect(expectedOf(prepared.parents));
      const convergedAt = await withTimeout(
        running.unlessExited(prepared.observer.converged()),
        this.#timeoutFor(parents),
        `${name} converging ${parents} parents`,
      );
      const atConverge = running.sample();
      const wall = (convergedAt - running.startedAt) / 1000;
      progress(`  ${name}: converged ${parents} parents in ${wall.toFixed(2)} s`);
      await sleep(settleMs);
      const m1 = await mark(this.env);
      results.converge = this.#result(name, concurrency, m0, m1, {
        wallSeconds: wall,
        sample: atConverge,
      });
      let lastPhase: ScenarioName = "converge";
      let before = m1;

      // The resident set while converged and quiet: sampled through the idle window, or through
      // a window of its own when idle is not measured.
      const rss: number[] = [];
      const quietWindow = async (ms: number) => {
        const until = performance.now() + ms;
        while (performance.now() < until) {
          const sample = running.sample();
          if (sample) rss.push(sample.rssBytes);
          await running.unlessExited(sleep(Math.min(500, Math.max(0, until - performance.now()))));
        }
      };
      if (scenarios.has("idle")) {
        const cpu0 = running.sample()?.cpuSeconds ?? 0;
        await quietWindow(options.idleSeconds * 1000);
        const sample = running.sample();
        const m2 = await mark(this.env);
        results.idle = this.#result(name, concurrency, before, m2, {
          wallSeconds: null,
          sample,
          cpuSeconds: (sample?.cpuSeconds ?? 0) - cpu0,
        });
        progress(
          `  ${name}: idle ${options.idleSeconds} s: ${results.idle.writes} writes, ${results.idle.cpuSeconds?.toFixed(2)} CPU s`,
        );
        before = m2;
        lastPhase = "idle";
      } else if (scenarios.has("memory")) {
        await quietWindow(memorySettleMs + memorySampleMs);
        rss.splice(
          0,
          Math.floor((rss.length * memorySettleMs) / (memorySettleMs + memorySampleMs)),
        );
      }
      if (scenarios.has("memory")) {
        const sample = running.sample();
        results.memory = {
          ...results.converge,
          peakRssBytes: sample?.peakRssBytes ?? null,
          steadyRssBytes: median(rss),
        };
        progress(
          `  ${name}: steady RSS ${mebibytes(results.memory.steadyRssBytes)} MiB, peak ${mebibytes(results.memory.peakRssBytes)} MiB`,
        );
      }

      if (scenarios.has("churn")) {
        const cpu0 = running.sample()?.cpuSeconds ?? 0;
        const started = performance.now();
        const changed = await this.#churn(prepared);
        const doneAt = await withTimeout(
          running.unlessExited(prepared.observer.converged()),
          this.#timeoutFor(changed.length),
          `${name} converging after churn`,
        );
        const sample = running.sample();
        const wallChurn = (doneAt - started) / 1000;
        progress(
          `  ${name}: churn of ${changed.length} parents converged in ${wallChurn.toFixed(2)} s`,
        );
        await sleep(settleMs);
        const m3 = await mark(this.env);
        results.churn = this.#result(name, concurrency, before, m3, {
          wallSeconds: wallChurn,
          sample,
          cpuSeconds: (sample?.cpuSeconds ?? 0) - cpu0,
          own: { "PATCH benchparents": changed.length },
        });
        before = m3;
        lastPhase = "churn";
      }

      // Stop the first process. Its WATCH requests are counted now that they end: they belong
      // to converge, where the process started them; anything else to the last scenario.
      await running.stop();
      await this.#stopSidecars();
      await sleep(500);
      const m4 = await mark(this.env);
      this.#foldStop(results, "converge", lastPhase, before, m4);
      if (results.memory) {
        // memory's requests are those of the cold converge at this N.
        const { requests, writes, failedRequests } = results.converge;
        results.memory = { ...results.memory, requests, writes };
        if (failedRequests) results.memory.failedRequests = failedRequests;
      }
      await prepared.observer.close();
      await sleep(500);
      if (scenarios.has("restart")) restartBackground = await this.#quiesce();
      // Only the observer's own watches ended since m4: start the next window after them.
      before = await mark(this.env);

      if (scenarios.has("restart")) {
        const spawned = await this.#spawn(name, `restart-${parents}`, parents);
        second = spawned.process;
        const restarted = second;
        // The hook server, when there is one, sees every parent's first sync.
        const marker = spawned.marker ?? restarted;
        const readyAt = await withTimeout(
          restarted.unlessExited(marker.waitForLine(readyLine)),
          this.#timeoutFor(parents),
          `${name} becoming ready on ${parents} converged parents`,
        );
        const sample = restarted.sample();
        const wallReady = (readyAt - restarted.startedAt) / 1000;
        progress(`  ${name}: restarted and ready in ${wallReady.toFixed(2)} s`);
        await sleep(settleMs);
        await restarted.stop();
        await this.#stopSidecars();
        await sleep(500);
        const m6 = await mark(this.env);
        results.restart = this.#result(name, concurrency, before, m6, {
          wallSeconds: wallReady,
          sample,
        });
      }
      for (const result of Object.values(results)) {
        result.version = plan.version;
        result.settings = plan.settings;
        result.backgroundRequestsPerSecond = round1(background);
      }
      if (results.restart) results.restart.backgroundRequestsPerSecond = round1(restartBackground);
    } finally {
      await first?.stop();
      await second?.stop();
      await this.#stopSidecars();
      await prepared.observer.close();
      await this.#delete(prepared.namespace);
    }
    return results;
  }

  // -- the floor -----------------------------------------------------------------------------------

  async #runFloor(
    prepared: Prepared,
    mode: "create" | "update",
    parents: readonly FloorParent[],
    phase: string,
  ): Promise<ContenderProcess> {
    if (!this.env.floorBinary) throw new Error("the floor is not built");
    const jobPath = join(this.env.plane.dir, `floor-${phase}.json`);
    await writeFloorJob(jobPath, {
      server: this.env.plane.server,
      ...this.env.credentials,
      concurrency: this.env.options.floorConcurrency,
      namespace: prepared.namespace,
      mode,
      parents: parents.map(({ name, uid, generation, value, tier }) => ({
        name,
        uid,
        generation,
        value,
        tier,
      })),
    });
    return new ContenderProcess({
      name: "floor",
      command: this.env.floorBinary,
      args: [jobPath],
      cwd: this.env.repoRoot,
      logFile: join(this.env.logDir, `floor-${phase}.log`),
    });
  }

  /** The floor's converge (and churn) at one N. */
  async floor(parents: number, scenarios: ReadonlySet<ScenarioName>): Promise<PipelineResults> {
    const { progress, options } = this.env;
    const results: PipelineResults = {};
    const prepared = await this.#prepare("floor", parents);
    try {
      const background = await this.#quiesce();
      progress(`  background before the start: ${background.toFixed(1)} requests/s`);
      const m0 = await mark(this.env);
      prepared.observer.expect(expectedOf(prepared.parents));
      const writer = await this.#runFloor(
        prepared,
        "create",
        [...prepared.parents.values()],
        `converge-${parents}`,
      );
      const convergedAt = await withTimeout(
        prepared.observer.converged(),
        this.#timeoutFor(parents),
        `the floor converging ${parents} parents`,
      );
      const wall = (convergedAt - writer.startedAt) / 1000;
      const code = await writer.exited();
      if (code !== 0) throw new Error(`the floor exited with code ${code}; see its log`);
      const sample = writer.sample();
      progress(`  floor: converged ${parents} parents in ${wall.toFixed(2)} s`);
      await sleep(1_000);
      const m1 = await mark(this.env);
      results.converge = this.#result("floor", options.floorConcurrency, m0, m1, {
        wallSeconds: wall,
        sample,
      });
      // The floor keeps no cache: its memory row is only there for the converge time at this N.
      if (scenarios.has("memory")) results.memory = { ...results.converge };

      if (scenarios.has("churn")) {
        const started = performance.now();
        const changed = await this.#churn(prepared);
        const updater = await this.#runFloor(prepared, "update", changed, `churn-${parents}`);
        const doneAt = await withTimeout(
          prepared.observer.converged(),
          this.#timeoutFor(changed.length),
          "the floor converging after churn",
        );
        const churnCode = await updater.exited();
        if (churnCode !== 0)
          throw new Error(`the floor exited with code ${churnCode}; see its log`);
        const wallChurn = (doneAt - started) / 1000;
        progress(
          `  floor: churn of ${changed.length} parents converged in ${wallChurn.toFixed(2)} s`,
        );
        await sleep(1_000);
        const m2 = await mark(this.env);
        results.churn = this.#result("floor", options.floorConcurrency, m1, m2, {
          wallSeconds: wallChurn,
          sample: updater.sample(),
          own: { "PATCH benchparents": changed.length },
        });
      }
      for (const result of Object.values(results)) {
        result.version = "Go net/http, HTTP/2";
        result.settings = `${options.floorConcurrency} requests in flight`;
        result.backgroundRequestsPerSecond = round1(background);
      }
    } finally {
      await prepared.observer.close();
      await this.#delete(prepared.namespace);
    }
    return results;
  }

  // -- bookkeeping ---------------------------------------------------------------------------------

  #result(
    name: ContenderName,
    concurrency: number,
    from: Mark,
    to: Mark,
    figures: {
      wallSeconds: number | null;
      sample: ProcessSample | undefined;
      cpuSeconds?: number | null;
      own?: RequestCounts;
    },
  ): ContenderResult {
    const requests = subtractCounts(requestsBetween(from, to), figures.own ?? {});
    const failed = failedBetween(from, to);
    return {
      name,
      wallSeconds: figures.wallSeconds,
      peakRssBytes: figures.sample?.peakRssBytes ?? null,
      cpuSeconds:
        figures.cpuSeconds !== undefined
          ? figures.cpuSeconds
          : (figures.sample?.cpuSeconds ?? null),
      writes: countWrites(requests),
      requests,
      ...(Object.keys(failed).length > 0 ? { failedRequests: failed } : {}),
      concurrency,
      clusterCpuSeconds: Object.fromEntries(
        Object.entries(to.clusterCpu).map(([name, cpu]) => [
          name,
          Math.round((cpu - (from.clusterCpu[name] ?? 0)) * 100) / 100,
        ]),
      ),
    };
  }

  /** Adds the requests counted when a process stopped to the scenarios they belong to. */
  #foldStop(
    results: PipelineResults,
    watchesTo: ScenarioName,
    restTo: ScenarioName,
    from: Mark,
    to: Mark,
  ): void {
    const counted = requestsBetween(from, to);
    const watches = filterVerbs(counted, (verb) => verb === "WATCH");
    const rest = filterVerbs(counted, (verb) => verb !== "WATCH");
    const add = (scenario: ScenarioName, counts: RequestCounts) => {
      const result = results[scenario];
      if (!result) return;
      result.requests = addCounts(result.requests, counts);
      result.writes = countWrites(result.requests);
    };
    add(watchesTo, watches);
    add(restTo, rest);
  }
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

function mebibytes(bytes: number | null | undefined): string {
  return ((bytes ?? 0) / 1048576).toFixed(0);
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
