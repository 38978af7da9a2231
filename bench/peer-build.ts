/**
 * Builds the compiled contenders (the controller-runtime peer and the write floor with Go, the
 * kube-rs peer with Cargo) with the machine's toolchains into a cache outside the repository,
 * `~/.cache/operon/bench/<name>-<hash>/`. The hash covers the sources, the manifests and lock
 * files and the toolchain's version, so a change rebuilds and an unchanged tree reuses the binary.
 */
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import {
  copyFile,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  symlink,
  writeFile,
} from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The first of `candidates` that answers `<candidate> --version` (or `version`). */
async function findTool(
  what: string,
  candidates: (string | undefined)[],
  versionArgs: string[],
  hint: string,
): Promise<{ command: string; version: string }> {
  for (const candidate of candidates) {
    if (!candidate) continue;
    try {
      const { stdout } = await run(candidate, versionArgs);
      return { command: candidate, version: stdout.trim() };
    } catch {
      // try the next one
    }
  }
  throw new Error(`${what} was not found (${hint})`);
}

/** The `go` command: `$GO`, else `go` on the PATH, else the usual install location. */
export async function findGo(): Promise<string> {
  return (await goToolchain()).command;
}

function goToolchain() {
  return findTool(
    "the Go toolchain",
    [process.env.GO, "go", "/usr/local/go/bin/go"],
    ["version"],
    "looked for $GO, go on the PATH and /usr/local/go/bin/go; install Go or set GO to its go command",
  );
}

function cargoToolchain() {
  return findTool(
    "Cargo",
    [process.env.CARGO, "cargo", join(homedir(), ".cargo", "bin", "cargo")],
    ["--version"],
    "looked for $CARGO, cargo on the PATH and ~/.cargo/bin/cargo; install Rust with rustup or set CARGO",
  );
}

export function benchCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "operon", "bench");
}

/** Files of a Go module that make its binary. */
const goSources = /\.go$|^go\.(mod|sum)$/;
/** Files of a Cargo package that make its binary. */
const cargoSources = /\.rs$|^Cargo\.(toml|lock)$/;

/** A hash of a module's sources (the files whose names match `pattern`) and the toolchain. */
export async function sourceHash(
  directory: string,
  toolchain: string,
  pattern: RegExp = goSources,
): Promise<string> {
  const hash = createHash("sha256").update(toolchain);
  const walk = async (dir: string): Promise<string[]> => {
    const entries = await readdir(dir, { withFileTypes: true });
    const files: string[] = [];
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== "target") files.push(...(await walk(path)));
      } else if (pattern.test(entry.name)) files.push(path);
    }
    return files;
  };
  const files = (await walk(directory)).sort();
  for (const file of files) {
    hash
      .update(file.slice(directory.length))
      .update("\0")
      .update(await readFile(file))
      .update("\0");
  }
  return hash.digest("hex").slice(0, 16);
}

interface BuildPlan {
  name: string;
  sourceDir: string;
  toolchain: { command: string; version: string };
  pattern: RegExp;
  what: string;
  /** Builds into `output` (a path to write the binary to). */
  build(output: string): {
    args: string[];
    env: Record<string, string>;
    after?: () => Promise<void>;
  };
}

async function ensureBinary(plan: BuildPlan, progress: (line: string) => void): Promise<string> {
  const hash = await sourceHash(plan.sourceDir, plan.toolchain.version, plan.pattern);
  const directory = join(benchCacheDir(), `${plan.name}-${hash}`);
  const binary = join(directory, plan.name);
  if (existsSync(binary)) return binary;
  await mkdir(directory, { recursive: true });
  progress(
    `building ${plan.name} from ${plan.sourceDir} with ${plan.toolchain.version} (${plan.what})...`,
  );
  const started = Date.now();
  const partial = `${binary}.partial`;
  const step = plan.build(partial);
  await new Promise<void>((resolve, reject) => {
    const child = spawn(plan.toolchain.command, step.args, {
      cwd: plan.sourceDir,
      env: { ...process.env, ...step.env },
      stdio: ["ignore", "inherit", "inherit"],
    });
    const ticker = setInterval(
      () =>
        progress(
          `  still building ${plan.name} (${Math.round((Date.now() - started) / 1000)} s)...`,
        ),
      30_000,
    );
    child.on("error", (error) => {
      clearInterval(ticker);
      reject(error);
    });
    child.on("exit", (code) => {
      clearInterval(ticker);
      if (code === 0) resolve();
      else reject(new Error(`the build of ${plan.name} failed with exit code ${code}`));
    });
  });
  await step.after?.();
  await rename(partial, binary);
  progress(`built ${plan.name} in ${Math.round((Date.now() - started) / 1000)} s: ${binary}`);
  // Older builds of the same contender are no longer needed.
  for (const entry of await readdir(benchCacheDir())) {
    const other = entry.startsWith(`${plan.name}-`) ? entry.slice(plan.name.length + 1) : "";
    if (/^[0-9a-f]{16}$/.test(other) && other !== hash) {
      await rm(join(benchCacheDir(), entry), { recursive: true, force: true });
    }
  }
  return binary;
}

/**
 * Returns the path of the Go binary built from `sourceDir` (its package `packagePath`, default
 * the module's root), building it first when needed.
 */
