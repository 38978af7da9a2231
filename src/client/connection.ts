/**
 * The transport to one API server: a single long-lived, keep-alive `undici` pool with the
 * cluster's TLS material, plus the per-request headers every call carries (user agent,
 * credentials, impersonation).
 *
 * One pool per cluster for the client's whole life: sockets are reused across requests and
 * watches, TLS sessions are cached, and nothing is rebuilt per request. The pool is replaced only
 * when an exec plugin hands out a new client certificate; the old one drains and closes.
 */
import { readFileSync } from "node:fs";
import { arch, platform } from "node:os";
import { type Dispatcher, Pool } from "undici";
import type { ClientCertificate, Credentials } from "./auth.ts";
import type { ClusterConnection } from "./kubeconfig.ts";

/** Options of the connection pool (client options). */
export interface ConnectionOptions {
  /** `User-Agent` header; defaults to `operon/<version> (<os>/<arch>) node/<version>`. */
  userAgent?: string;
  /**
   * Most sockets open to the server at once; default unlimited. Every running watch holds a
   * socket for its lifetime (HTTP/1.1), so a hard cap here could starve requests behind watches;
   * ordinary requests are bounded by the client's in-flight limit instead.
   */
  maxSockets?: number | null;
  /** How long an idle socket is kept for reuse; default 30 s (below the API server's 90 s). */
  keepAliveTimeoutMs?: number;
  /** TCP connect plus TLS handshake deadline; default 10 s. */
  connectTimeoutMs?: number;
}

/** One HTTP request, relative to the server's base URL. */
export interface SendOptions {
  method: Dispatcher.HttpMethod;
  /** Path and query string, starting with `/`, without the server's path prefix. */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  signal?: AbortSignal;
  /** Time allowed until response headers arrive. */
  headersTimeoutMs?: number;
  /** Longest silence allowed between body chunks; 0 disables the check (watches). */
  bodyTimeoutMs?: number;
  /** May undici replay this request itself (only when nothing was sent yet); default for GET. */
  idempotent?: boolean;
}

/** The response headers and a body stream, plus the credentials that were sent. */
export interface SendResult {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData["body"];
  /** The credentials used, to hand back to the auth provider after a 401. */
  credentials: Credentials;
}

/** Socket and request counts across the connection's pool (undici `PoolStats`). */
export interface ConnectionStats {
  /** Open sockets. */
  connected: number;
  /** Open sockets without a request. */
  free: number;
  /** Requests being sent or awaiting response (including running watches). */
  running: number;
  /** Requests waiting for a socket. */
  pending: number;
  /** Everything in flight or queued. */
  size: number;
}

function packageVersion(): string {
  try {
    const text = readFileSync(new URL("../../package.json", import.meta.url), "utf8");
    const version = (JSON.parse(text) as { version?: unknown }).version;
    return typeof version === "string" ? version : "unknown";
  } catch {
    return "unknown";
  }
}

/** `operon/<version> (<os>/<arch>) node/<version>`: identifies the client in audit logs. */
export const defaultUserAgent = `operon/${packageVersion()} (${platform()}/${arch()}) node/${process.versions.node}`;

function sameCertificate(
  a: ClientCertificate | undefined,
  b: ClientCertificate | undefined,
): boolean {
  return a?.cert === b?.cert && a?.key === b?.key;
}

/**
 * The keep-alive connection pool to one cluster.
 *
 * @example
 * const connection = new Connection(await loadKubeConfig());
 * const res = await connection.send({ method: "GET", path: "/version" });
 * console.log(res.statusCode, await res.body.text());
 * await connection.close();
 */
export class Connection {
  readonly cluster: ClusterConnection;
  /** `scheme://host:port` of the server. */
  readonly origin: string;
  /** Path prefix of the server URL (`""` normally; set behind some proxies such as Rancher). */
  readonly basePath: string;
  readonly userAgent: string;
  readonly #options: ConnectionOptions;
  readonly #fixedHeaders: Record<string, string | string[]>;
  #pool: Pool | undefined;
  #poolCertificate: ClientCertificate | undefined;
  readonly #draining = new Set<Pool>();
  #closed = false;

