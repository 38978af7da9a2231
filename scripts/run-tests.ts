/**
 * Runs the test suite with Node's test runner. Integration tests share one local control plane,
 * started here before any test file runs and stopped after the last one.
 *
 *   node scripts/run-tests.ts            every test
 *   node scripts/run-tests.ts --unit     unit tests only (no control plane)
 *   node scripts/run-tests.ts FILE...    chosen files
 */
import { spawn } from "node:child_process";
import { glob } from "node:fs/promises";
import { startControlPlane } from "../src/testkit/control-plane.ts";
import { sharedControlPlaneEnv } from "../src/testkit/shared.ts";

const args = process.argv.slice(2);
const unitOnly = args.includes("--unit");
const chosen = args.filter((arg) => !arg.startsWith("--"));

async function findTests(): Promise<string[]> {
  const files: string[] = [];
  for (const pattern of [
    "src/**/*.test.ts",
    "examples/**/*.test.ts",
    "docs/**/*.test.ts",
    "bench/**/*.test.ts",
    "scripts/**/*.test.ts",
  ]) {
    for await (const file of glob(pattern, { exclude: (name) => name.includes("node_modules") })) {
      files.push(file);
    }
  }
  return files.sort();
}

const files = (chosen.length > 0 ? chosen : await findTests()).filter(
  (file) => !unitOnly || !file.endsWith(".integration.test.ts"),
);
const needsControlPlane = files.some((file) => file.endsWith(".integration.test.ts"));

const started = Date.now();
const plane = needsControlPlane ? await startControlPlane({ nodes: 2 }) : undefined;
if (plane) {
  process.stderr.write(
    `operon: shared control plane ready in ${((Date.now() - started) / 1000).toFixed(1)}s at ${plane.server}\n`,
  );
}

const concurrency = process.env.OPERON_TEST_CONCURRENCY ?? "2";
const child = spawn(
  process.execPath,
  [
    "--conditions=operon-source",
    "--test",
    `--test-concurrency=${concurrency}`,
    "--test-timeout=600000",
    ...files,
  ],
  {
    stdio: "inherit",
    env: { ...process.env, ...(plane ? { [sharedControlPlaneEnv]: plane.dir } : {}) },
  },
);
const stopChild = (signal: NodeJS.Signals) => child.kill(signal);
process.on("SIGINT", stopChild);
process.on("SIGTERM", stopChild);
const code = await new Promise<number>((resolve) =>
  child.on("close", (status) => resolve(status ?? 1)),
);
await plane?.stop();
process.exit(code);
