import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, beforeEach, describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import type { AuthProvider } from "./auth.ts";
import { bearerTokenAuth } from "./auth.ts";
import { Connection } from "./connection.ts";
import {
  ConflictError,
  ConnectionError,
  errorFromStatus,
  ServerError,
  TimeoutError,
  TooManyRequestsError,
  UnauthorizedError,
} from "./errors.ts";
import type { ClusterConnection } from "./kubeconfig.ts";
import {
  type ApiRequest,
  Requester,
  type RequestMetric,
  retryDelayMs,
  transportError,
} from "./request.ts";

const describeGet = { verb: "get", resource: "configmaps", group: "", name: "a", namespace: "ns" };

describe("retryDelayMs", () => {
  const random = () => 1;
  const tooMany = (retryAfterSeconds?: number) =>
    new TooManyRequestsError({
      request: describeGet,
      code: 429,
      ...(retryAfterSeconds ? { retryAfterSeconds } : {}),
    });
  const conn = (errorCode: string) =>
    new ConnectionError({ request: describeGet, errorCode, detail: "x" });
  const server = (code: number, retryAfter?: number) =>
    errorFromStatus(
      {
        kind: "Status",
        apiVersion: "v1",
        code,
        ...(retryAfter ? { details: { retryAfterSeconds: retryAfter } } : {}),
      },
      describeGet,
    );

  test("429 is retried for every call, honouring Retry-After (capped)", () => {
    assert.equal(retryDelayMs(tooMany(3), 0, { replaySafe: false, maxRetries: 5, random }), 3000);
    assert.equal(
      retryDelayMs(tooMany(600), 0, { replaySafe: false, maxRetries: 5, random }),
      60_000,
    );
    assert.equal(retryDelayMs(tooMany(), 2, { replaySafe: false, maxRetries: 5, random }), 800);
    assert.equal(
      retryDelayMs(tooMany(3), 5, { replaySafe: false, maxRetries: 5, random }),
      undefined,
    );
  });

  test("connection failures: reads always, writes only before sending", () => {
    assert.equal(
      retryDelayMs(conn("ECONNRESET"), 0, { replaySafe: true, maxRetries: 5, random }),
      200,
    );
    assert.equal(
      retryDelayMs(conn("ECONNRESET"), 0, { replaySafe: false, maxRetries: 5, random }),
      undefined,
    );
    assert.equal(
      retryDelayMs(conn("UND_ERR_SOCKET"), 0, { replaySafe: false, maxRetries: 5, random }),
      undefined,
    );
    assert.equal(
      retryDelayMs(conn("ECONNREFUSED"), 1, { replaySafe: false, maxRetries: 5, random }),
      400,
    );
    assert.equal(
      retryDelayMs(conn("UND_ERR_CONNECT_TIMEOUT"), 0, {
        replaySafe: false,
        maxRetries: 5,
        random,
      }),
      200,
    );
  });

  test("5xx only for replay-safe calls and only with Retry-After", () => {
    assert.equal(
      retryDelayMs(server(503, 2), 0, { replaySafe: true, maxRetries: 5, random }),
      2000,
    );
    assert.equal(
      retryDelayMs(server(503, 2), 0, { replaySafe: false, maxRetries: 5, random }),
      undefined,
    );
    assert.equal(
      retryDelayMs(server(500), 0, { replaySafe: true, maxRetries: 5, random }),
      undefined,
    );
    assert.equal(
      retryDelayMs(server(409), 0, { replaySafe: true, maxRetries: 5, random }),
      undefined,
    );
  });

  test("backoff grows and is capped", () => {
    assert.equal(
      retryDelayMs(conn("ECONNRESET"), 10, { replaySafe: true, maxRetries: 20, random }),
      10_000,
    );
    const low = retryDelayMs(conn("ECONNRESET"), 0, {
      replaySafe: true,
      maxRetries: 5,
      random: () => 0,
    });
    assert.equal(low, 100);
  });
});

describe("transportError", () => {
  test("TLS trust failures explain what to configure", () => {
    const err = transportError(
      Object.assign(new Error("self-signed certificate"), { code: "DEPTH_ZERO_SELF_SIGNED_CERT" }),
      { ...describeGet, server: "https://k8s.test" },
      'context "x" in /kc',
    );
    assert.ok(err instanceof ConnectionError);
    assert.match(
      err.message,
      /^get configmaps "a" in namespace "ns": error: cannot reach https:\/\/k8s\.test: self-signed certificate \(DEPTH_ZERO_SELF_SIGNED_CERT\); the server certificate is not trusted: set certificate-authority/,
    );
    assert.match(err.message, /context "x" in \/kc/);
  });

  test("undici timeouts become TimeoutError; nested causes are searched for a code", () => {
    assert.ok(
      transportError(
        Object.assign(new Error("t"), { code: "UND_ERR_HEADERS_TIMEOUT" }),
        describeGet,
        "",
      ) instanceof TimeoutError,
    );
    const nested = Object.assign(new Error("fetch failed"), {
      code: "UND_ERR_SOCKET",
      cause: Object.assign(new Error("reset"), { code: "ECONNRESET" }),
    });
    const err = transportError(nested, describeGet, "");
    assert.ok(err instanceof ConnectionError && err.errorCode === "ECONNRESET");
  });
});

