/**
 * `operon dev` end to end, as a user runs it: a project with one operator, run against the test
 * control plane (`--kubeconfig`); its CRD is installed, its sample applied, each reconcile is a
 * line, a saved change restarts the operators, a type or syntax error keeps the running version,
 * a schema change updates the CRD, the viewer serves the records of every version, and Ctrl-C
 * (SIGINT to the process group) stops it all. A second test lets it start (and stop) a local
 * cluster of its own.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, open, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { KubeClient } from "../client/client.ts";
import type { TraceRecord } from "../manager/trace-store.ts";
import { CustomResourceDefinition } from "../resources/apiextensions.ts";
import { ConfigMap } from "../resources/core.ts";
import { ensureAssets } from "../testkit/assets.ts";
import { eventually, getOrUndefined } from "../testkit/operator-harness.ts";
import { testControlPlane } from "../testkit/shared.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const temporary: string[] = [];
after(async () => {
  for (const dir of temporary) await rm(dir, { recursive: true, force: true });
});

function moduleSource(
  group: string,
  namespace: string,
  version: string,
  extra = "",
  schema = "",
): string {
  return `import { ConfigMap, defineOperator, defineResource, K8s, Type } from "kube-operon";

export const Widget = defineResource({
  group: "${group}",
  version: "v1",
  kind: "Widget",
  plural: "widgets",
  scope: "Namespaced",
  spec: Type.Object({ message: Type.String()${schema} }),
  status: K8s.Status({}),
});
${extra}
export default defineOperator({
  name: "widget",
  namespace: "${namespace}",
  parent: Widget,
  children: { configMaps: ConfigMap },
  sync({ parent }) {
    return {
      children: [
        {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: parent.metadata.name! },
          data: { message: parent.spec.message, version: "${version}" },
        },
      ],
    };
  },
});
`;
}

/** A project outside the repository that depends on this checkout (as `npm link` would). */
async function project(group: string, namespace: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "operon-dev-"));
  temporary.push(dir);
  await mkdir(join(dir, "node_modules", "@types"), { recursive: true });
  await symlink(root, join(dir, "node_modules", "kube-operon"));
  await symlink(join(root, "node_modules", "typescript"), join(dir, "node_modules", "typescript"));
  await symlink(
    join(root, "node_modules", "@types", "node"),
    join(dir, "node_modules", "@types", "node"),
  );
  await writeFile(join(dir, "package.json"), JSON.stringify({ name: "widget", type: "module" }));
  const tsconfig = JSON.parse(await readFile(join(root, "tsconfig.json"), "utf8")) as {
    compilerOptions: Record<string, unknown>;
  };
  await writeFile(
    join(dir, "tsconfig.json"),
    JSON.stringify({ compilerOptions: tsconfig.compilerOptions, include: ["*.ts"] }),
  );
  await mkdir(join(dir, "samples"));
  await writeFile(
    join(dir, "samples", "hello.yaml"),
    `apiVersion: ${group}/v1\nkind: Widget\nmetadata:\n  name: hello\n  namespace: ${namespace}\nspec:\n  message: hi\n`,
  );
  await writeFile(join(dir, "widget.ts"), moduleSource(group, namespace, "v1"));
  return dir;
}

/** `operon dev` as a process group of its own, its output collected in files (as a terminal would). */
async function startDev(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const dir = await mkdtemp(join(tmpdir(), "operon-dev-output-"));
  temporary.push(dir);
  const stdoutFile = await open(join(dir, "stdout"), "w+");
  const stderrFile = await open(join(dir, "stderr"), "w+");
  // Not a test process itself: the test runner's variables would make it one.
  const { NODE_TEST_CONTEXT: _context, ...plain } = env;
  const child = spawn(process.execPath, ["bin/operon.js", "dev", ...args], {
    cwd: root,
    env: plain,
    detached: true,
    stdio: ["ignore", stdoutFile.fd, stderrFile.fd],
  });
  await stdoutFile.close();
  await stderrFile.close();
  const output = {
    get stdout() {
      return readFileSync(join(dir, "stdout"), "utf8");
    },
    get stderr() {
      return readFileSync(join(dir, "stderr"), "utf8");
    },
  };
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output, exited };
}

