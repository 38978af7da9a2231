/**
 * The HTTPS server the API server calls: one path per webhook, AdmissionReview v1 in and out,
 * `/convert` for the conversions of multi-version kinds (ConversionReview v1), health endpoints,
 * certificates (development, mounted directory with reload, a provider such as an Operon-managed
 * Secret, or given), request metrics and a graceful close.
 *
 * @module
 */

import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { parseGoDuration } from "../common/duration.ts";
import { type Logger, silentLogger } from "../logger.ts";
import {
  type CertificateDirectoryOptions,
  CertificateDirectoryWatcher,
} from "./certificate-watcher.ts";
import {
  checkServingCertificate,
  createDevelopmentCertificates,
  type ServingCertificate,
} from "./certificates.ts";
import {
  type ConversionDefinition,
  conversionPath,
  convertReview,
  decodeConversionReview,
  InvalidConversionReview,
} from "./conversion.ts";
import { AdmissionAbandoned, admit } from "./handler.ts";
import { noWebhookMetrics, type WebhookMetrics } from "./metrics.ts";
import { decodeAdmissionReview, encodeAdmissionReview, InvalidAdmissionReview } from "./review.ts";
import type { CacheReader } from "./types.ts";
import type { Webhook } from "./webhook.ts";

/**
 * A source of serving certificates that may change while the server runs (a mounted directory,
 * a Secret): the server serves the first pair and switches new connections to each later one.
 */
export interface CertificateProvider {
  /** Loads the first pair (throwing when there is none) and reports every later one. */
  start(onChange: (pair: ServingCertificate) => void): Promise<ServingCertificate>;
  /** Stops watching for changes. */
  close(): void;
}

/** Where the serving certificate comes from. */
export type CertificateSource =
  | {
      /** A throw-away CA and certificate made at start; the CA is `server.caCertificatePem`. */
      mode: "development";
      /** Default `["localhost"]`. */
      dnsNames?: string[];
      /** Default `["127.0.0.1", "::1"]`. */
      ipAddresses?: string[];
    }
  | ({
      /** A mounted Secret (`tls.crt`, `tls.key`, optional `ca.crt`), reloaded when it changes. */
      mode: "directory";
      directory: string;
    } & Omit<CertificateDirectoryOptions, "logger">)
  | ({ mode: "static" } & ServingCertificate)
  | {
      /** Pairs from a provider, e.g. `SecretCertificateProvider`, switched to as they change. */
      mode: "provider";
      provider: CertificateProvider;
    };

/** Options of {@link WebhookServer}. */
export interface WebhookServerOptions {
  webhooks: readonly Webhook[];
  /** Conversions of multi-version kinds, served together at `/convert`. */
  conversions?: readonly ConversionDefinition[];
  certificates: CertificateSource;
  /** Default 9443; 0 picks a free port. */
  port?: number;
  /** Address to listen on; default all interfaces. */
  host?: string;
  logger?: Logger;
  /** Largest request body accepted; default 16 MiB (an UPDATE carries two objects of up to ~3 MiB each). */
  maxRequestBytes?: number;
  /** Request hooks (`controller_runtime_webhook_*` when served by a Manager). */
  metrics?: WebhookMetrics;
  /** What handlers read with `ctx.cache`; a Manager gives its informer cache. */
  cache?: CacheReader;
}

/** Options of {@link WebhookServer.close}. */
export interface CloseOptions {
  /** How long running requests may take to finish before their handlers are aborted; default 10 s. */
  graceMs?: number;
}

function statusBody(code: number, message: string): string {
  return JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", code, message });
}

/**
 * Serves admission webhooks over HTTPS. Each webhook is served at its `path`; `/healthz` and
 * `/readyz` answer `ok`.
 *
 * @example
 * const server = new WebhookServer({
 *   webhooks: [requireOwner, defaults],
 *   certificates: { mode: "directory", directory: "/tmp/k8s-webhook-server/serving-certs" },
 * });
 * await server.start();
 * process.on("SIGTERM", () => void server.close());
 */
export class WebhookServer {
  readonly #options: WebhookServerOptions;
  readonly #logger: Logger;
  readonly #byPath = new Map<string, Webhook>();
  readonly #conversions: readonly ConversionDefinition[];
  readonly #metrics: WebhookMetrics;
  readonly #inFlight = new Set<AbortController>();
  #drained: (() => void)[] = [];
  #server: Server | undefined;
  #listening = false;
  #watcher: CertificateProvider | undefined;
  #certificate: ServingCertificate | undefined;
  #closing: Promise<void> | undefined;
  #stopping = false;