export async function ensureGoBinary(
  name: string,
  sourceDir: string,
  progress: (line: string) => void,
  packagePath = ".",
): Promise<string> {
  return ensureBinary(
    {
      name,
      sourceDir,
      toolchain: await goToolchain(),
      pattern: goSources,
      what: "the first build downloads modules and compiles them: a few minutes on a small machine",
      build: (output) => ({
        args: ["build", "-trimpath", "-o", output, packagePath],
        env: { GOFLAGS: `${process.env.GOFLAGS ?? ""} -buildvcs=false`.trim() },
      }),
    },
    progress,
  );
}

/**
 * Unpacks a source tarball (once) into the bench cache and returns the folder it holds (the
 * tarball's single top-level folder).
 *
 * @example
 * const source = await unpackSource("/path/metacontroller-175eac0.tar.gz", "metacontroller-src");
 */
export async function unpackSource(tarball: string, name: string): Promise<string> {
  const content = await readFile(tarball);
  const hash = createHash("sha256").update(content).digest("hex").slice(0, 16);
  const directory = join(benchCacheDir(), `${name}-${hash}`);
  const done = join(directory, ".unpacked");
  const inside = async () =>
    join(directory, (await readdir(directory)).find((entry) => entry !== ".unpacked")!);
  if (existsSync(done)) return inside();
  await rm(directory, { recursive: true, force: true });
  await mkdir(directory, { recursive: true });
  await run("tar", ["-xzf", tarball, "-C", directory]);
  await writeFile(done, "");
  return inside();
}

/**
 * Returns the path of the release binary of the Cargo package in `sourceDir` (one `[[bin]]`
 * named like the package), building it first when needed. Cargo's own target directory stays in
 * the cache (`<cache>/<name>-target`) so a change of the sources recompiles only the package.
 */
export async function ensureCargoBinary(
  name: string,
  sourceDir: string,
  progress: (line: string) => void,
): Promise<string> {
  const toolchain = await cargoToolchain();
  const targetDir = join(benchCacheDir(), `${name}-target`);
  const manifest = await readFile(join(sourceDir, "Cargo.toml"), "utf8");
  const packageName = /^\s*name\s*=\s*"([^"]+)"/m.exec(manifest)?.[1] ?? name;
  return ensureBinary(
    {
      name,
      sourceDir,
      toolchain,
      pattern: cargoSources,
      what:
        "the first build downloads the crates in Cargo.lock and compiles them in release mode: " +
        "several minutes on a small machine; Cargo prints each crate as it compiles",
      build: (output) => ({
        args: ["build", "--release", "--locked"],
        env: { CARGO_TARGET_DIR: targetDir, CARGO_TERM_PROGRESS_WHEN: "never" },
        after: () => copyFile(join(targetDir, "release", packageName), output),
      }),
    },
    progress,
  );
}

/** Where {@link buildOperon} puts Operon's build and the benchmark's operator module. */
export interface OperonBuild {
  /** `dist/cli/bin.js` of the build: the `operon` command, as the published package runs it. */
  cli: string;
  /** The benchmark's operator module beside the build, importing `kube-operon` from it. */
  operatorModule: string;
}

/**
 * Builds Operon to JavaScript as `npm run build` does (`tsc -p tsconfig.build.json`), so that the
 * benchmark runs it as the operator image does: a package directory in the cache
 * (`<cache>/operon-build-<hash of the repository's path>/`, one per checkout, so that two checkouts
 * benchmarking at once do not overwrite each other's build) with Operon's `package.json`, the
 * build in `dist/`, the repository's `node_modules` linked, and the benchmark's operator files
 * (which import `kube-operon`, resolved to that `dist/`). Not the repository's own `dist/`: type checks there would then read the
 * build's declarations instead of the sources. Always rebuilt: it takes seconds, and a stale
 * build would measure other code than the tree's.
 */
export async function buildOperon(
  repoRoot: string,
  progress: (line: string) => void,
): Promise<OperonBuild> {
  progress("building Operon to JavaScript (tsc -p tsconfig.build.json, as npm run build)...");
  const started = Date.now();
  const checkout = createHash("sha256").update(repoRoot).digest("hex").slice(0, 16);
  const root = join(benchCacheDir(), `operon-build-${checkout}`);
  await rm(root, { recursive: true, force: true });
  await mkdir(join(root, "bench"), { recursive: true });
  const tsc = join(repoRoot, "node_modules", "typescript", "bin", "tsc");
  try {
    await run(
      process.execPath,
      [
        tsc,
        "-p",
        "tsconfig.build.json",
        "--outDir",
        join(root, "dist"),
        "--declaration",
        "false",
        "--sourceMap",
        "false",
      ],
      { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (error) {
    const output = (error as { stdout?: string }).stdout ?? "";
    throw new Error(`the build of Operon failed:\n${output.slice(0, 2000)}`);
  }
  await copyFile(join(repoRoot, "package.json"), join(root, "package.json"));
  await symlink(join(repoRoot, "node_modules"), join(root, "node_modules"), "dir");
  for (const file of operatorFiles) {
    await copyFile(join(repoRoot, "bench", file), join(root, "bench", file));
  }
  progress(`built Operon in ${Math.round((Date.now() - started) / 1000)} s: ${root}`);
  return {
    cli: join(root, "dist", "cli", "bin.js"),
    operatorModule: join(root, "bench", "operon-operator.ts"),
  };
}

/** The benchmark's operator module and what it imports. */
const operatorFiles = ["operon-operator.ts", "model.ts", "ready-marker.ts"];
