import assert from "node:assert/strict";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { CredentialError } from "./errors.ts";
import { type ExecConfig, execAuth, parseExecCredential } from "./exec-credential.ts";
import { loadKubeConfig } from "./kubeconfig.ts";

const v1 = "client.authentication.k8s.io/v1";
const v1beta1 = "client.authentication.k8s.io/v1beta1";

let dir: string;
let plugin: string;

// The plugin counts its runs in $COUNTER, saves what it was given, and prints a token
// (or a certificate, with MODE=cert), expiring at $EXPIRES when set.
const script = `#!/bin/sh
n=$(cat "$COUNTER" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" > "$COUNTER"
printf '%s' "$KUBERNETES_EXEC_INFO" > "$COUNTER.info"
echo "$@" > "$COUNTER.args"
if [ "$MODE" = fail ]; then echo "login required: run sso login" >&2; exit 3; fi
if [ "$MODE" = garbage ]; then echo "not json"; exit 0; fi
if [ "$MODE" = cert ]; then
  printf '{"kind":"ExecCredential","apiVersion":"%s","status":{"clientCertificateData":"CERT-%s","clientKeyData":"KEY"}}' "$API" "$n"
  exit 0
fi
exp=""
if [ -n "$EXPIRES" ]; then exp=",\\"expirationTimestamp\\":\\"$EXPIRES\\""; fi
printf '{"kind":"ExecCredential","apiVersion":"%s","status":{"token":"tok-%s%s"%s}}' "$API" "$n" "$SUFFIX" "$exp"
`;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "operon-exec-"));
  plugin = join(dir, "plugin.sh");
  await writeFile(plugin, script);
  await chmod(plugin, 0o755);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

let counterSeq = 0;
function setup(
  env: Record<string, string> = {},
  apiVersion = v1,
): { config: ExecConfig; counter: string; runs: () => Promise<number> } {
  const counter = join(dir, `counter-${++counterSeq}`);
  const config: ExecConfig = {
    apiVersion,
    command: plugin,
    args: ["get-token", "--cluster", "prod"],
    env: [
      { name: "COUNTER", value: counter },
      { name: "API", value: apiVersion },
      ...Object.entries(env).map(([name, value]) => ({ name, value })),
    ],
    interactiveMode: "Never",
  };
  const runs = async () => Number((await readFile(counter, "utf8").catch(() => "0")).trim());
  return { config, counter, runs };
}

describe("execAuth", () => {
  test("runs the plugin with args, env and KUBERNETES_EXEC_INFO, and caches the token", async () => {
    const { config, counter, runs } = setup({ SUFFIX: "-x" });
    const auth = execAuth(
      { ...config, provideClusterInfo: true },
      {
        source: 'user "dev" in /x/config',
        cluster: {
          server: "https://k8s.test",
          "certificate-authority-data": "Q0E=",
          config: { region: "eu" },
        },
      },
    );
    assert.deepEqual(await auth.credentials(), { authorization: "Bearer tok-1-x" });
    assert.deepEqual(await auth.credentials(), { authorization: "Bearer tok-1-x" });
    assert.equal(await runs(), 1);
    assert.equal((await readFile(`${counter}.args`, "utf8")).trim(), "get-token --cluster prod");
    const info = JSON.parse(await readFile(`${counter}.info`, "utf8"));
    assert.deepEqual(info, {
      kind: "ExecCredential",
      apiVersion: v1,
      spec: {
        interactive: false,
        cluster: {
          server: "https://k8s.test",
          "certificate-authority-data": "Q0E=",
          config: { region: "eu" },
        },
      },
    });
    assert.match(auth.description, /exec plugin ".*plugin\.sh" \(user "dev" in \/x\/config\)/);
  });

  test("concurrent first calls run the plugin once", async () => {
    const { config, runs } = setup();
    const auth = execAuth(config);
    const all = await Promise.all([auth.credentials(), auth.credentials(), auth.credentials()]);
    assert.ok(all.every((c) => c.authorization === "Bearer tok-1"));
    assert.equal(await runs(), 1);
  });

  test("caches until expirationTimestamp, then runs again", async () => {
    const { config, runs } = setup({ EXPIRES: "2030-01-01T00:00:00Z" }, v1beta1);
    let clock = Date.parse("2029-12-31T23:59:00Z");
    const auth = execAuth(config, { now: () => clock });
    assert.equal((await auth.credentials()).authorization, "Bearer tok-1");
    clock += 30_000;
    assert.equal((await auth.credentials()).authorization, "Bearer tok-1");
    clock += 60_000; // past expiry
    assert.equal((await auth.credentials()).authorization, "Bearer tok-2");
    assert.equal(await runs(), 2);
  });

  test("a 401 re-runs the plugin once, even when many requests were rejected together", async () => {
    const { config, runs } = setup();
    const auth = execAuth(config);
    const rejected = await auth.credentials();
    const results = await Promise.all([
      auth.refresh(rejected),
      auth.refresh(rejected),
      auth.refresh(rejected),
    ]);
    assert.deepEqual(results, [true, true, true]);
    assert.equal((await auth.credentials()).authorization, "Bearer tok-2");
    assert.equal(await runs(), 2);
  });

  test("client certificate output", async () => {
    const { config } = setup({ MODE: "cert" });
    const auth = execAuth(config);
    assert.deepEqual(await auth.credentials(), {
      clientCertificate: { cert: "CERT-1", key: "KEY" },
    });
  });

  test("a failing plugin's stderr is in the error", async () => {
    const { config } = setup({ MODE: "fail" });
    await assert.rejects(
      execAuth(config).credentials(),
      (err: unknown) =>
        err instanceof CredentialError &&
        /exited with code 3: login required: run sso login/.test(err.message),
    );
    await assert.rejects(
      execAuth(setup({ MODE: "garbage" }).config).credentials(),
      /printed something that is not JSON: not json/,
    );
  });

  test("a missing command shows the install hint", async () => {
    await assert.rejects(
      execAuth({
        apiVersion: v1,
        command: "operon-no-such-plugin",
        installHint: "Install it with: brew install x",
      }).credentials(),
      /exec plugin "operon-no-such-plugin": command not found \(is it installed and on PATH\?\)\nInstall it with: brew install x/,
    );
  });

  test("invalid configurations are refused up front", () => {
    assert.throws(
      () => execAuth({ apiVersion: "client.authentication.k8s.io/v1alpha1", command: "x" }),
      /unsupported apiVersion/,
    );
    assert.throws(
      () => execAuth({ apiVersion: v1, command: "x", interactiveMode: "Always" }),
      /needs a terminal/,
    );
  });
});