  constructor(options: WebhookServerOptions) {
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    const names = new Set<string>();
    for (const webhook of options.webhooks) {
      const taken = this.#byPath.get(webhook.path);
      if (taken) {
        throw new TypeError(
          `webhooks "${taken.name}" and "${webhook.name}" share the path ${webhook.path}; give one a different path`,
        );
      }
      if (names.has(`${webhook.admission}/${webhook.name}`)) {
        throw new TypeError(`two ${webhook.admission} webhooks are named "${webhook.name}"`);
      }
      if (webhook.path === "/healthz" || webhook.path === "/readyz") {
        throw new TypeError(`webhook "${webhook.name}": ${webhook.path} is the health endpoint`);
      }
      if (webhook.path === conversionPath) {
        throw new TypeError(`webhook "${webhook.name}": ${conversionPath} is the conversion path`);
      }
      names.add(`${webhook.admission}/${webhook.name}`);
      this.#byPath.set(webhook.path, webhook);
    }
    this.#conversions = options.conversions ?? [];
    const kinds = new Set<string>();
    for (const conversion of this.#conversions) {
      const id = `${conversion.kind}.${conversion.group}`;
      if (kinds.has(id)) throw new TypeError(`two conversions are declared for ${id}`);
      kinds.add(id);
    }
    this.#metrics = options.metrics ?? noWebhookMetrics;
  }

  /** The conversions served at `/convert`. */
  get conversions(): readonly ConversionDefinition[] {
    return this.#conversions;
  }

  /** True from when the server listens until it starts closing: what readiness reports. */
  get listening(): boolean {
    return this.#listening && !this.#stopping;
  }

  /** The webhooks served, in the order given. */
  get webhooks(): readonly Webhook[] {
    return this.#options.webhooks;
  }

  /** The port listened on (after `start`). */
  get port(): number {
    const address = this.#server?.address() as AddressInfo | null | undefined;
    if (!address) throw new Error("the webhook server is not listening");
    return address.port;
  }

  /**
   * `https://<host>:<port>`, for a client on this machine (the loopback address when listening on
   * all interfaces). Webhook URLs are this plus the webhook's path.
   */
  get url(): string {
    const host = this.#options.host;
    const local =
      !host || host === "0.0.0.0"
        ? "127.0.0.1"
        : host === "::"
          ? "[::1]"
          : host.includes(":")
            ? `[${host}]`
            : host;
    return `https://${local}:${this.port}`;
  }

  /** The PEM CA the API server must trust (the configuration's caBundle), when known. */
  get caCertificatePem(): string | undefined {
    return this.#certificate?.caCertificatePem;
  }

  /** The serving certificate in use. */
  get certificate(): ServingCertificate | undefined {
    return this.#certificate;
  }