// ---------------------------------------------------------------------------------------------
// Against a stub HTTP server

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;
let server: Server;
let base: string;
let handler: Handler;
const seen: Array<{
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}> = [];

before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  seen.length = 0;
});

function json(
  res: ServerResponse,
  code: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(code, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

function cluster(overrides: Partial<ClusterConnection> = {}): ClusterConnection {
  return {
    server: base,
    tls: { insecureSkipTlsVerify: false },
    auth: bearerTokenAuth("t0"),
    namespace: "default",
    source: "stub",
    ...overrides,
  };
}

function get(extra: Partial<ApiRequest> = {}): ApiRequest {
  return {
    method: "GET",
    path: "/api/v1/namespaces/ns/configmaps/a",
    describe: describeGet,
    replaySafe: true,
    ...extra,
  };
}

describe("Requester", () => {
  test("decodes JSON and gzip responses; sends user agent, auth and impersonation headers", async () => {
    const connection = new Connection(
      cluster({
        impersonate: { user: "jane", groups: ["a", "b"], uid: "7", extra: { "scope/x": ["1"] } },
      }),
      { userAgent: "test-agent/1" },
    );
    const requester = new Requester(connection);
    handler = (req, res) => {
      if (req.headers["accept-encoding"]?.includes("gzip")) {
        res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" });
        res.end(
          gzipSync(JSON.stringify({ kind: "ConfigMap", data: { big: "x".repeat(100_000) } })),
        );
      } else json(res, 200, { plain: true });
    };
    const got = await requester.json<{ data: { big: string } }>(get());
    assert.equal(got.data.big.length, 100_000);
    const headers = seen[0]!.headers;
    assert.equal(headers["user-agent"], "test-agent/1");
    assert.equal(headers.authorization, "Bearer t0");
    assert.equal(headers["impersonate-user"], "jane");
    assert.equal(headers["impersonate-group"], "a, b");
    assert.equal(headers["impersonate-uid"], "7");
    assert.equal(headers["impersonate-extra-scope%2fx"], "1");
    await connection.close();

    const noGzip = new Connection(cluster({ disableCompression: true }));
    assert.deepEqual(await new Requester(noGzip).json(get()), { plain: true });
    await noGzip.close();
  });

  test("429 is retried after Retry-After; the metrics hook sees every attempt", async () => {
    const metrics: RequestMetric[] = [];
    const connection = new Connection(cluster());
    const requester = new Requester(connection, { metrics: { request: (m) => metrics.push(m) } });
    let n = 0;
    handler = (_req, res) => {
      if (++n < 3)
        json(
          res,
          429,
          { kind: "Status", apiVersion: "v1", code: 429, reason: "TooManyRequests" },
          { "retry-after": "0" },
        );
      else json(res, 200, { ok: true });
    };
    assert.deepEqual(
      await requester.json(get({ method: "POST", replaySafe: false, body: { a: 1 } })),
      { ok: true },
    );
    assert.equal(seen.length, 3);
    assert.deepEqual(
      metrics.map((m) => m.code),
      [429, 429, 200],
    );
    assert.equal(metrics[0]?.verb, "get");
    assert.equal(metrics[0]?.resource, "configmaps");
    assert.equal(metrics[0]?.method, "POST");
    assert.ok(metrics.every((m) => m.durationSeconds >= 0));
    assert.equal(seen[0]?.headers["content-type"], "application/json");
    assert.equal(seen[0]?.body, '{"a":1}');
    await connection.close();
  });

  test("5xx with Retry-After is retried for reads, not for writes", async () => {
    const connection = new Connection(cluster());
    const requester = new Requester(connection);
    let n = 0;
    handler = (_req, res) => {
      if (++n === 1)
        json(
          res,
          503,
          {
            kind: "Status",
            apiVersion: "v1",
            code: 503,
            reason: "ServiceUnavailable",
            message: "later",
          },
          { "retry-after": "0" },
        );
      else json(res, 200, { ok: true });
    };
    assert.deepEqual(await requester.json(get()), { ok: true });
    n = 0;
    await assert.rejects(requester.json(get({ method: "POST", replaySafe: false })), ServerError);
    assert.equal(seen.length, 3);
    await connection.close();
  });

  test("a reset connection is retried for reads only", async () => {
    const connection = new Connection(cluster());
    const requester = new Requester(connection);
    let n = 0;
    handler = (req, res) => {
      if (++n === 1) req.socket.destroy();
      else json(res, 200, { ok: n });
    };
    assert.deepEqual(await requester.json(get()), { ok: 2 });
    n = 0;
    seen.length = 0;
    await assert.rejects(
      requester.json(get({ method: "PUT", replaySafe: false, body: {} })),
      (err: unknown) => err instanceof ConnectionError && /cannot reach/.test(err.message),
    );
    assert.equal(seen.length, 1);
    await connection.close();
  });

  test("a refused connection is retried, then reported", async () => {
    const connection = new Connection(cluster({ server: "http://127.0.0.1:1" }));
    const requester = new Requester(connection, { maxRetries: 2 });
    const started = performance.now();
    await assert.rejects(
      requester.json(get({ method: "POST", replaySafe: false })),
      (err: unknown) => err instanceof ConnectionError && err.errorCode === "ECONNREFUSED",
    );
    assert.ok(performance.now() - started >= 250, "two backoff waits");
    await connection.close();
  });

  test("401: fresh credentials are tried once; otherwise an UnauthorizedError naming the credentials", async () => {
    let token = "old";
    let refreshes = 0;
    const auth: AuthProvider = {
      description: "test credentials",
      credentials: async () => ({ authorization: `Bearer ${token}` }),
      refresh: async (rejected) => {
        refreshes++;
        token = "new";
        return rejected.authorization !== "Bearer new";
      },
    };
    const connection = new Connection(cluster({ auth }));
    const requester = new Requester(connection);
    handler = (req, res) => {
      if (req.headers.authorization === "Bearer new") json(res, 200, { ok: true });
      else
        json(res, 401, {
          kind: "Status",
          apiVersion: "v1",
          code: 401,
          reason: "Unauthorized",
          message: "Unauthorized",
        });
    };
    assert.deepEqual(await requester.json(get({ method: "POST", replaySafe: false })), {
      ok: true,
    });
    assert.equal(refreshes, 1);
    handler = (_req, res) =>
      json(res, 401, {
        kind: "Status",
        apiVersion: "v1",
        code: 401,
        reason: "Unauthorized",
        message: "Unauthorized",
      });
    await assert.rejects(
      requester.json(get()),
      (err: unknown) =>
        err instanceof UnauthorizedError &&
        err.message ===
          'get configmaps "a" in namespace "ns": unauthorized: Unauthorized (credentials: test credentials)',
    );
    assert.equal(refreshes, 2);
    await connection.close();
  });

  test("typed errors from Status bodies; non-JSON success bodies are reported", async () => {
    const connection = new Connection(cluster());
    const requester = new Requester(connection);
    handler = (_req, res) =>
      json(res, 409, {
        kind: "Status",
        apiVersion: "v1",
        code: 409,
        reason: "Conflict",
        message: 'Operation cannot be fulfilled on configmaps "a": the object has been modified',
      });
    await assert.rejects(requester.json(get({ method: "PUT", replaySafe: false })), ConflictError);
    handler = (_req, res) => {
      res.writeHead(200);
      res.end("<html>");
    };
    await assert.rejects(requester.json(get()), /the response is not JSON: <html>/);
    await connection.close();
  });

  test("per-attempt deadline gives a TimeoutError; the caller's abort rejects with its reason", async () => {
    const connection = new Connection(cluster());
    const requester = new Requester(connection, { maxRetries: 0 });
    handler = () => {}; // never answers
    await assert.rejects(
      requester.json(get({ timeoutMs: 100 })),
      (err: unknown) => err instanceof TimeoutError && /no response within 0.1s/.test(err.message),
    );
    const reason = new Error("shutting down");
    const controller = new AbortController();
    setTimeout(() => controller.abort(reason), 50);
    await assert.rejects(
      requester.json(get({ signal: controller.signal })),
      (err: unknown) => err === reason,
    );
    await connection.destroy();
  });

  test("in-flight requests are bounded", async () => {
    const connection = new Connection(cluster());
    const requester = new Requester(connection, { maxInFlight: 3 });
    let active = 0;
    let peak = 0;
    handler = (_req, res) => {
      active++;
      peak = Math.max(peak, active);
      setTimeout(() => {
        active--;
        json(res, 200, {});
      }, 20);
    };
    await Promise.all(Array.from({ length: 12 }, () => requester.json(get())));
    assert.equal(peak, 3);
    assert.ok(connection.stats.connected <= 3, `sockets: ${connection.stats.connected}`);
    await connection.close();
  });

  test("qps limits the request rate", async () => {
    const connection = new Connection(cluster());
    const requester = new Requester(connection, { qps: 20, burst: 1 });
    handler = (_req, res) => json(res, 200, {});
    const started = performance.now();
    await Promise.all(Array.from({ length: 5 }, () => requester.json(get())));
    assert.ok(performance.now() - started >= 180, "4 waits of 50 ms");
    await connection.close();
  });
});