  constructor(cluster: ClusterConnection, options: ConnectionOptions = {}) {
    this.cluster = cluster;
    this.#options = options;
    const url = new URL(cluster.server);
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, "");
    this.userAgent = options.userAgent ?? defaultUserAgent;
    this.#fixedHeaders = { "user-agent": this.userAgent, ...impersonationHeaders(cluster) };
  }

  #createPool(certificate: ClientCertificate | undefined): Pool {
    const tls = this.cluster.tls;
    const connect: Record<string, unknown> = {
      rejectUnauthorized: !tls.insecureSkipTlsVerify,
      timeout: this.#options.connectTimeoutMs ?? 10_000,
      // TCP keep-alive probes notice a peer that vanished (a dead NAT entry, a killed node)
      // on sockets that sit idle between watch events.
      keepAlive: true,
      keepAliveInitialDelay: 30_000,
    };
    if (tls.ca) connect.ca = tls.ca;
    if (certificate) {
      connect.cert = certificate.cert;
      connect.key = certificate.key;
    }
    if (tls.serverName) connect.servername = tls.serverName;
    return new Pool(this.origin, {
      connections: this.#options.maxSockets ?? null,
      keepAliveTimeout: this.#options.keepAliveTimeoutMs ?? 30_000,
      keepAliveMaxTimeout: 10 * 60_000,
      // HTTP/1.1 only: undici's HTTP/2 pooling ended long-lived watch streams early when tried
      // against kube-apiserver, and a silently ended watch is the failure this client exists
      // to prevent.
      allowH2: false,
      connect,
    });
  }

  #poolFor(certificate: ClientCertificate | undefined): Pool {
    const wanted =
      certificate ??
      (this.cluster.tls.cert && this.cluster.tls.key
        ? { cert: this.cluster.tls.cert, key: this.cluster.tls.key }
        : undefined);
    if (this.#pool && sameCertificate(this.#poolCertificate, wanted)) return this.#pool;
    const old = this.#pool;
    if (old) {
      // Running requests and watches finish on the old pool; it closes once they are done.
      this.#draining.add(old);
      old
        .close()
        .catch(() => {})
        .finally(() => this.#draining.delete(old));
    }
    this.#pool = this.#createPool(wanted);
    this.#poolCertificate = wanted;
    return this.#pool;
  }

  /**
   * Sends one request with credentials and standard headers; resolves when response headers
   * arrive. The caller must consume or destroy the body.
   */
  async send(options: SendOptions): Promise<SendResult> {
    if (this.#closed) throw new Error(`connection to ${this.cluster.server} is closed`);
    const credentials = await this.cluster.auth.credentials(options.signal);
    const pool = this.#poolFor(credentials.clientCertificate);
    const headers: Record<string, string | string[]> = {
      ...this.#fixedHeaders,
      ...options.headers,
    };
    if (credentials.authorization) headers.authorization = credentials.authorization;
    const response = await pool.request({
      method: options.method,
      path: this.basePath + options.path,
      headers,
      body: options.body ?? null,
      signal: options.signal ?? null,
      headersTimeout: options.headersTimeoutMs ?? null,
      bodyTimeout: options.bodyTimeoutMs ?? null,
      ...(options.idempotent !== undefined ? { idempotent: options.idempotent } : {}),
    });
    return {
      statusCode: response.statusCode,
      headers: response.headers,
      body: response.body,
      credentials,
    };
  }

  /** Socket and request counts, summed over the current pool and any draining one. */
  get stats(): ConnectionStats {
    const total: ConnectionStats = { connected: 0, free: 0, running: 0, pending: 0, size: 0 };
    for (const pool of [this.#pool, ...this.#draining]) {
      if (!pool) continue;
      const s = pool.stats;
      total.connected += s.connected;
      total.free += s.free;
      total.running += s.running;
      total.pending += s.pending;
      total.size += s.size;
    }
    return total;
  }

  /** Waits for running requests (and watches) to finish, then closes all sockets. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([this.#pool?.close(), ...[...this.#draining].map((p) => p.close())]);
  }

  /** Aborts running requests and watches and closes all sockets now. */
  async destroy(): Promise<void> {
    this.#closed = true;
    await Promise.all([this.#pool?.destroy(), ...[...this.#draining].map((p) => p.destroy())]);
  }
}

/** The `Impersonate-*` headers for a connection's impersonation settings. */
export function impersonationHeaders(
  cluster: Pick<ClusterConnection, "impersonate">,
): Record<string, string | string[]> {
  const imp = cluster.impersonate;
  const headers: Record<string, string | string[]> = {};
  if (!imp?.user) return headers;
  headers["impersonate-user"] = imp.user;
  if (imp.uid) headers["impersonate-uid"] = imp.uid;
  if (imp.groups?.length) headers["impersonate-group"] = [...imp.groups];
  for (const [key, values] of Object.entries(imp.extra ?? {})) {
    // Header names cannot carry every character a key may hold; the API server
    // percent-decodes the suffix.
    headers[`impersonate-extra-${encodeURIComponent(key)}`] = [...values];
  }
  return headers;
}
