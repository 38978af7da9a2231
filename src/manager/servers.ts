/**
 * The manager's HTTP endpoints: `/metrics` on the metrics address and `/healthz`, `/readyz` on
 * the health probe address, with the address syntax Kubebuilder's flags use (`:8080` for every
 * interface, `127.0.0.1:8080`, `[::1]:8080`, `0` for off). Metrics may be served over HTTPS with
 * every request authorized first (see `metrics-auth.ts`).
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { Server as TlsServer } from "node:tls";
import type { Registry } from "prom-client";
import type { HealthChecks, ProbeResult } from "./health.ts";

/** Where to listen: `host` undefined means every interface. */
export interface ListenAddress {
  host: string | undefined;
  port: number;
}

/**
 * Parses a bind address: `""` and `"0"` turn the server off (`undefined`), `:8080` listens on
 * every interface, `host:port` and `[v6]:port` on one. Port 0 picks a free port.
 *
 * @throws {TypeError} for anything else, with the accepted forms.
 * @example
 * parseBindAddress(":8080"); // { host: undefined, port: 8080 }
 * parseBindAddress("0");     // undefined: disabled
 */
export function parseBindAddress(address: string): ListenAddress | undefined {
  const text = address.trim();
  if (text === "" || text === "0") return undefined;
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[3]) : Number.NaN;
  if (!match || port > 65535) {
    throw new TypeError(
      `bind address "${address}" is not valid: use ":8080" (every interface), "127.0.0.1:8080", "[::1]:8080", or "0" to turn it off`,
    );
  }
  const host = match[1] ?? match[2];
  return { host: host === "" ? undefined : host, port };
}

/**
 * A server could not listen because its address is taken (EADDRINUSE). `options` names the
 * manager options that set the address, so callers can name their own flags.
 */
export class AddressInUseError extends Error {
  override name = "AddressInUseError";
  readonly code = "EADDRINUSE";
  /** The address as configured, e.g. `:8080`. */
  readonly address: string;
  /** What is served there, e.g. `metrics`. */
  readonly serving: string;
  /** The manager options that set the address, e.g. `["metricsBindAddress"]`. */
  readonly options: readonly string[];
  constructor(serving: string, address: string, options: readonly string[]) {
    const option = options.join(" and ");
    super(
      `cannot serve ${serving} on ${address}: the address is already in use (EADDRINUSE), perhaps by another operator; ` +
        `set ${option} to another address, ":0" for any free port, or "0" to turn it off`,
    );
    this.address = address;
    this.serving = serving;
    this.options = options;
  }
}

/** A running HTTP server. */
export interface RunningServer {
  /** `http://host:port` (`https://` with TLS), with the port actually bound. */
  readonly url: string;
  readonly port: number;
  /** Serves new connections with another certificate (TLS servers only). */
  setCertificate(pair: { certificatePem: string; privateKeyPem: string }): void;
  close(): Promise<void>;
}

type Handler = (request: IncomingMessage, response: ServerResponse, url: URL) => Promise<void>;

/** The answer of a request filter: go on, or refuse with a status and a message. */
export type FilterResult = { allowed: true } | { allowed: false; status: number; message: string };

/** Options of {@link serve}. */
export interface ServeOptions {
  /** Serve HTTPS with this certificate and key (PEM); plain HTTP without. */
  tls?: { certificatePem: string; privateKeyPem: string };
  /** Runs before every route; a refusal is answered with its status and message. */
  filter?: (request: IncomingMessage, url: URL) => Promise<FilterResult>;
}

/**
 * Starts an HTTP server with `routes` (path prefix → handler); other paths answer 404.
 *
 * @example
 * const server = await serve({ host: "127.0.0.1", port: 0 }, { "/metrics": metricsHandler(registry) });
 * console.log(server.url); // http://127.0.0.1:41234
 * await server.close();
 */
export async function serve(
  address: ListenAddress,
  routes: Record<string, Handler>,
  options: ServeOptions = {},
): Promise<RunningServer> {
  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    const route = Object.entries(routes).find(
      ([path]) => url.pathname === path || url.pathname.startsWith(`${path}/`),
    );
    if (!route || (request.method !== "GET" && request.method !== "HEAD")) {
      response.writeHead(route ? 405 : 404, { "content-type": "text/plain" });
      response.end(route ? "method not allowed\n" : "not found\n");
      return;
    }
    const fail = (error: unknown) => {
      if (!response.headersSent) response.writeHead(500, { "content-type": "text/plain" });
      response.end(`${error instanceof Error ? error.message : String(error)}\n`);
    };
    const filtered = options.filter?.(request, url) ?? Promise.resolve({ allowed: true as const });
    filtered
      .then((result) => {
        if (!result.allowed) {
          response.writeHead(result.status, { "content-type": "text/plain; charset=utf-8" });
          response.end(`${result.message}\n`);
          return;
        }
        return route[1](request, response, url);
      }, fail)
      .catch(fail);
  };
  const server: Server = options.tls
    ? (createHttpsServer(
        { cert: options.tls.certificatePem, key: options.tls.privateKeyPem, minVersion: "TLSv1.2" },
        handle,
      ) as unknown as Server)
    : createServer(handle);
  // Probes and scrapes are short; a stalled client must not pin a socket forever.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: address.host, port: address.port }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const host = address.host ?? "127.0.0.1";
  const shown = host.includes(":") ? `[${host}]` : host;
  return {
    url: `${options.tls ? "https" : "http"}://${shown}:${bound.port}`,
    port: bound.port,
    setCertificate: (pair) => {
      if (!options.tls) throw new Error("the server does not serve TLS");
      (server as unknown as TlsServer).setSecureContext({
        cert: pair.certificatePem,
        key: pair.privateKeyPem,
        minVersion: "TLSv1.2",
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Scrapers keep connections alive; they must not hold the shutdown up.
        server.closeAllConnections();
      }),
  };
}

/** Serves the registry in Prometheus' text format. */
export function metricsHandler(registry: Registry): Handler {
  return async (_request, response) => {
    const body = await registry.metrics();
    response.writeHead(200, { "content-type": registry.contentType });
    response.end(body);
  };
}

function describe(result: ProbeResult, verbose: boolean, probe: string): string {
  if (!verbose && result.healthy) return "ok\n";
  const lines = result.checks.map((check) =>
    check.failure === undefined
      ? `[+]${check.name} ok`
      : `[-]${check.name} failed: ${check.failure}`,
  );
  lines.push(result.healthy ? `${probe} check passed` : `${probe} check failed`);
  return `${lines.join("\n")}\n`;
}

/**
 * Answers a probe the way Kubernetes components do: `200 ok`, or `500` listing each check with
 * `[+]`/`[-]`; `?verbose` lists them on success too; `/<probe>/<check>` runs one check.
 */
export function probeHandler(probe: string, checks: HealthChecks): Handler {
  return async (_request, response, url) => {
    const only = url.pathname.slice(`/${probe}`.length).replace(/^\//, "") || undefined;
    if (only && !checks.has(only)) {
      response.writeHead(404, { "content-type": "text/plain" });
      response.end(`no check named ${only}\n`);
      return;
    }
    const result = await checks.run(only ? { only } : {});
    response.writeHead(result.healthy ? 200 : 500, {
      "content-type": "text/plain; charset=utf-8",
      "x-content-type-options": "nosniff",
    });
    response.end(describe(result, url.searchParams.has("verbose"), probe));
  };
}
