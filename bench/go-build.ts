/**
 * Builds the Go contenders (the controller-runtime peer and the write floor) with the machine's Go
 * toolchain into a cache outside the repository, `~/.cache/operon/bench/<name>-<hash>/`. The hash
 * covers the sources, go.mod, go.sum and the Go version, so a change rebuilds and an unchanged
 * tree reuses the binary.
 */
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The `go` command: `$GO`, else `go` on the PATH, else the usual install location. */
export async function findGo(): Promise<string> {
  const candidates = [process.env.GO, "go", "/usr/local/go/bin/go"].filter(
    (candidate): candidate is string => Boolean(candidate),
  );
  for (const candidate of candidates) {
    try {
      await run(candidate, ["version"]);
      return candidate;
    } catch {
      // try the next one
    }
  }
  throw new Error(
    "the Go toolchain was not found (looked for $GO, go on the PATH and /usr/local/go/bin/go); " +
      "install Go or set GO to its go command",
  );
}

export function benchCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "operon", "bench");
}

/** A hash of a Go module's sources (every .go file, go.mod and go.sum) and the Go version. */
export async function sourceHash(directory: string, goVersion: string): Promise<string> {
  const hash = createHash("sha256").update(goVersion);
  const walk = async (dir: string): Promise<string[]> => {
    const entries = await readdir(dir, { withFileTypes: true });
    const files: string[] = [];
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) files.push(...(await walk(path)));
      else if (/\.go$|^go\.(mod|sum)$/.test(entry.name)) files.push(path);
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

/** Returns the path of the binary built from `sourceDir`, building it first when needed. */
export async function ensureGoBinary(
  name: string,
  sourceDir: string,
  progress: (line: string) => void,
): Promise<string> {
  const go = await findGo();
  const { stdout: version } = await run(go, ["version"]);
  const hash = await sourceHash(sourceDir, version.trim());
  const directory = join(benchCacheDir(), `${name}-${hash}`);
  const binary = join(directory, name);
  if (existsSync(binary)) return binary;
  await mkdir(directory, { recursive: true });
  progress(
    `building ${name} from ${sourceDir} with ${version.trim()} (the first build downloads ` +
      "modules and compiles them: a few minutes on a small machine)...",
  );
  const started = Date.now();
  const partial = `${binary}.partial`;
  await new Promise<void>((resolve, reject) => {
    const child = spawn(go, ["build", "-trimpath", "-o", partial, "."], {
      cwd: sourceDir,
      env: { ...process.env, GOFLAGS: `${process.env.GOFLAGS ?? ""} -buildvcs=false`.trim() },
      stdio: ["ignore", "inherit", "inherit"],
    });
    const ticker = setInterval(
      () =>
        progress(`  still building ${name} (${Math.round((Date.now() - started) / 1000)} s)...`),
      30_000,
    );
    child.on("error", reject);
    child.on("exit", (code) => {
      clearInterval(ticker);
      if (code === 0) resolve();
      else reject(new Error(`go build of ${name} failed with exit code ${code}`));
    });
  });
  await rename(partial, binary);
  progress(`built ${name} in ${Math.round((Date.now() - started) / 1000)} s: ${binary}`);
  // Older builds of the same contender are no longer needed.
  for (const entry of await readdir(benchCacheDir())) {
    if (entry.startsWith(`${name}-`) && entry !== `${name}-${hash}`) {
      await rm(join(benchCacheDir(), entry), { recursive: true, force: true });
    }
  }
  return binary;
}