  /** Loads or creates the certificate and starts listening. */
  async start(): Promise<void> {
    if (this.#server) throw new Error("the webhook server is already started");
    const pair = await this.#loadCertificate();
    this.#certificate = pair;
    const server = createServer({
      cert: pair.certificatePem,
      key: pair.privateKeyPem,
      minVersion: "TLSv1.2",
      // Longer than the API server's idle timeout (90 s): it then always closes idle connections
      // first and never sends a request into a connection this side is closing.
      keepAliveTimeout: 120_000,
      requestTimeout: 60_000,
    });
    server.on("request", (request: IncomingMessage, response: ServerResponse) => {
      this.#handle(request, response).catch((error: unknown) => {
        // A caller that hung up mid-body is routine; anything else is a bug worth an error line.
        const level = request.destroyed || response.destroyed ? "debug" : "error";
        this.#logger[level]({ err: error, path: request.url }, "webhook request failed");
        if (!response.headersSent) this.#reply(response, 500, statusBody(500, "internal error"));
        else response.destroy();
      });
    });
    server.on("tlsClientError", (error) => {
      this.#logger.debug({ err: error }, "TLS handshake failed");
    });
    this.#server = server;
    const { port = 9443, host } = this.#options;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          resolve();
        });
      });
    } catch (error) {
      // e.g. EADDRINUSE: leave nothing running, so start can be retried.
      this.#watcher?.close();
      this.#watcher = undefined;
      this.#server = undefined;
      throw error;
    }
    server.on("error", (error) => this.#logger.error({ err: error }, "webhook server error"));
    this.#listening = true;
    this.#logger.info(
      {
        url: this.url,
        webhooks: this.#options.webhooks.map((webhook) => webhook.path),
        ...(this.#conversions.length > 0
          ? { conversions: this.#conversions.map((c) => `${c.kind}.${c.group}`) }
          : {}),
      },
      "webhook server listening",
    );
  }

  /**
   * Stops accepting connections, lets running requests finish for `graceMs`, then aborts their
   * handlers (the API server applies the failure policy) and closes every connection.
   */
  close(options: CloseOptions = {}): Promise<void> {
    this.#closing ??= this.#close(options.graceMs ?? 10_000);
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #close(graceMs: number): Promise<void> {
    this.#stopping = true;
    this.#listening = false;
    this.#watcher?.close();
    const server = this.#server;
    if (!server) return;
    // Stops accepting connections and closes the idle keep-alive ones; replies sent from now on
    // carry `connection: close`, so busy connections end once their answer is out.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    if (!(await this.#drain(graceMs))) {
      for (const controller of this.#inFlight) {
        controller.abort(new DOMException("the webhook server is closing", "AbortError"));
      }
      // Aborted calls answer 503 straight away; give those answers a moment to go out.
      await this.#drain(1_000);
    }
    server.closeIdleConnections();
    // Whatever is still open after that (a request half sent) is cut.
    const cut = setTimeout(() => server.closeAllConnections(), 1_000);
    await closed;
    clearTimeout(cut);
    this.#logger.info({}, "webhook server closed");
  }

  /** Resolves true once no request is running, or false after `ms`. */
  async #drain(ms: number): Promise<boolean> {
    if (this.#inFlight.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      new Promise<boolean>((resolve) => this.#drained.push(() => resolve(true))),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), ms);
      }),
    ]);
    clearTimeout(timer);
    return drained;
  }

  async #loadCertificate(): Promise<ServingCertificate> {
    const source = this.#options.certificates;
    switch (source.mode) {
      case "development":
        return createDevelopmentCertificates({
          dnsNames: source.dnsNames ?? ["localhost"],
          ipAddresses: source.ipAddresses ?? ["127.0.0.1", "::1"],
        });
      case "static":
        checkServingCertificate(source);
        return source;
      case "directory":
      case "provider": {
        let provider: CertificateProvider;
        if (source.mode === "directory") {
          const { mode: _mode, directory, ...options } = source;
          provider = new CertificateDirectoryWatcher(directory, {
            ...options,
            logger: this.#logger,
          });
        } else {
          provider = source.provider;
        }
        this.#watcher = provider;
        return provider.start((pair) => {
          // New connections get the new certificate; open ones keep theirs until they close.
          this.#server?.setSecureContext({
            cert: pair.certificatePem,
            key: pair.privateKeyPem,
            minVersion: "TLSv1.2",
          });
          this.#certificate = pair;
        });
      }
      default:
        throw new TypeError(
          `unknown certificate mode ${JSON.stringify((source as { mode: unknown }).mode)}`,
        );
    }
  }

  #reply(response: ServerResponse, code: number, body: string, type = "application/json"): void {
    if (this.#stopping) response.setHeader("connection", "close");
    response.writeHead(code, { "content-type": type, "content-length": Buffer.byteLength(body) });
    response.end(body);
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", "https://webhook.invalid");
    if (url.pathname === "/healthz" || url.pathname === "/readyz") {
      if (request.method !== "GET" && request.method !== "HEAD") {
        response.setHeader("allow", "GET, HEAD");
        this.#reply(response, 405, "method not allowed\n", "text/plain");
        return;
      }
      this.#reply(response, 200, "ok\n", "text/plain");
      return;
    }
    const webhook = this.#byPath.get(url.pathname);
    const conversion = url.pathname === conversionPath && this.#conversions.length > 0;
    if (!webhook && !conversion) {
      this.#reply(response, 404, statusBody(404, `no webhook is served at ${url.pathname}`));
      return;
    }
    // Counted per path, as controller-runtime labels its webhook metrics.
    const path = url.pathname;
    const arrived = performance.now();
    this.#metrics.started(path);
    response.once("close", () => {
      this.#metrics.finished(
        path,
        response.headersSent ? response.statusCode : 0,
        (performance.now() - arrived) / 1000,
      );
    });
    if (request.method !== "POST") {
      response.setHeader("allow", "POST");
      this.#reply(response, 405, statusBody(405, "webhooks accept POST only"));
      return;
    }
    const contentType = request.headers["content-type"];
    if (contentType && !/^application\/json\b/i.test(contentType)) {
      this.#reply(response, 415, statusBody(415, `expected application/json, got ${contentType}`));
      return;
    }

    const body = await this.#readBody(request);
    if (body === undefined) {
      this.#metrics.failed(path, "too_large");
      this.#logger.warn({ path }, "rejected a request body over the size limit");
      this.#reply(response, 413, statusBody(413, "the request body is too large"));
      return;
    }
    if (!webhook) {
      this.#convert(path, body, response);
      return;
    }
    let admissionRequest: ReturnType<typeof decodeAdmissionReview>;
    try {
      admissionRequest = decodeAdmissionReview(JSON.parse(body));
    } catch (error) {
      const message =
        error instanceof InvalidAdmissionReview
          ? error.message
          : `the body is not JSON: ${(error as Error).message}`;
      this.#metrics.failed(path, "bad_request");
      this.#logger.warn({ webhook: webhook.name, message }, "rejected a malformed AdmissionReview");
      this.#reply(response, 400, statusBody(400, message));
      return;
    }

    // Work for this request ends when the caller hangs up, whatever the handler is doing.
    const controller = new AbortController();
    const hangUp = () => {
      if (!response.writableFinished) {
        controller.abort(new DOMException("the caller closed the connection", "AbortError"));
      }
    };
    response.once("close", hangUp);
    this.#inFlight.add(controller);
    try {
      const fromCaller = parseGoDuration(url.searchParams.get("timeout") ?? "");
      const configured = webhook.timeoutSeconds * 1000;
      const timeoutMs = fromCaller === undefined ? configured : Math.min(fromCaller, configured);
      const admission = await admit(webhook, admissionRequest, {
        signal: controller.signal,
        timeoutMs,
        logger: this.#logger,
        onFailure: (reason) => this.#metrics.failed(path, reason),
        ...(this.#options.cache ? { cache: this.#options.cache } : {}),
      });
      if (!response.destroyed)
        this.#reply(response, 200, JSON.stringify(encodeAdmissionReview(admission)));
    } catch (error) {
      if (!(error instanceof AdmissionAbandoned)) throw error;
      // An HTTP error, not a denial: the API server then applies the webhook's failure policy.
      if (!response.destroyed && !response.headersSent) {
        this.#reply(response, error.httpStatus, statusBody(error.httpStatus, error.message));
      }
    } finally {
      response.off("close", hangUp);
      this.#inFlight.delete(controller);
      if (this.#inFlight.size === 0) {
        for (const resolve of this.#drained.splice(0)) resolve();
      }
    }
  }

  /** Answers a ConversionReview: converted objects, or a failure naming the object. */
  #convert(path: string, body: string, response: ServerResponse): void {
    let request: ReturnType<typeof decodeConversionReview>;
    try {
      request = decodeConversionReview(JSON.parse(body));
    } catch (error) {
      const message =
        error instanceof InvalidConversionReview
          ? error.message
          : `the body is not JSON: ${(error as Error).message}`;
      this.#metrics.failed(path, "bad_request");
      this.#logger.warn({ path, message }, "rejected a malformed ConversionReview");
      this.#reply(response, 400, statusBody(400, message));
      return;
    }
    const { review, failure } = convertReview(this.#conversions, request);
    const fields = {
      uid: request.uid,
      desiredAPIVersion: request.desiredAPIVersion,
      objects: request.objects.length,
    };
    if (failure) {
      this.#metrics.failed(path, failure);
      this.#logger.warn(
        { ...fields, reason: review.response?.result.message },
        "conversion failed",
      );
    } else {
      this.#logger.debug(fields, "converted");
    }
    this.#reply(response, 200, JSON.stringify(review));
  }

  /** The body as text, or undefined when larger than the limit (read to the end either way). */
  async #readBody(request: IncomingMessage): Promise<string | undefined> {
    const limit = this.#options.maxRequestBytes ?? 16 * 1024 * 1024;
    const declared = Number(request.headers["content-length"]);
    if (Number.isFinite(declared) && declared > limit) {
      request.resume();
      return undefined;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    }
    return size > limit ? undefined : Buffer.concat(chunks).toString("utf8");
  }
}
