/**
 * Finds the control-plane binaries, or builds them from Go modules into a cache outside the
 * repository.
 *
 * Lookup order for each binary: `TEST_ASSET_<NAME>` (envtest's convention), `OPERON_ASSETS`,
 * `KUBEBUILDER_ASSETS`, then the cache (`$OPERON_CACHE_DIR`, else `$XDG_CACHE_HOME/operon`, else
 * `~/.cache/operon`). Whatever is still missing is built with the machine's Go toolchain. Builds
 * take a lock so concurrent test runs and CLI calls build once.
 */
import { spawn } from "node:child_process";
import { constants, existsSync } from "node:fs";
import { access, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { controlPlaneVersions, versionsTag } from "./versions.ts";

export const binaryNames = [
  "etcd",
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
  "kubectl",
  "kwok",
] as const;

export type BinaryName = (typeof binaryNames)[number];
export type AssetPaths = Record<BinaryName, string>;

/** Progress reporting for long steps; the default writes to stderr. */
export type ProgressReporter = (message: string) => void;

export const stderrProgress: ProgressReporter = (message) => {
  process.stderr.write(`operon: ${message}\n`);
};

/** The directory that holds (or will hold) the cached binaries for the pinned versions. */
export function assetCacheDir(): string {
  const base =
    process.env.OPERON_CACHE_DIR ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "operon");
  return join(base, "assets", versionsTag());
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

function envAssetName(name: BinaryName): string {
  return `TEST_ASSET_${name.toUpperCase().replaceAll("-", "_")}`;
}

/** Where a binary is found without building, or undefined. */
export async function findBinary(name: BinaryName): Promise<string | undefined> {
  const explicit = process.env[envAssetName(name)];
  if (explicit) {
    if (await isExecutable(explicit)) return explicit;
    throw new Error(`${envAssetName(name)}=${explicit} is not an executable file`);
  }
  for (const dir of [process.env.OPERON_ASSETS, process.env.KUBEBUILDER_ASSETS]) {
    if (dir && (await isExecutable(join(dir, name)))) return join(dir, name);
  }
  const cached = join(assetCacheDir(), "bin", name);
  return (await isExecutable(cached)) ? cached : undefined;
}

export interface EnsureAssetsOptions {
  /** Binaries needed; defaults to all of them. */
  only?: readonly BinaryName[];
  progress?: ProgressReporter;
}

/**
 * Returns the path of every requested binary, building the missing ones first.
 *
 * @example
 * const bins = await ensureAssets();
 * console.log(bins["kube-apiserver"]);
 */
export async function ensureAssets(options: EnsureAssetsOptions = {}): Promise<AssetPaths> {
  const wanted = options.only ?? binaryNames;
  const progress = options.progress ?? stderrProgress;
  const found: Partial<AssetPaths> = {};
  const missing: BinaryName[] = [];
  for (const name of wanted) {
    const path = await findBinary(name);
    if (path) found[name] = path;
    else missing.push(name);
  }
  if (missing.length > 0) {
    await withBuildLock(progress, async () => {
      // Another process may have finished the build while this one waited for the lock.
      const stillMissing: BinaryName[] = [];
      for (const name of missing) {
        const path = await findBinary(name);
        if (path) found[name] = path;
        else stillMissing.push(name);
      }
      if (stillMissing.length > 0) {
        await buildBinaries(stillMissing, progress);
        for (const name of stillMissing) found[name] = join(assetCacheDir(), "bin", name);
      }
    });
  }
  return found as AssetPaths;
}

// ---------------------------------------------------------------------------------------------
// Locking

async function withBuildLock<T>(progress: ProgressReporter, work: () => Promise<T>): Promise<T> {
  const dir = assetCacheDir();
  await mkdir(dir, { recursive: true });
  const lock = join(dir, "build.lock");
  let announced = false;
  for (;;) {
    try {
      await mkdir(lock);
      await writeFile(join(lock, "pid"), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number.parseInt(await readFile(join(lock, "pid"), "utf8").catch(() => ""), 10);
      if (Number.isFinite(holder) && !processAlive(holder)) {
        // The builder died; its half-built output is in temp names, so the lock is safe to take.
        await rm(lock, { recursive: true, force: true });
        continue;
      }
      if (!announced) {
        progress(`waiting for another build of the control-plane binaries (pid ${holder || "?"})`);
        announced = true;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
  try {
    return await work();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

// ---------------------------------------------------------------------------------------------
// Building

const kubernetesBinaries = [
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
  "kubectl",
] as const satisfies readonly BinaryName[];

async function buildBinaries(names: BinaryName[], progress: ProgressReporter): Promise<void> {
  const go = await findGo();
  const binDir = join(assetCacheDir(), "bin");
  await mkdir(binDir, { recursive: true });
  const kube = names.filter((n): n is (typeof kubernetesBinaries)[number] =>
    (kubernetesBinaries as readonly string[]).includes(n),
  );
  if (names.includes("etcd")) await buildEtcd(go, binDir, progress);
  if (names.includes("kwok")) await buildKwok(go, binDir, progress);
  if (kube.length > 0) await buildKubernetes(go, kube, binDir, progress);
}

async function findGo(): Promise<string> {
  const candidates = [
    process.env.GOROOT ? join(process.env.GOROOT, "bin", "go") : undefined,
    ...(process.env.PATH ?? "").split(":").map((dir) => join(dir, "go")),
    "/usr/local/go/bin/go",
  ];
  for (const candidate of candidates) {
    if (candidate && (await isExecutable(candidate))) return candidate;
  }
  throw new Error(
    "The control-plane binaries are not built yet and no Go toolchain was found to build them.\n" +
      "  Either install Go 1.26 or newer (https://go.dev/doc/install) and run again,\n" +
      "  or point OPERON_ASSETS at a directory that holds " +
      `${binaryNames.join(", ")} (Kubernetes v${controlPlaneVersions.kubernetes}, etcd v${controlPlaneVersions.etcd}).`,
  );
}

function goEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, CGO_ENABLED: "0", GOFLAGS: "-mod=mod", ...extra };
}

/** Runs a Go command, reporting elapsed time while it runs and the output's tail on failure. */
async function runGo(
  go: string,
  args: string[],
  cwd: string,
  what: string,
  progress: ProgressReporter,
  env: NodeJS.ProcessEnv = goEnv(),
): Promise<string> {
  const started = Date.now();
  const child = spawn(go, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const ticker = setInterval(() => {
    progress(`${what}: ${Math.round((Date.now() - started) / 1000)}s elapsed`);
  }, 30_000);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", resolve);
    });
    if (code !== 0) {
      const tail = output.trim().split("\n").slice(-30).join("\n");
      throw new Error(
        `${what} failed (go ${args.join(" ")} in ${cwd}, exit ${code}):\n${tail}\n` +
          "  Set OPERON_ASSETS to a directory with prebuilt binaries to skip building.",
      );
    }
    return output;
  } finally {
    clearInterval(ticker);
  }
}

function seconds(since: number): string {
  return `${Math.round((Date.now() - since) / 1000)}s`;
}

async function buildEtcd(go: string, binDir: string, progress: ProgressReporter): Promise<void> {
  const version = controlPlaneVersions.etcd;
  const src = join(assetCacheDir(), "src", "etcd");
  await mkdir(src, { recursive: true });
  await writeFile(
    join(src, "go.mod"),
    `module operon.local/etcd\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 v${version}\n`,
  );
  // etcd's server entry point is a library package; a two-line main makes it a binary.
  await writeFile(
    join(src, "main.go"),
    'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n',
  );
  const started = Date.now();
  progress(`building etcd v${version} from Go modules (first run only)`);
  await runGo(go, ["mod", "tidy"], src, "resolving etcd modules", progress);
  const ldflags = `-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=v${version}`;
  await runGo(
    go,
    ["build", "-trimpath", "-ldflags", ldflags, "-o", join(binDir, "etcd.tmp"), "."],
    src,
    "building etcd",
    progress,
  );
  await rename(join(binDir, "etcd.tmp"), join(binDir, "etcd"));
  progress(`built etcd in ${seconds(started)}`);
}

async function buildKwok(go: string, binDir: string, progress: ProgressReporter): Promise<void> {
  const version = controlPlaneVersions.kwok;
  const tmpBin = join(binDir, ".kwok-build");
  await mkdir(tmpBin, { recursive: true });
  const started = Date.now();
  progress(`building kwok v${version} from Go modules (first run only)`);
  await runGo(
    go,
    ["install", "-trimpath", "-ldflags", "-s -w", `sigs.k8s.io/kwok/cmd/kwok@v${version}`],
    binDir,
    "building kwok",
    progress,
    goEnv({ GOBIN: tmpBin, GOFLAGS: "" }),
  );
  await rename(join(tmpBin, "kwok"), join(binDir, "kwok"));
  await rm(tmpBin, { recursive: true, force: true });
  progress(`built kwok in ${seconds(started)}`);
}

/**
 * k8s.io/kubernetes cannot be `go install`ed: its go.mod points every k8s.io staging module at a
 * local directory. A wrapper module requires it and replaces each staging module with the
 * published release of the same minor (v0.Y.Z for Kubernetes 1.Y.Z).
 */
async function buildKubernetes(
  go: string,
  names: readonly string[],
  binDir: string,
  progress: ProgressReporter,
): Promise<void> {
  const version = controlPlaneVersions.kubernetes;
  const [major, minor] = version.split(".");
  const stagingVersion = `v0.${version.split(".").slice(1).join(".")}`;
  const src = join(assetCacheDir(), "src", "kubernetes");
  await mkdir(src, { recursive: true });
  const started = Date.now();
  progress(
    `building ${names.join(", ")} (Kubernetes v${version}) from Go modules; the first build takes 10-25 minutes on 2 cores`,
  );
  const download = await runGo(
    go,
    ["mod", "download", "-json", `k8s.io/kubernetes@v${version}`],
    src,
    "downloading k8s.io/kubernetes",
    progress,
    goEnv({ GOFLAGS: "" }),
  );
  const goModPath = (JSON.parse(download) as { GoMod?: string }).GoMod;
  if (!goModPath)
    throw new Error(`go mod download gave no go.mod for k8s.io/kubernetes@v${version}`);
  const upstreamGoMod = await readFile(goModPath, "utf8");
  const staging = [...upstreamGoMod.matchAll(/^\s*(k8s\.io\/[\w.-]+)\s+=>\s+\.\/staging\//gm)].map(
    (match) => match[1],
  );
  const goVersion = /^go\s+(\S+)/m.exec(upstreamGoMod)?.[1] ?? "1.26";
  await writeFile(
    join(src, "go.mod"),
    [
      "module operon.local/kubernetes",
      "",
      `go ${goVersion}`,
      "",
      `require k8s.io/kubernetes v${version}`,
      "",
      "replace (",
      ...staging.map((module) => `\t${module} => ${module} ${stagingVersion}`),
      ")",
      "",
    ].join("\n"),
  );
  // Importing the commands under a build tag lets `go mod tidy` record every dependency.
  await writeFile(
    join(src, "tools.go"),
    [
      "//go:build tools",
      "",
      "package tools",
      "",
      "import (",
      ...kubernetesBinaries.map((name) => `\t_ "k8s.io/kubernetes/cmd/${name}"`),
      ")",
      "",
    ].join("\n"),
  );
  await runGo(go, ["mod", "tidy"], src, "resolving Kubernetes modules", progress);
  // Without these the binaries report v0.0.0-master and clients warn about version skew.
  const ldflags = ["-s", "-w"];
  for (const pkg of ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"]) {
    ldflags.push(
      `-X ${pkg}.gitVersion=v${version}`,
      `-X ${pkg}.gitMajor=${major}`,
      `-X ${pkg}.gitMinor=${minor}`,
      `-X ${pkg}.gitTreeState=clean`,
    );
  }
  const outDir = join(binDir, ".kubernetes-build");
  await mkdir(outDir, { recursive: true });
  await runGo(
    go,
    [
      "build",
      "-trimpath",
      "-ldflags",
      ldflags.join(" "),
      "-o",
      `${outDir}/`,
      ...names.map((name) => `k8s.io/kubernetes/cmd/${name}`),
    ],
    src,
    `building ${names.join(", ")}`,
    progress,
  );
  for (const name of names) await rename(join(outDir, name), join(binDir, name));
  await rm(outDir, { recursive: true, force: true });
  progress(`built ${names.join(", ")} in ${seconds(started)}`);
}

/** True when every binary is already available without building. */
export async function assetsReady(): Promise<boolean> {
  for (const name of binaryNames) if (!(await findBinary(name))) return false;
  return existsSync(assetCacheDir()) || Boolean(process.env.OPERON_ASSETS);
}
