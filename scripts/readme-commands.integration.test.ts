/**
 * The README's shell blocks run as written, in this checkout, the way a newcomer types them after
 * the Quick start: a background cluster, the greeting operator, kubectl. The Quick start block
 * itself (`npm run demo`, `npm test`) is not run here: it is what runs this test.
 *
 * The cluster gets a cache directory of its own (OPERON_CACHE_DIR) so it never meets a cluster the
 * user started; the control-plane binaries come from the shared cache (OPERON_ASSETS).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { ensureAssets } from "../src/testkit/assets.ts";
import { commandBlocks } from "./readme-commands.ts";

const root = join(import.meta.dirname, "..");

/** Processes whose environment holds `name=value`: what a block started and left running. */
async function processesWithEnv(name: string, value: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const environ = await readFile(`/proc/${entry}/environ`, "utf8").catch(() => "");
    if (environ.split("\0").includes(`${name}=${value}`)) found.push(Number(entry));
  }
  return found;
}

/**
 * Runs a block with bash in a pseudo-terminal (util-linux's `script`), with job control on as in
 * a user's terminal: `cmd &` starts a job in its own process group, and `kill %1` signals the
 * whole job (npx and the operator it started), as it does for a user.
 */
async function runBash(
  script: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<{ code: number | null; output: string }> {
  const dir = await mkdtemp(join(tmpdir(), "operon-block-"));
  const file = join(dir, "block.sh");
  await writeFile(file, script);
  try {
    return await new Promise((resolve) => {
      const child = spawn(
        "script",
        ["-q", "-e", "-c", `bash -m -euo pipefail ${file}`, "/dev/null"],
        {
          cwd: root,
          env,
          detached: true,
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      let output = "";
      const collect = (chunk: Buffer) => {
        output += chunk.toString().replaceAll("\r\n", "\n");
      };
      child.stdout.on("data", collect);
      child.stderr.on("data", collect);
      const timer = setTimeout(() => {
        output += `\n(timed out after ${timeoutMs} ms)\n`;
        process.kill(-child.pid!, "SIGKILL");
      }, timeoutMs);
      child.on("exit", (code) => {
        clearTimeout(timer);
        // Whatever the block left running may still hold the terminal; the caller checks it.
        child.stdout.destroy();
        child.stderr.destroy();
        resolve({ code, output });
      });
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("the README's command blocks run as written", { timeout: 15 * 60_000 }, async (t) => {
  const blocks = (await commandBlocks(join(root, "README.md"))).filter(
    (block) => !/^npm test\b/m.test(block.text),
  );
  assert.ok(blocks.length > 0, "the README has command blocks besides the Quick start");
  const assets = dirname((await ensureAssets())["kube-apiserver"]);
  const cache = await mkdtemp(join(tmpdir(), "operon-readme-"));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OPERON_CACHE_DIR: cache,
    OPERON_ASSETS: assets,
    KUBECONFIG: "",
  };
  delete env.NODE_OPTIONS;
  try {
    for (const block of blocks) {
      const { code, output } = await runBash(block.text, env, 10 * 60_000);
      t.diagnostic(`README.md:${block.line}\n${output}`);
      assert.equal(code, 0, `the block at README.md:${block.line} failed:\n${output}`);
      if (block.text.includes("kubectl get configmap world-greeting")) {
        assert.match(output, /message: Hello, World\./, "the operator wrote the greeting");
      }
    }
    // `kill %1` and `cluster down` stopped everything the blocks started.
    let left: number[] = [];
    for (let i = 0; i < 50; i++) {
      left = await processesWithEnv("OPERON_CACHE_DIR", cache);
      if (left.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.deepEqual(left, [], "no process started by the README's commands is left running");
  } finally {
    await runBash("npx operon cluster down || true", env, 60_000);
    for (const pid of await processesWithEnv("OPERON_CACHE_DIR", cache)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone already
      }
    }
    await rm(cache, { recursive: true, force: true });
  }
});
