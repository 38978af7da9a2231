/**
 * Calls a hook over HTTP as Metacontroller does: a JSON POST to the webhook's `url`, or to
 * `service` + `path` (by cluster DNS inside the cluster, through the API server's service proxy
 * outside it), with its timeout, `If-None-Match`/ETag caching, CA bundle, client certificate and
 * `Authorization` header, and the response checked the way Go decodes it (strictly for v2 hooks
 * unless told otherwise).
 */
import { Agent, type Dispatcher, request } from "undici";
import type { KubeClient } from "../client/client.ts";
import type { KubeObject } from "../resources/object.ts";
import { parseGoDuration } from "./go-json.ts";
import { checkResponse, duplicateKeys, type FieldType, ResponseShapeError } from "./json-check.ts";
import type {
  Authorization,
  BasicAuth,
  CABundle,
  ClientTLS,
  EndpointConfig,
  Hook,
  HookVersion,
  HookWebhook,
  ResponseUnmarshallMode,
} from "./types.ts";

const Secret = { apiVersion: "v1", kind: "Secret", plural: "secrets", namespaced: true } as const;
const ConfigMap = {
  apiVersion: "v1",
  kind: "ConfigMap",
  plural: "configmaps",
  namespaced: true,
} as const;

/** Why a hook call failed, as the parent's condition reports it. */
export type HookFailure =
  | "HookUnreachable"
  | "HookTimeout"
  | "HookFailed"
  | "HookInvalidResponse"
  | "HookConfigInvalid";