describe("parseExecCredential", () => {
  const name = "exec plugin";
  test("validates kind, apiVersion and status", () => {
    const ok = (status: object, apiVersion = v1) =>
      JSON.stringify({ kind: "ExecCredential", apiVersion, status });
    assert.deepEqual(parseExecCredential(ok({ token: "t" }), { apiVersion: v1 }, name), {
      credentials: { authorization: "Bearer t" },
      expiresAt: undefined,
    });
    assert.equal(
      parseExecCredential(
        ok({ token: "t", expirationTimestamp: "2030-01-01T00:00:00Z" }),
        { apiVersion: v1 },
        name,
      ).expiresAt,
      Date.parse("2030-01-01T00:00:00Z"),
    );
    assert.throws(
      () => parseExecCredential(ok({ token: "t" }, v1beta1), { apiVersion: v1 }, name),
      /printed apiVersion/,
    );
    assert.throws(
      () => parseExecCredential(JSON.stringify({ kind: "Other" }), { apiVersion: v1 }, name),
      /want ExecCredential/,
    );
    assert.throws(
      () => parseExecCredential(ok({}), { apiVersion: v1 }, name),
      /neither a token nor a client certificate/,
    );
    assert.throws(
      () => parseExecCredential(ok({ clientKeyData: "k" }), { apiVersion: v1 }, name),
      /clientKeyData without clientCertificateData/,
    );
    assert.throws(
      () =>
        parseExecCredential(
          ok({ token: "t", expirationTimestamp: "soon" }),
          { apiVersion: v1 },
          name,
        ),
      /invalid expirationTimestamp/,
    );
  });
});

describe("exec plugins from a kubeconfig", () => {
  test("a relative command resolves against the kubeconfig's directory", async () => {
    const counter = join(dir, "kc-counter");
    const path = join(dir, "config");
    await writeFile(
      path,
      `
clusters:
- name: c
  cluster: { server: "https://k8s.test" }
users:
- name: u
  user:
    exec:
      apiVersion: ${v1}
      command: ./plugin.sh
      interactiveMode: IfAvailable
      env:
      - { name: COUNTER, value: "${counter}" }
      - { name: API, value: "${v1}" }
contexts:
- name: x
  context: { cluster: c, user: u }
current-context: x
`,
    );
    const conn = await loadKubeConfig({ kubeconfig: path, env: { PATH: process.env.PATH ?? "" } });
    assert.deepEqual(await conn.auth.credentials(), { authorization: "Bearer tok-1" });
  });
});
