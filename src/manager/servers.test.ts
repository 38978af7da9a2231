/** Bind addresses, the probe and metrics endpoints over real HTTP, durations and log flags. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Counter, Registry } from "prom-client";
import { parseDuration } from "./duration.ts";
import { HealthChecks } from "./health.ts";
import { parseLogFormat, parseLogLevel } from "./logging.ts";
import { metricsHandler, parseBindAddress, probeHandler, serve } from "./servers.ts";

describe("parseBindAddress", () => {
  test("reads Kubebuilder's forms", () => {
    assert.equal(parseBindAddress("0"), undefined);
    assert.equal(parseBindAddress(""), undefined);
    assert.deepEqual(parseBindAddress(":8080"), { host: undefined, port: 8080 });
    assert.deepEqual(parseBindAddress("127.0.0.1:8081"), { host: "127.0.0.1", port: 8081 });
    assert.deepEqual(parseBindAddress("[::1]:9090"), { host: "::1", port: 9090 });
    assert.deepEqual(parseBindAddress("localhost:0"), { host: "localhost", port: 0 });
  });

  test("refuses anything else with the accepted forms", () => {
    for (const bad of ["8080", ":99999", "host", "::1:80", ":http"]) {
      assert.throws(() => parseBindAddress(bad), /use ":8080"/, bad);
    }
  });
});

describe("probe and metrics servers", () => {
  test("healthz and readyz answer like Kubernetes components", async () => {
    const checks = new HealthChecks();
    let failing = false;
    checks.add("always", () => {});
    checks.add("flaky", () => {
      if (failing) throw new Error("went wrong");
    });
    const server = await serve(
      { host: "127.0.0.1", port: 0 },
      { "/healthz": probeHandler("healthz", checks) },
    );
    try {
      let response = await fetch(`${server.url}/healthz`);
      assert.equal(response.status, 200);
      assert.equal(await response.text(), "ok\n");
      response = await fetch(`${server.url}/healthz?verbose`);
      assert.equal(await response.text(), "[+]always ok\n[+]flaky ok\nhealthz check passed\n");
      failing = true;
      response = await fetch(`${server.url}/healthz`);
      assert.equal(response.status, 500);
      assert.equal(
        await response.text(),
        "[+]always ok\n[-]flaky failed: went wrong\nhealthz check failed\n",
      );
      response = await fetch(`${server.url}/healthz/always`);
      assert.equal(response.status, 200, "one check on its own");
      response = await fetch(`${server.url}/healthz/missing`);
      assert.equal(response.status, 404);
      response = await fetch(`${server.url}/other`);
      assert.equal(response.status, 404);
      response = await fetch(`${server.url}/healthz`, { method: "POST" });
      assert.equal(response.status, 405);
    } finally {
      await server.close();
    }
  });

  test("metrics are served in the Prometheus text format; close does not wait for idle keep-alive", async () => {
    const registry = new Registry();
    new Counter({ name: "things_total", help: "Things", registers: [registry] }).inc(3);
    const server = await serve(
      { host: "127.0.0.1", port: 0 },
      { "/metrics": metricsHandler(registry) },
    );
    const response = await fetch(`${server.url}/metrics`, {
      headers: { connection: "keep-alive" },
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain/);
    assert.match(await response.text(), /^things_total 3$/m);
    const started = performance.now();
    await server.close();
    assert.ok(performance.now() - started < 5_000);
  });

  test("a port in use is an error", async () => {
    const first = await serve({ host: "127.0.0.1", port: 0 }, {});
    try {
      await assert.rejects(serve({ host: "127.0.0.1", port: first.port }, {}), /EADDRINUSE/);
    } finally {
      await first.close();
    }
  });
});

test("parseDuration reads Go-style durations", () => {
  assert.equal(parseDuration("15s"), 15_000);
  assert.equal(parseDuration("500ms"), 500);
  assert.equal(parseDuration("1m30s"), 90_000);
  assert.equal(parseDuration("1.5h"), 5_400_000);
  assert.equal(parseDuration("2"), 2_000);
  for (const bad of ["", "s", "10 s", "10x", "-1s"])
    assert.throws(() => parseDuration(bad), /duration/);
});

test("log levels and formats are checked", () => {
  assert.equal(parseLogLevel("DEBUG"), "debug");
  assert.equal(parseLogFormat("json"), "json");
  assert.throws(() => parseLogLevel("verbose"), /trace, debug, info, warn, error, fatal, silent/);
  assert.throws(() => parseLogFormat("xml"), /json, pretty, auto/);
});