/** A hook call that failed; `reason` classifies it. */
export class HookError extends Error {
  override readonly name = "HookError";
  readonly reason: HookFailure;
  constructor(reason: HookFailure, message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

/** The hook answered 429: call again after `retryAfterMs`. */
export class HookRetryLaterError extends Error {
  override readonly name = "HookRetryLaterError";
  readonly retryAfterMs: number;
  constructor(retryAfterSeconds: number) {
    super(`Too many request, it will be resync after: ${retryAfterSeconds}`);
    this.retryAfterMs = Math.max(0, retryAfterSeconds) * 1_000;
  }
}

/** How hooks given as a Service reference are reached. */
export type ServiceAccess = "dns" | "proxy";

/** Where `--hook-service-access auto` sends service hooks: DNS in a pod, the proxy elsewhere. */
export function defaultServiceAccess(env: NodeJS.ProcessEnv = process.env): ServiceAccess {
  return env.KUBERNETES_SERVICE_HOST ? "dns" : "proxy";
}

export interface HookClientOptions {
  hook: Hook;
  /** The controller's `endpointConfigs`. */
  endpointConfigs?: EndpointConfig[] | undefined;
  /** Reads Secrets and ConfigMaps of the connection settings, and carries proxied calls. */
  client: KubeClient;
  serviceAccess: ServiceAccess;
  /** `sync`, `finalize`, `customize`: for messages. */
  name: string;
}

interface Resolved {
  caBundle?: string;
  cert?: { cert: string; key: string };
  authorization?: string;
}

const defaultTimeoutMs = 10_000;

/** The URL of a webhook, as Metacontroller builds it. */
export function webhookUrl(webhook: HookWebhook): string {
  if (webhook.url) return webhook.url;
  const { service, path } = webhook;
  if (!service || path === undefined) {
    throw new HookError(
      "HookConfigInvalid",
      "invalid webhook config: must specify either a full 'url', or both 'service' and 'path'",
    );
  }
  if (!service.name || !service.namespace) {
    throw new HookError(
      "HookConfigInvalid",
      "invalid webhook config: 'service' must specify both 'name' and 'namespace'",
    );
  }
  return `${service.protocol ?? "http"}://${service.name}.${service.namespace}:${service.port ?? 80}${path}`;
}

/** The timeout of a webhook in milliseconds (10 s when absent or not positive). */
export function webhookTimeoutMs(webhook: HookWebhook): number {
  if (!webhook.timeout) return defaultTimeoutMs;
  try {
    const ms = parseGoDuration(webhook.timeout);
    return ms > 0 ? ms : defaultTimeoutMs;
  } catch {
    return defaultTimeoutMs;
  }
}

/** The endpoint config matching a URL's host (case-insensitive; default ports are optional). */
export function matchEndpointConfig(
  url: string,
  configs: readonly EndpointConfig[],
): EndpointConfig | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const scheme = parsed.protocol.replace(/:$/, "");
  const defaultPort = scheme === "https" ? "443" : scheme === "http" ? "80" : "";
  // WHATWG URLs drop a default port; Go keeps what was written. Compare both ways.
  const explicitPort = /^[a-z]+:\/\/[^/]*:(\d+)/i.exec(url)?.[1] ?? "";
  const hostname = parsed.hostname.replace(/^\[|\]$/g, "");
  const written = explicitPort ? `${hostname}:${explicitPort}` : hostname;
  const canonical = `${hostname}:${explicitPort || defaultPort}`;
  for (const config of configs) {
    const host = config.host.toLowerCase();
    if (host === written.toLowerCase() || host === canonical.toLowerCase()) return config;
    if (explicitPort && explicitPort === defaultPort && host === hostname.toLowerCase())
      return config;
  }
  return undefined;
}

async function secretData(
  client: KubeClient,
  namespace: string,
  name: string,
  what: string,
): Promise<Record<string, string>> {
  const secret = await client.get(Secret, name, { namespace }).catch((error: unknown) => {
    throw new HookError(
      "HookConfigInvalid",
      `can't get ${what} secret ${namespace}/${name}: ${error instanceof Error ? error.message : String(error)}`,
    );
  });
  const data = (secret as { data?: Record<string, string> }).data ?? {};
  return Object.fromEntries(
    Object.entries(data).map(([key, value]) => [key, Buffer.from(value, "base64").toString()]),
  );
}

async function resolveCaBundle(
  client: KubeClient,
  spec: CABundle | undefined,
): Promise<string | undefined> {
  if (!spec) return undefined;
  const sources = [spec.inline, spec.secretRef, spec.configMapRef].filter((s) => s !== undefined);
  if (sources.length === 0) {
    throw new HookError(
      "HookConfigInvalid",
      "caBundle is set but none of inline, secretRef, or configMapRef is specified",
    );
  }
  if (sources.length > 1) {
    throw new HookError(
      "HookConfigInvalid",
      "caBundle has more than one source set: exactly one of inline, secretRef, or configMapRef must be specified",
    );
  }
  if (spec.inline !== undefined) return spec.inline;
  if (spec.secretRef) {
    const { name, namespace, key = "ca.crt" } = spec.secretRef;
    const value = (await secretData(client, namespace, name, "caBundle"))[key];
    if (!value) {
      throw new HookError(
        "HookConfigInvalid",
        `caBundle: key "${key}" not found in Secret ${namespace}/${name}`,
      );
    }
    return value;
  }
  const { name, namespace, key = "ca.crt" } = spec.configMapRef!;
  const configMap = await client.get(ConfigMap, name, { namespace }).catch((error: unknown) => {
    throw new HookError(
      "HookConfigInvalid",
      `caBundle: failed to get ConfigMap ${namespace}/${name}: ${error instanceof Error ? error.message : String(error)}`,
    );
  });
  const value = (configMap as { data?: Record<string, string> }).data?.[key];
  if (!value) {
    throw new HookError(
      "HookConfigInvalid",
      `caBundle: key "${key}" not found in ConfigMap ${namespace}/${name}`,
    );
  }
  return value;
}

async function resolveAuthorization(client: KubeClient, spec: Authorization): Promise<string> {
  const type = (spec.type ?? "").trim() || "Bearer";
  if (type.toLowerCase() === "basic") {
    throw new HookError(
      "HookConfigInvalid",
      `authorization type "${spec.type}" is not supported; use the basicAuth field instead`,
    );
  }
  const { name, namespace, key } = spec.secretRef;
  const value = (await secretData(client, namespace, name, "authorization"))[key];
  if (value === undefined) {
    throw new HookError(
      "HookConfigInvalid",
      `authorization secret ${namespace}/${name} does not contain key "${key}"`,
    );
  }
  return `${type} ${value.trim()}`;
}

async function resolveBasicAuth(client: KubeClient, spec: BasicAuth): Promise<string> {
  const { name, namespace } = spec.secretRef;
  const data = await secretData(client, namespace, name, "basicAuth");
  const usernameKey = spec.usernameKey || "username";
  const passwordKey = spec.passwordKey || "password";
  const username = data[usernameKey];
  const password = data[passwordKey];
  for (const [key, value] of [
    [usernameKey, username],
    [passwordKey, password],
  ] as const) {
    if (value === undefined) {
      throw new HookError(
        "HookConfigInvalid",
        `basicAuth secret ${namespace}/${name} does not contain key "${key}"`,
      );
    }
  }
  if (username!.includes(":")) {
    throw new HookError("HookConfigInvalid", "basicAuth username must not contain ':'");
  }
  return `Basic ${Buffer.from(`${username!.trim()}:${password!.trim()}`).toString("base64")}`;
}

async function resolveClientTls(
  client: KubeClient,
  spec: ClientTLS | undefined,
): Promise<Resolved["cert"]> {
  if (!spec) return undefined;
  const { name, namespace } = spec.secretRef;
  const data = await secretData(client, namespace, name, "clientTLS");
  const certKey = spec.certKey || "tls.crt";
  const keyKey = spec.privateKeyKey || "tls.key";
  const cert = data[certKey];
  const key = data[keyKey];
  if (cert === undefined || key === undefined) {
    throw new HookError(
      "HookConfigInvalid",
      `clientTLS secret ${namespace}/${name} does not contain key "${cert === undefined ? certKey : keyKey}"`,
    );
  }
  return { cert, key };
}

async function resolveConnection(
  client: KubeClient,
  webhook: HookWebhook,
  endpointConfigs: readonly EndpointConfig[],
): Promise<Resolved> {
  let source:
    | Pick<HookWebhook, "caBundle" | "clientTLS" | "authorization" | "basicAuth">
    | undefined = webhook;
  // Settings on the hook win over the controller's endpointConfigs (no merging, as Metacontroller).
  if (!webhook.caBundle && !webhook.clientTLS && !webhook.authorization && !webhook.basicAuth) {
    source = undefined;
    if (endpointConfigs.length > 0) {
      try {
        source = matchEndpointConfig(webhookUrl(webhook), endpointConfigs);
      } catch {
        source = undefined;
      }
    }
  }
  if (!source) return {};
  if (source.authorization && source.basicAuth) {
    throw new HookError("HookConfigInvalid", "authorization and basicAuth are mutually exclusive");
  }
  const resolved: Resolved = {};
  const ca = await resolveCaBundle(client, source.caBundle);
  if (ca) resolved.caBundle = ca;
  const cert = await resolveClientTls(client, source.clientTLS);
  if (cert) resolved.cert = cert;
  if (source.authorization) {
    resolved.authorization = await resolveAuthorization(client, source.authorization);
  } else if (source.basicAuth) {
    resolved.authorization = await resolveBasicAuth(client, source.basicAuth);
  }
  return resolved;
}

interface EtagEntry {
  etag: string;
  body: string;
  expiresAt: number;
}

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** What a hook call returns: the decoded body. */
export type HookResponse = Record<string, unknown>;

/**
 * One hook of one controller: resolved once (secrets are read when the controller starts, as
 * Metacontroller does; change the controller to pick up rotated credentials).
 *
 * @example
 * const hook = await HookClient.create({ hook: cc.spec.hooks.sync, client, serviceAccess: "dns", name: "sync" });
 * const response = await hook.call(goJson(request), parent, { status: "object", children: "objects" });
 */
export class HookClient {
  readonly name: string;
  readonly version: HookVersion;
  readonly mode: ResponseUnmarshallMode;
  readonly url: string;
  readonly timeoutMs: number;
  readonly #client: KubeClient;
  readonly #via: "direct" | "proxy";
  readonly #proxyPath: string | undefined;
  readonly #dispatcher: Dispatcher | undefined;
  readonly #authorization: string | undefined;
  readonly #etag: { timeoutMs: number; cleanupMs: number } | undefined;
  readonly #etags = new Map<string, EtagEntry>();
  #nextCleanup = 0;

