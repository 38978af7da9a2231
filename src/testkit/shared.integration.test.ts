/**
 * `testControlPlaneSetup()` as a user's test run meets it: `node --test --test-global-setup`
 * starts one control plane before the test files, every file's `testControlPlane()` attaches to
 * it, and it stops after the last file.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

const testkit = fileURLToPath(new URL("./index.ts", import.meta.url));
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "operon-global-setup-"));
  await writeFile(
    join(dir, "control-plane.ts"),
    `import { testControlPlaneSetup } from ${JSON.stringify(testkit)};
export const { globalSetup, globalTeardown } = testControlPlaneSetup({ nodes: 0, controllerManager: false });
`,
  );
  for (const name of ["first", "second"]) {
    await writeFile(
      join(dir, `${name}.test.ts`),
      `import { test } from "node:test";
import { testControlPlane } from ${JSON.stringify(testkit)};
test("${name}", async () => {
  const plane = await testControlPlane();
  const namespace = await plane.createNamespace("${name}");
  console.log("PLANE", JSON.stringify({ file: "${name}", pid: process.pid, server: plane.server, dir: plane.dir, namespace }));
});
`,
    );
  }
});
after(() => rm(dir, { recursive: true, force: true }));

/** This run's own test-runner and shared-plane variables would change what the inner run does. */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || key.startsWith("NODE_TEST") || key.startsWith("OPERON_TEST_"))
      continue;
    env[key] = value;
  }
  return env;
}

test("one control plane for every test file of a run, stopped after it", {
  timeout: 5 * 60_000,
}, async () => {
  const output = await new Promise<{ code: number | null; text: string }>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--test", "--test-global-setup=control-plane.ts", "first.test.ts", "second.test.ts"],
      { cwd: dir, env: cleanEnv() },
    );
    let text = "";
    child.stdout.on("data", (chunk: Buffer) => {
      text += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      text += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, text }));
  });
  assert.equal(output.code, 0, output.text);
  const seen = [...output.text.matchAll(/PLANE (\{.*\})/g)].map(
    (match) => JSON.parse(match[1]!) as { file: string; pid: number; server: string; dir: string },
  );
  assert.deepEqual(seen.map((entry) => entry.file).sort(), ["first", "second"]);
  const [first, second] = seen;
  assert.notEqual(first!.pid, second!.pid, "each file ran in its own process");
  assert.equal(first!.server, second!.server, "both attached to the same control plane");
  assert.equal(
    existsSync(first!.dir),
    false,
    "the plane stopped and removed its folder at the end",
  );
  const port = Number(new URL(first!.server).port);
  const refused = await new Promise<boolean>((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });
  assert.ok(refused, "nothing listens at the plane's address any more");
});