async function waitForText(
  output: { stdout: string; stderr: string },
  stream: "stdout" | "stderr",
  pattern: RegExp,
  timeoutMs = 120_000,
): Promise<RegExpMatchArray> {
  return eventually(() => pattern.exec(output[stream]) ?? undefined, {
    timeoutMs,
    message: `${stream} to show ${pattern}\n--- stdout\n${output.stdout}\n--- stderr\n${output.stderr}`,
  });
}

/** Ctrl-C in a terminal: SIGINT to the whole process group. */
async function interrupt(dev: {
  child: ChildProcess;
  exited: Promise<number | null>;
}): Promise<number | null> {
  process.kill(-dev.child.pid!, "SIGINT");
  return Promise.race([
    dev.exited,
    new Promise<null>((_, reject) =>
      setTimeout(() => reject(new Error("operon dev did not stop")), 90_000),
    ),
  ]);
}

/** Processes whose command line holds all of `parts`. */
async function processesWith(...parts: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (parts.every((part) => cmdline.includes(part)))
      found.push(`${pid}: ${cmdline.replaceAll("\0", " ")}`);
  }
  return found;
}

test("operon dev: CRDs, samples, a line per reconcile, restarts on change, errors keep the running version, Ctrl-C stops", async (t) => {
  const plane = await testControlPlane();
  const namespace = await plane.createNamespace("dev");
  const group = `dev${randomBytes(3).toString("hex")}.example.com`;
  const dir = await project(group, namespace);
  const file = join(dir, "widget.ts");
  const client = await KubeClient.fromKubeConfig({ kubeconfig: plane.kubeconfigPath });
  const dev = await startDev([
    file,
    "--kubeconfig",
    plane.kubeconfigPath,
    "--apply-samples",
    "--trace-bind-address",
    "127.0.0.1:0",
  ]);
  try {
    const [, url] = await waitForText(
      dev.output,
      "stderr",
      /trace viewer at (http:\/\/127\.0\.0\.1:\d+\/)/,
    );
    await waitForText(
      dev.output,
      "stderr",
      new RegExp(`installed CustomResourceDefinition widgets\\.${group}`),
    );
    await waitForText(dev.output, "stderr", /running widget \(Widget\)/);
    await waitForText(dev.output, "stderr", new RegExp(`applied Widget ${namespace}/hello from`));
    await waitForText(
      dev.output,
      "stdout",
      new RegExp(
        `widget ${namespace}/hello {2}parent-changed: Widget hello rv \\d+ {2}✓ created ConfigMap hello \\(\\+data\\.message=hi, \\+data\\.version=v1`,
      ),
    );
    const version = async () =>
      (await getOrUndefined(client, ConfigMap, "hello", namespace))?.data?.version;
    await eventually(async () => (await version()) === "v1");

    // A change: the new version runs within about a second (measured, not assumed here).
    await eventually(() => /✓/.test(dev.output.stdout)); // the first sync is done
    await waitForText(dev.output, "stderr", /types checked: no errors/);
    const saved = performance.now();
    await writeFile(file, moduleSource(group, namespace, "v2"));
    await eventually(async () => (await version()) === "v2", {
      timeoutMs: 60_000,
      message: "v2 runs",
    });
    const restartMs = Math.round(performance.now() - saved);
    const [restarted] = await waitForText(
      dev.output,
      "stderr",
      /restarted widget \(Widget\) in \d+ ms after the change, type check \d+ ms/,
    );
    t.diagnostic(`save → new version's write: ${restartMs} ms; ${restarted}`);
    await waitForText(dev.output, "stdout", /updated ConfigMap hello \(data\.version v1→v2\)/);

    // A type error: shown, and the running version (v2) keeps reconciling.
    await writeFile(
      file,
      moduleSource(
        group,
        namespace,
        "v3",
        `const wrong: number = "not a number";\nexport { wrong };\n`,
      ),
    );
    await waitForText(dev.output, "stderr", /error TS2322/);
    await waitForText(dev.output, "stderr", /1 type error\(s\); the running version keeps running/);
    await client.patch(
      { apiVersion: `${group}/v1`, kind: "Widget" },
      "hello",
      { spec: { message: "still here" } },
      { namespace },
    );
    await eventually(
      async () =>
        (await getOrUndefined(client, ConfigMap, "hello", namespace))?.data?.message ===
        "still here",
    );
    assert.equal(await version(), "v2");

    // A syntax error: the same.
    await writeFile(file, `${moduleSource(group, namespace, "v3")}\nexport const broken = {;\n`);
    await waitForText(dev.output, "stderr", /error TS1136|error TS1109/);
    await eventually(
      () => (dev.output.stderr.match(/the running version keeps running/g) ?? []).length >= 2,
    );
    assert.equal(await version(), "v2");

    // A schema change: the CRD is updated before the new version starts.
    await writeFile(
      file,
      moduleSource(group, namespace, "v4", "", ", color: Type.Optional(Type.String())"),
    );
    await waitForText(
      dev.output,
      "stderr",
      new RegExp(`updated CustomResourceDefinition widgets\\.${group} \\(its schema changed\\)`),
    );
    await eventually(async () => (await version()) === "v4", { timeoutMs: 60_000 });
    const crd = await client.get(CustomResourceDefinition, `widgets.${group}`);
    const spec = crd.spec.versions[0]!.schema!.openAPIV3Schema!.properties!.spec as {
      properties: Record<string, unknown>;
    };
    assert.ok(spec.properties.color, "the new field is in the CRD");

    // The viewer kept the records of every version.
    const response = await fetch(
      `${url}api/records?key=${encodeURIComponent(`${namespace}/hello`)}`,
    );
    const { records } = (await response.json()) as { records: TraceRecord[] };
    const versions = new Set(
      records
        .flatMap((r) => r.children.flatMap((c) => c.diff?.changes ?? []))
        .filter((c) => c.path === "data.version")
        .map((c) => c.after),
    );
    assert.deepEqual([...versions].sort(), ["v1", "v2", "v4"]);

    // Ctrl-C: everything stops, with exit code 0.
    assert.equal(await interrupt(dev), 0, dev.output.stderr);
    assert.match(dev.output.stderr, /operon dev: stopping/);
    assert.deepEqual(await processesWith("dev-worker", plane.kubeconfigPath), []);
  } finally {
    if (dev.child.exitCode === null) process.kill(-dev.child.pid!, "SIGKILL");
    await client.close();
  }
});

