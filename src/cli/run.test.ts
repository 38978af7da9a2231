/**
 * `operon run`'s flags, as a child process and without a cluster: bad values are usage errors
 * (exit 2) that name the flag, and a port in use fails the start (exit 1) before any work.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const chores = fileURLToPath(new URL("../manager/testdata/chores.ts", import.meta.url));
let dir: string;
let kubeconfig: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "operon-run-"));
  kubeconfig = join(dir, "kubeconfig");
  // A cluster nobody listens at: nothing in these tests gets as far as a request.
  writeFileSync(
    kubeconfig,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters: [{ name: c, cluster: { server: 'https://127.0.0.1:1', insecure-skip-tls-verify: true } }]",
      "users: [{ name: u, user: { token: t } }]",
      "contexts: [{ name: x, context: { cluster: c, user: u } }]",
      "current-context: x",
    ].join("\n"),
  );
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function operon(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ["--conditions=operon-source", "src/cli/main.ts", ...args],
      { cwd: root, env: { ...process.env, CHORES_NAMESPACE: "default", ...env } },
    );
    let stderr = "";
    let stdout = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.on("exit", (code) => resolve({ code, stderr, stdout }));
  });
}

describe("operon run", () => {
  test("--help lists the Kubebuilder flags and their defaults", async () => {
    const { code, stdout } = await operon(["run", "--help"]);
    assert.equal(code, 0);
    for (const expected of [
      /--metrics-bind-address <value>.*\(default :8080\)/,
      /--health-probe-bind-address <value>.*\(default :8081\)/,
      /--leader-elect .*\(default false\)/,
      /--leader-election-namespace/,
      /--leader-election-id/,
      /--leader-elect-lease-duration <value>.*\(default 15s\)/,
      /--leader-elect-renew-deadline <value>.*\(default 10s\)/,
      /--leader-elect-retry-period <value>.*\(default 2s\)/,
      /--graceful-shutdown-timeout <value>.*\(default 30s\)/,
      /--log-level/,
      /--log-format/,
      /--kubeconfig/,
      /--context/,
      /--metrics-secure .*\(default false\)/,
      /--webhook-bind-address <value>.*\(default :9443\)/,
      /--webhook-cert-path/,
      /--webhook-cert-secret/,
      /--install-webhooks .*\(default false\)/,
    ])
      assert.match(stdout, expected);
  });

  test("bad flag values are usage errors naming the flag", async () => {
    const cases: [string[], RegExp][] = [
      [["--log-level", "loud"], /--log-level: log level "loud" is not one of/],
      [["--log-format", "xml"], /--log-format: log format "xml" is not one of/],
      [
        ["--graceful-shutdown-timeout", "soon"],
        /--graceful-shutdown-timeout: "soon" is not a duration/,
      ],
      [["--metrics-bind-address", "8080"], /bind address "8080" is not valid: use ":8080"/],
      [
        ["--leader-elect", "--leader-elect-lease-duration", "5s"],
        /the lease duration \(5000 ms\) must be longer than the renew deadline/,
      ],
      [["--webhook-bind-address", "9443"], /bind address "9443" is not valid/],
      [["--webhook-cert-secret", "certs"], /--webhook-cert-secret needs --webhook-service/],
      [
        ["--webhook-cert-path", "/certs", "--webhook-cert-secret", "c", "--webhook-service", "s"],
        /give --webhook-cert-path or --webhook-cert-secret, not both/,
      ],
      [
        ["--install-webhooks", "--webhook-cert-path", "/certs"],
        /--install-webhooks makes a development certificate/,
      ],
      [["--webhook-url", "https://10.0.0.1:9443"], /--webhook-url goes with --install-webhooks/],
      [
        ["--install-webhooks", "--webhook-url", "http://10.0.0.1:9443"],
        /--webhook-url must be https:\/\/host:port/,
      ],
      [
        ["--webhook-cert-secret", "a/b/c", "--webhook-service", "s"],
        /must be a name or namespace\/name/,
      ],
      [["--metrics-cert-path", "/certs"], /--metrics-cert-path goes with --metrics-secure/],
      [
        [
          "--metrics-secure",
          "--metrics-bind-address",
          ":18443",
          "--health-probe-bind-address",
          ":18443",
        ],
        /secure metrics and the health probes cannot share an address/,
      ],
    ];
    for (const [flags, message] of cases) {
      const { code, stderr } = await operon(["run", chores, "--kubeconfig", kubeconfig, ...flags]);
      assert.equal(code, 2, `${flags.join(" ")}: ${stderr}`);
      assert.match(stderr, message);
    }
  });

  test("a bad $OPERON_LOG_LEVEL is a usage error too", async () => {
    const { code, stderr } = await operon(["run", chores, "--kubeconfig", kubeconfig], {
      OPERON_LOG_LEVEL: "chatty",
    });
    assert.equal(code, 2, stderr);
    assert.match(stderr, /\$OPERON_LOG_LEVEL "chatty" is not one of/);
  });

  test("a port in use fails the start with exit code 1, naming the flag and its 0 value", async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    const port = (busy.address() as { port: number }).port;
    try {
      const { code, stderr } = await operon([
        "run",
        chores,
        "--kubeconfig",
        kubeconfig,
        "--log-format",
        "json",
        "--metrics-bind-address",
        `127.0.0.1:${port}`,
        "--health-probe-bind-address",
        "0",
      ]);
      assert.equal(code, 1, stderr);
      assert.ok(
        stderr.includes(
          `operon run: --metrics-bind-address 127.0.0.1:${port}: the address is already in use (EADDRINUSE), perhaps by another operon run. ` +
            "Pass another address, e.g. --metrics-bind-address :9090, or --metrics-bind-address :0 for any free port, or --metrics-bind-address 0 to turn metrics off",
        ),
        stderr,
      );
      const probes = await operon([
        "run",
        chores,
        "--kubeconfig",
        kubeconfig,
        "--metrics-bind-address",
        "0",
        "--health-probe-bind-address",
        `127.0.0.1:${port}`,
      ]);
      assert.equal(probes.code, 1, probes.stderr);
      assert.match(
        probes.stderr,
        /--health-probe-bind-address 127\.0\.0\.1:\d+: the address is already in use .* --health-probe-bind-address 0 to turn health probes off/,
      );
    } finally {
      busy.close();
    }
  });
});
