/**
 * `operon dev <module>`: the inner loop. Uses the local control plane (starting it when none
 * runs) or the cluster named with `--kubeconfig`/`--context`; installs the module's CRDs and
 * updates them when their schema changes; applies the samples once if asked; runs the
 * operators in a child process and replaces it within about a second of a source change — a
 * syntax or type error is shown and the running version kept —; prints one line per reconcile;
 * serves the trace viewer. Ctrl-C stops everything it started.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, type FSWatcher, watch as watchFiles } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { dirname, extname, join, relative, resolve } from "node:path";
import { Worker } from "node:worker_threads";
import { parseAllDocuments } from "yaml";
import { KubeClient } from "../client/client.ts";
import { applyCustomResourceDefinitions } from "../manager/install.ts";
import {
  AddressInUseError,
  parseBindAddress,
  type RunningServer,
  serve,
} from "../manager/servers.ts";
import { formatTraceLine } from "../manager/trace-line.ts";
import { traceRoutes } from "../manager/trace-server.ts";
import { type TraceRecord, TraceStore } from "../manager/trace-store.ts";
import { stableHash } from "../operator/drift.ts";
import type { CustomResourceDefinition } from "../resources/apiextensions.ts";
import type { KubeObject } from "../resources/object.ts";
import {
  clusterNameOption,
  ensureLocalCluster,
  localClusterName,
  stopLocalCluster,
} from "./cluster.ts";
import { type Command, UsageError } from "./command.ts";
import type { TypeCheckMessage } from "./dev-type-check.ts";
import type { ParentMessage, WorkerMessage } from "./dev-worker.ts";
import { kubeFlags, kubeOptions } from "./kube-options.ts";
import { resolveModulePath } from "./load-module.ts";

const sourceExtensions = new Set([".ts", ".mts", ".cts", ".js", ".mjs", ".cjs", ".json"]);
const ignoredFolders = /(^|\/)(node_modules|\.git|dist|deploy|coverage)(\/|$)/;

/** The nearest folder above `from` holding a package.json (else `from`). */
function projectRootOf(from: string): string {
  let dir = from;
  for (;;) {
    if (existsSync(join(dir, "package.json"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return from;
    dir = parent;
  }
}

/** The YAML and JSON files a samples path names: the file, or the folder's files, sorted. */
async function sampleFiles(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new Error(`${path}: no such file or folder of samples`);
  if (!info.isDirectory()) return [path];
  const names = (await readdir(path)).filter((name) => /\.(ya?ml|json)$/.test(name)).sort();
  return names.map((name) => join(path, name));
}

/** One `operon dev-worker` child: its process and what it has said. */
class OperatorProcess {
  readonly child: ChildProcess;
  readonly loaded: Promise<Extract<WorkerMessage, { type: "loaded" }>>;
  readonly spawnedAt = performance.now();
  /** Replaced by a newer version before it ran. */
  superseded = false;
  /** Being stopped on purpose (replaced, or the session ends). */
  stopping = false;
  /** Operon's modules are loaded; the user's module can come. */
  readonly ready: Promise<void>;
  #started: ((error?: Error) => void) | undefined;
  readonly exited: Promise<number | null>;

  constructor(argv: string[], onRecord: (record: TraceRecord) => void) {
    this.child = spawn(process.execPath, argv, { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    this.child.on("error", () => {});
    let loadedResolve!: (message: Extract<WorkerMessage, { type: "loaded" }>) => void;
    let loadedReject!: (error: Error) => void;
    this.loaded = new Promise((resolve, reject) => {
      loadedResolve = resolve;
      loadedReject = reject;
    });
    this.loaded.catch(() => {});
    let readyResolve!: () => void;
    this.ready = new Promise((resolve) => {
      readyResolve = resolve;
    });
    this.exited = new Promise((resolve) => this.child.once("exit", (code) => resolve(code)));
    this.child.on("message", (message: WorkerMessage) => {
      switch (message.type) {
        case "ready":
          readyResolve();
          break;
        case "loaded":
          loadedResolve(message);
          break;
        case "load-failed":
          loadedReject(new Error(message.message));
          break;
        case "started":
          this.#started?.();
          break;
        case "start-failed":
          this.#started?.(new Error(message.message));
          break;
        case "record":
          onRecord(message.record as TraceRecord);
          break;
      }
    });
    void this.exited.then((code) => {
      loadedReject(new Error(`the module could not be loaded (exit code ${code})`));
      this.#started?.(new Error(`the operators exited (code ${code})`));
    });
  }

  #send(message: ParentMessage): void {
    // A child that died meanwhile: its exit is handled where it is awaited.
    if (this.child.connected) this.child.send(message, (error) => error && undefined);
  }

  /** Loads the module (once Operon's own modules are loaded); see `loaded`. */
  load(modulePath: string): this {
    void this.ready.then(() => this.#send({ type: "load", module: modulePath }));
    return this;
  }

  /** Starts the operators; resolves once their caches are synced. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#started = (error) => {
        this.#started = undefined;
        if (error) reject(error);
        else resolve();
      };
      this.#send({ type: "start" });
    });
  }

  /** Stops gracefully (killed after `timeoutMs`). */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopping = true;
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.#send({ type: "stop" });
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  kill(): void {
    this.stopping = true;
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
  }
}

interface DevSettings {
  modulePath: string;
  projectRoot: string;
  kubeconfig: string;
  context: string | undefined;
  samples: string | undefined;
  logLevel: string;
  typeCheck: boolean;
  traceAddress: string;
}

/** One `operon dev` session. */
class DevSession {
  readonly #settings: DevSettings;
  readonly #client: KubeClient;
  readonly #stdout: NodeJS.WritableStream;
  readonly #stderr: NodeJS.WritableStream;
  readonly #color: boolean;
  readonly store = new TraceStore();
  /** CRD name → hash of the manifest applied. */
  readonly #crds = new Map<string, string>();
  #active: OperatorProcess | undefined;
  #candidate: OperatorProcess | undefined;
  /** A process with Operon loaded, waiting for the next version of the module. */
  #spare: OperatorProcess | undefined;
  #changeAt: number | undefined;
  #checkMs: number | undefined;
  #queue: Promise<void> = Promise.resolve();
  #samplesApplied = false;
  #closing = false;
  #server: RunningServer | undefined;
  #checker: Worker | undefined;
  /** A check is running; `#recheck`: files changed meanwhile. */
  #checking = false;
  #recheck = false;
  /** Folders watched for the type checker: the program's own files. */
  readonly #folders = new Map<string, FSWatcher>();
  #watcher: FSWatcher | undefined;
  #debounce: NodeJS.Timeout | undefined;

  constructor(
    settings: DevSettings,
    client: KubeClient,
    stdout: NodeJS.WritableStream,
    stderr: NodeJS.WritableStream,
  ) {
    this.#settings = settings;
    this.#client = client;
    this.#stdout = stdout;
    this.#stderr = stderr;
    this.#color = (stdout as { isTTY?: boolean }).isTTY === true && !process.env.NO_COLOR;
  }

  say(line: string): void {
    this.#stderr.write(`operon dev: ${line}\n`);
  }

  get viewerUrl(): string | undefined {
    return this.#server ? `${this.#server.url}/` : undefined;
  }

  async serveViewer(): Promise<void> {
    const address = parseBindAddress(this.#settings.traceAddress);
    if (!address) return;
    try {
      this.#server = await serve(address, traceRoutes(this.store));
    } catch (error) {
      if ((error as { code?: unknown }).code === "EADDRINUSE") {
        throw new AddressInUseError("the trace viewer", this.#settings.traceAddress, [
          "--trace-bind-address",
        ]);
      }
      throw error;
    }
    this.say(`trace viewer at ${this.viewerUrl}`);
  }

  #argv(): string[] {
    const { kubeconfig, context, logLevel } = this.#settings;
    return [
      ...process.execArgv,
      process.argv[1]!,
      "dev-worker",
      ...(kubeconfig ? ["--kubeconfig", kubeconfig] : []),
      ...(context ? ["--context", context] : []),
      "--log-level",
      logLevel,
    ];
  }

  #newProcess(): OperatorProcess {
    return new OperatorProcess(this.#argv(), (made) => {
      const record = this.store.addRecord(made);
      this.#stdout.write(`${formatTraceLine(record, { color: this.#color })}\n`);
    });
  }

  /** A process loading the module now: the spare one (warm) when there is one. */
  #spawn(): OperatorProcess {
    const spare = this.#spare;
    const usable = spare && spare.child.exitCode === null && spare.child.signalCode === null;
    const next = usable ? spare : this.#newProcess();
    if (spare && !usable) spare.kill();
    this.#spare = this.#closing ? undefined : this.#newProcess();
    return next.load(this.#settings.modulePath);
  }

  /** Runs `step` after the steps before it (restarts never overlap). */
  #serially(step: () => Promise<void>): Promise<void> {
    this.#queue = this.#queue.then(step).catch((error: unknown) => {
      this.say(`error: ${error instanceof Error ? error.message : String(error)}`);
    });
    return this.#queue;
  }

  /** Applies the CRDs whose manifest changed since they were last applied. */
  async #installCrds(crds: unknown[]): Promise<void> {
    const changed = (crds as CustomResourceDefinition[]).filter(
      (crd) => this.#crds.get(crd.metadata.name!) !== stableHash(crd),
    );
    if (changed.length === 0) return;
    await applyCustomResourceDefinitions(this.#client, changed, { fieldManager: "operon-dev" });
    for (const crd of changed) {
      const first = !this.#crds.has(crd.metadata.name!);
      this.#crds.set(crd.metadata.name!, stableHash(crd));
      this.say(
        `${first ? "installed" : "updated"} CustomResourceDefinition ${crd.metadata.name}${first ? "" : " (its schema changed)"}`,
      );
    }
  }

  async #applySamples(): Promise<void> {
    const path = this.#settings.samples;
    if (!path || this.#samplesApplied) return;
    this.#samplesApplied = true;
    for (const file of await sampleFiles(path)) {
      const text = await readFile(file, "utf8");
      for (const document of parseAllDocuments(text)) {
        const object = document.toJS() as KubeObject | null;
        if (!object?.apiVersion || !object.kind || !object.metadata?.name) continue;
        await this.#client.apply(
          { apiVersion: object.apiVersion, kind: object.kind },
          object as never,
          {
            fieldManager: "operon-dev",
            force: true,
          },
        );
        this.say(
          `applied ${object.kind} ${object.metadata.namespace ? `${object.metadata.namespace}/` : ""}${object.metadata.name} from ${relative(process.cwd(), file) || file}`,
        );
      }
    }
  }

  /**
   * Replaces the running operators with `next` once it has loaded: CRDs first, then the old
   * process stops and the new one starts. A module that does not load leaves the old running.
   */
  async #promote(next: OperatorProcess, first: boolean): Promise<void> {
    let loaded: Awaited<OperatorProcess["loaded"]>;
    try {
      loaded = await next.loaded;
    } catch (error) {
      next.kill();
      if (this.#candidate === next) this.#candidate = undefined;
      if (next.superseded) return;
      const message = error instanceof Error ? error.message : String(error);
      this.say(
        `the module did not load${this.#active ? "; the running version keeps running" : ""}:\n${message}`,
      );
      return;
    }
    if (this.#closing || next.superseded) {
      next.kill();
      return;
    }
    await this.#installCrds(loaded.crds);
    const previous = this.#active;
    await previous?.stop();
    this.#active = next;
    if (this.#candidate === next) this.#candidate = undefined;
    try {
      await next.start();
    } catch (error) {
      this.#active = undefined;
      next.kill();
      this.say(
        `the operators did not start: ${error instanceof Error ? error.message : String(error)}`,
      );
      return;
    }
    const names = loaded.operators.map((o) => `${o.name} (${o.kind})`).join(", ");
    if (first) {
      this.say(`running ${names}; watching for changes (Ctrl-C stops)`);
    } else {
      const since = this.#changeAt ?? next.spawnedAt;
      const check =
        this.#checkMs !== undefined ? `, type check ${Math.round(this.#checkMs)} ms` : "";
      this.say(
        `restarted ${names} in ${Math.round(performance.now() - since)} ms after the change${check}`,
      );
    }
    void next.exited.then((code) => {
      if (this.#active === next && !this.#closing && !next.stopping) {
        this.#active = undefined;
        this.say(`the operators exited (code ${code}); save a file to start them again`);
      }
    });
    await this.#applySamples();
  }

  /** Starts the first version. */
  async start(): Promise<void> {
    await this.#serially(() => this.#promote(this.#spawn(), true));
  }

  /** A source file changed: start loading the new version at once (the check may veto it). */
  #changed(): void {
    if (this.#closing) return;
    this.#changeAt = performance.now();
    this.#checkMs = undefined;
    if (this.#candidate) {
      this.#candidate.superseded = true;
      this.#candidate.kill();
    }
    this.#candidate = this.#spawn();
  }

  /** The check of the change passed (or there is none): replace the running version. */
  #accept(): void {
    const candidate = this.#candidate ?? this.#spawn();
    this.#candidate = candidate;
    void this.#serially(() =>
      this.#promote(candidate, this.#active === undefined && this.#changeAt === undefined),
    );
  }

  /** Watches the sources: TypeScript's watch mode (which checks types), else the file system. */
  watch(): void {
    if (this.#settings.typeCheck) {
      const file = import.meta.url.endsWith(".ts") ? "./dev-type-check.ts" : "./dev-type-check.js";
      const worker = new Worker(new URL(file, import.meta.url), {
        workerData: {
          modulePath: this.#settings.modulePath,
          projectRoot: this.#settings.projectRoot,
        },
        stdout: false,
        stderr: false,
      });
      this.#checker = worker;
      this.#checking = true; // its first check starts at once
      // The module's folder first: a save during the first check is not missed.
      this.#watchFolder(dirname(this.#settings.modulePath));
      worker.unref();
      worker.on("message", (message: TypeCheckMessage) => this.#onCheck(message));
      worker.on("error", (error) => {
        this.say(
          `the type checker failed (${error.message}); restarting on file changes without it`,
        );
        this.#watchFileSystem();
      });
      return;
    }
    this.#watchFileSystem();
  }

  #onCheck(message: TypeCheckMessage): void {
    this.say(
      `debug: check ${message.type} ${"errors" in message ? message.errors : ""} recheck=${this.#recheck}`,
    );
    if (this.#closing) return;
    switch (message.type) {
      case "unavailable":
        this.say(`no type check (${message.reason}); restarting on file changes`);
        void this.#checker?.terminate();
        this.#checker = undefined;
        this.#watchFileSystem();
        return;
      case "verdict":
        this.#checking = false;
        for (const folder of message.folders) this.#watchFolder(folder);
        if (this.#recheck) {
          // Files changed during this check: its verdict is stale.
          this.#recheck = false;
          this.#check();
          return;
        }
        if (message.initial) {
          if (message.errors > 0) {
            this.#stderr.write(message.text);
            this.say(
              `the module has ${message.errors} type error(s); it runs anyway until you fix them`,
            );
          } else {
            this.say("types checked: no errors; each change is checked before it runs");
          }
          return;
        }
        this.#checkMs =
          this.#changeAt === undefined ? undefined : performance.now() - this.#changeAt;
        if (message.errors > 0) {
          this.#stderr.write(message.text);
          if (this.#candidate) {
            this.#candidate.superseded = true;
            this.#candidate.kill();
          }
          this.#candidate = undefined;
          this.say(
            `${message.errors} type error(s)${this.#active ? "; the running version keeps running" : ""}`,
          );
          return;
        }
        this.#accept();
        return;
    }
  }

  /** Asks the checker to check (again once done, when a check is running). */
  #check(): void {
    if (this.#checking) {
      this.#recheck = true;
      return;
    }
    this.#checking = true;
    this.#checker?.postMessage({ type: "check" });
  }

  /** Watches a folder of the program's files: a save there starts a new version and a check. */
  #watchFolder(folder: string): void {
    if (this.#folders.has(folder)) return;
    try {
      const watcher = watchFiles(folder, (_event, name) => {
        this.say(
          `debug: event ${folder} ${name} checking=${this.#checking} ${process.getActiveResourcesInfo().join(",")}`,
        );
        if (!name || !sourceExtensions.has(extname(name))) return;
        // Saves come as several events: act on the last.
        clearTimeout(this.#debounce);
        this.#debounce = setTimeout(() => {
          this.#changed();
          this.say(
            `debug: changed, checker=${this.#checker !== undefined} checking=${this.#checking}`,
          );
          this.#check();
        }, 30);
      });
      watcher.on("error", () => {});
      this.#folders.set(folder, watcher);
    } catch {
      // A folder that went away: nothing to watch there.
    }
  }

  #watchFileSystem(): void {
    if (this.#watcher) return;
    this.#watcher = watchFiles(this.#settings.projectRoot, { recursive: true }, (_event, name) => {
      if (!name || ignoredFolders.test(name) || !sourceExtensions.has(extname(name))) return;
      clearTimeout(this.#debounce);
      this.#debounce = setTimeout(() => {
        this.#changed();
        this.#accept();
      }, 100);
    });
  }

  /** Stops everything it started. */
  async close(): Promise<void> {
    this.#closing = true;
    clearTimeout(this.#debounce);
    this.#watcher?.close();
    for (const watcher of this.#folders.values()) watcher.close();
    await this.#checker?.terminate();
    this.#candidate?.kill();
    this.#spare?.kill();
    await this.#queue;
    await this.#active?.stop();
    await this.#server?.close();
  }

  kill(): void {
    this.#candidate?.kill();
    this.#spare?.kill();
    this.#active?.kill();
  }
}

export const dev: Command = {
  path: ["dev"],
  summary: "The inner loop: cluster, CRDs, samples, operators restarted on change, a trace viewer",
  usage: "<module>",
  description:
    "Runs a module's operators for development, until Ctrl-C:\n" +
    "- on the local control plane (`operon cluster up`'s, started when none runs and stopped\n" +
    "  again on exit), or on the cluster named with --kubeconfig/--context;\n" +
    "- with the module's CustomResourceDefinitions installed, and updated when their schema\n" +
    "  changes;\n" +
    "- with the samples applied once, when asked (--samples, --apply-samples);\n" +
    "- restarted within about a second when a source file changes; a syntax or type error is\n" +
    "  shown and the running version keeps running;\n" +
    "- printing one line per reconcile, and serving the trace viewer (--trace-bind-address).",
  options: {
    ...kubeOptions,
    ...clusterNameOption,
    samples: {
      type: "string",
      description: "Apply these YAML files (a file or a folder) once, after the CRDs",
    },
    "apply-samples": {
      type: "boolean",
      description: "Apply the samples/ folder beside the module (or at the project's root) once",
      default: false,
    },
    "trace-bind-address": {
      type: "string",
      description:
        "Where the trace viewer is served: 127.0.0.1:8090, :0 (any free port) or 0 (off)",
      default: "127.0.0.1:8090",
    },
    "skip-type-check": {
      type: "boolean",
      description: "Restart on file changes without checking types first",
      default: false,
    },
    "log-level": {
      type: "string",
      description: "The operators' own log level (their reconciles are printed anyway)",
      default: "error",
    },
  },
  async run({ values, positionals, stdout, stderr }) {
    if (!positionals[0]) {
      throw new UsageError(
        "name the module that exports your operator, e.g. operon dev ./src/operator.ts",
      );
    }
    const modulePath = await resolveModulePath(positionals[0], "dev");
    const projectRoot = projectRootOf(dirname(modulePath));
    let samples = typeof values.samples === "string" ? resolve(values.samples) : undefined;
    if (!samples && values["apply-samples"] === true) {
      samples = [join(dirname(modulePath), "samples"), join(projectRoot, "samples")].find((dir) =>
        existsSync(dir),
      );
      if (!samples) {
        throw new UsageError(
          `--apply-samples: no samples/ folder beside ${relative(process.cwd(), modulePath)} or at ${projectRoot}; name one with --samples <path>`,
        );
      }
    }
    const traceAddress = String(values["trace-bind-address"] ?? "127.0.0.1:8090");
    try {
      parseBindAddress(traceAddress);
    } catch (error) {
      throw new UsageError(`--trace-bind-address: ${(error as Error).message}`);
    }

    // The cluster: the one named, else the local control plane.
    const flags = kubeFlags(values);
    let kubeconfig = flags.kubeconfig;
    let startedCluster: string | undefined;
    if (!kubeconfig && !flags.context) {
      const name = await localClusterName(values);
      const { state, started } = await ensureLocalCluster(name, 2, stderr);
      kubeconfig = state.kubeconfigPath;
      if (started) startedCluster = name;
    }
    const client = await KubeClient.fromKubeConfig({
      ...(kubeconfig ? { kubeconfig } : {}),
      ...(flags.context ? { context: flags.context } : {}),
      fieldManager: "operon-dev",
    });
    const session = new DevSession(
      {
        modulePath,
        projectRoot,
        kubeconfig: kubeconfig ?? process.env.KUBECONFIG ?? "",
        context: flags.context,
        samples,
        logLevel: String(values["log-level"] ?? "error"),
        typeCheck: values["skip-type-check"] !== true,
        traceAddress,
      },
      client,
      stdout,
      stderr,
    );
    let signals = 0;
    let onSignal: () => void = () => {};
    const interrupted = new Promise<void>((resolve) => {
      onSignal = () => {
        signals++;
        if (signals === 1) resolve();
        else {
          session.kill();
          process.exit(1);
        }
      };
    });
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    const keepAlive = setInterval(() => {}, 60_000);
    try {
      await session.serveViewer();
      session.watch();
      await Promise.race([session.start(), interrupted]);
      await interrupted;
      session.say("stopping");
    } finally {
      await session.close();
      await client.close();
      if (startedCluster) {
        session.say(`stopping the local cluster "${startedCluster}" it started`);
        await stopLocalCluster(startedCluster);
      }
      clearInterval(keepAlive);
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
    return 0;
  },
};