  private constructor(
    options: HookClientOptions,
    webhook: HookWebhook,
    resolved: Resolved,
    url: string,
    via: "direct" | "proxy",
  ) {
    this.name = options.name;
    this.version = options.hook.version === "v2" ? "v2" : "v1";
    this.mode = webhook.responseUnMarshallMode ?? (this.version === "v2" ? "strict" : "loose");
    this.url = url;
    this.timeoutMs = webhookTimeoutMs(webhook);
    this.#client = options.client;
    this.#via = via;
    this.#authorization = resolved.authorization;
    if (via === "proxy") {
      const service = webhook.service!;
      const scheme = service.protocol ?? "http";
      this.#proxyPath =
        `/api/v1/namespaces/${encodeURIComponent(service.namespace)}/services/` +
        `${encodeURIComponent(`${scheme}:${service.name}:${service.port ?? 80}`)}/proxy${webhook.path ?? ""}`;
    }
    this.#dispatcher = new Agent({
      keepAliveTimeout: 30_000,
      connect: {
        ...(resolved.caBundle ? { ca: resolved.caBundle } : {}),
        ...(resolved.cert ? { cert: resolved.cert.cert, key: resolved.cert.key } : {}),
        minVersion: "TLSv1.2",
      },
    });
    const etag = webhook.etag;
    if (etag?.enabled) {
      this.#etag = {
        timeoutMs: (etag.cacheTimeoutSeconds ?? 0) * 1_000,
        cleanupMs: (etag.cacheCleanupSeconds ?? 0) * 1_000,
      };
    }
  }

  /** Resolves the hook's connection settings (reading the Secrets they name). */
  static async create(options: HookClientOptions): Promise<HookClient> {
    const webhook = options.hook.webhook;
    if (!webhook) {
      throw new HookError("HookConfigInvalid", `the ${options.name} hook has no webhook`);
    }
    const url = webhookUrl(webhook);
    const via = !webhook.url && options.serviceAccess === "proxy" ? "proxy" : "direct";
    const resolved = await resolveConnection(
      options.client,
      webhook,
      options.endpointConfigs ?? [],
    );
    return new HookClient(options, webhook, resolved, url, via);
  }

  /** Closes the hook's connections. */
  async close(): Promise<void> {
    await this.#dispatcher?.close().catch(() => {});
  }

  #etagKey(root: KubeObject): string {
    return `${root.kind}/${root.metadata.namespace ?? ""}/${root.metadata.name ?? ""}`;
  }

  #cachedEtag(key: string): EtagEntry | undefined {
    const now = Date.now();
    if (this.#etag && this.#etag.cleanupMs > 0 && now >= this.#nextCleanup) {
      this.#nextCleanup = now + this.#etag.cleanupMs;
      for (const [k, entry] of this.#etags) if (entry.expiresAt <= now) this.#etags.delete(k);
    }
    const entry = this.#etags.get(key);
    if (entry && entry.expiresAt <= now) {
      this.#etags.delete(key);
      return undefined;
    }
    return entry;
  }

  async #send(
    body: string,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<RawResponse> {
    if (this.#via === "proxy") {
      const response = await this.#client.connection.send({
        method: "POST",
        path: this.#proxyPath!,
        headers,
        body,
        signal,
      });
      return {
        status: response.statusCode,
        headers: response.headers,
        text: await response.body.text(),
      };
    }
    const response = await request(this.url, {
      method: "POST",
      headers,
      body,
      signal,
      ...(this.#dispatcher ? { dispatcher: this.#dispatcher } : {}),
    });
    return {
      status: response.statusCode,
      headers: response.headers,
      text: await response.body.text(),
    };
  }

  /**
   * POSTs `body` (the encoded request) and returns the decoded response, checked against
   * `fields`. `root` (the parent or target object) keys the ETag cache.
   */
  async call(
    body: string,
    root: KubeObject,
    fields: Readonly<Record<string, FieldType>>,
    signal?: AbortSignal,
  ): Promise<HookResponse> {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.#authorization && this.#via === "direct") headers.authorization = this.#authorization;
    const etagKey = this.#etag ? this.#etagKey(root) : undefined;
    const cached = etagKey ? this.#cachedEtag(etagKey) : undefined;
    if (cached) headers["if-none-match"] = cached.etag;

    const timeout = AbortSignal.timeout(this.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let response: RawResponse;
    try {
      response = await this.#send(body, headers, combined);
    } catch (error) {
      if (timeout.aborted) {
        throw new HookError(
          "HookTimeout",
          `http error: Post "${this.url}": context deadline exceeded (timeout ${this.timeoutMs / 1000}s)`,
          { cause: error },
        );
      }
      if (signal?.aborted) throw error;
      const cause = error as { code?: string; message?: string; cause?: { code?: string } };
      const code = cause.code ?? cause.cause?.code;
      throw new HookError(
        "HookUnreachable",
        `http error: Post "${this.url}": ${code ? `${code}: ` : ""}${cause.message ?? String(error)}`,
        { cause: error },
      );
    }

    if (response.status === 429) {
      const header = response.headers["retry-after"];
      const value = Array.isArray(header) ? header[0] : header;
      let seconds = 0;
      if (value) {
        const date = Date.parse(value);
        seconds = /^\s*\d+\s*$/.test(value)
          ? Number(value)
          : Number.isNaN(date)
            ? 0
            : Math.ceil((date - Date.now()) / 1000);
      }
      throw new HookRetryLaterError(seconds);
    }

    let text = response.text;
    const notModified = response.status === 304 || response.status === 412;
    if (notModified && cached) {
      text = cached.body;
    } else if (response.status !== 200) {
      throw new HookError(
        "HookFailed",
        `${this.name} hook: unsupported status code: ${response.status} body: ${text}`,
      );
    } else if (etagKey) {
      const header = response.headers.etag;
      const etag = Array.isArray(header) ? header[0] : header;
      if (etag) {
        const timeoutMs = this.#etag!.timeoutMs;
        this.#etags.set(etagKey, {
          etag,
          body: text,
          expiresAt: timeoutMs > 0 ? Date.now() + timeoutMs : Number.POSITIVE_INFINITY,
        });
      }
    }

    let decoded: unknown;
    try {
      decoded = JSON.parse(text);
    } catch (error) {
      throw new HookError(
        "HookInvalidResponse",
        `can't unmarshal webhookResponse (version: ${this.version}, type: ${this.name}): ${(error as Error).message}`,
        { cause: error },
      );
    }
    try {
      const { unknown } = checkResponse(decoded, fields);
      if (this.mode === "strict") {
        const problems = [
          ...unknown,
          ...duplicateKeys(text).map((path) => `duplicate field "${path}"`),
        ];
        if (problems.length > 0) {
          throw new ResponseShapeError(
            `strict validation failed for ${this.version} webhookResponse (type: ${this.name}, mode: strict): ${problems.join(", ")}`,
          );
        }
      }
    } catch (error) {
      if (error instanceof ResponseShapeError) {
        throw new HookError(
          "HookInvalidResponse",
          error.message.startsWith("strict")
            ? error.message
            : `can't unmarshal webhookResponse (version: ${this.version}, type: ${this.name}): ${error.message}`,
        );
      }
      throw error;
    }
    return (decoded ?? {}) as HookResponse;
  }
}

/** A controller's hooks by name, each a client where declared. */
export interface HookClients {
  sync?: HookClient;
  finalize?: HookClient;
  customize?: HookClient;
}

/**
 * Creates a client for each hook a controller declares (`sync`, `finalize`, `customize`). If one
 * cannot be created, those already created are closed before the error is thrown.
 */
export async function createHookClients(
  hooks: { sync?: Hook | undefined; finalize?: Hook | undefined; customize?: Hook | undefined },
  options: Omit<HookClientOptions, "hook" | "name">,
): Promise<HookClients> {
  const clients: HookClients = {};
  try {
    for (const name of ["sync", "finalize", "customize"] as const) {
      const hook = hooks[name];
      if (hook) clients[name] = await HookClient.create({ ...options, hook, name });
    }
    return clients;
  } catch (error) {
    await Promise.all(Object.values(clients).map((client) => client.close()));
    throw error;
  }
}