test("operon dev starts a local cluster when none runs, and stops it on Ctrl-C", async () => {
  const assets = await ensureAssets();
  const cache = await mkdtemp(join(tmpdir(), "operon-dev-cache-"));
  temporary.push(cache);
  const group = `dev${randomBytes(3).toString("hex")}.example.com`;
  const dir = await project(group, "default");
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OPERON_CACHE_DIR: cache,
    OPERON_ASSETS: dirnameOf(assets["kube-apiserver"]),
  };
  delete env.KUBECONFIG;
  const dev = await startDev(
    [
      join(dir, "widget.ts"),
      "--name",
      "dev-test",
      "--samples",
      join(dir, "samples"),
      "--trace-bind-address",
      "0",
      "--skip-type-check",
    ],
    env,
  );
  try {
    await waitForText(dev.output, "stderr", /starting the local cluster "dev-test"/);
    await waitForText(dev.output, "stderr", /running widget \(Widget\)/, 180_000);
    await waitForText(dev.output, "stdout", /widget default\/hello .*✓ created ConfigMap hello/);
    assert.doesNotMatch(dev.output.stderr, /trace viewer at/);
    const state = JSON.parse(
      await readFile(join(cache, "clusters", "dev-test", "state.json"), "utf8"),
    ) as {
      pids: Record<string, number>;
    };
    assert.equal(await interrupt(dev), 0, dev.output.stderr);
    assert.match(dev.output.stderr, /stopping the local cluster "dev-test" it started/);
    for (const pid of Object.values(state.pids)) {
      assert.throws(() => process.kill(pid, 0), `component ${pid} stopped`);
    }
  } finally {
    if (dev.child.exitCode === null) process.kill(-dev.child.pid!, "SIGKILL");
  }
});

function dirnameOf(path: string): string {
  return path.slice(0, path.lastIndexOf("/"));
}
