/**
 * Authentication providers: what goes into each request's `Authorization` header (and, for exec
 * plugins, which client certificate to present).
 *
 * Providers are asked for credentials on every request, so they cache; after a 401 the request
 * layer calls `refresh` with the credentials that were rejected, and retries once when the
 * provider has something new (a rotated token file, a fresh exec credential).
 */
import { readFile } from "node:fs/promises";
import { CredentialError } from "./errors.ts";

/** A PEM client certificate and its key. */
export interface ClientCertificate {
  cert: string;
  key: string;
}

/** Credentials for one request. */
export interface Credentials {
  /** The `Authorization` header value, e.g. `Bearer abc`. */
  authorization?: string;
  /** A client certificate that replaces the connection's configured one. */
  clientCertificate?: ClientCertificate;
}

/**
 * Supplies credentials to the connection.
 *
 * @example
 * // A custom provider (e.g. a token from a vault), for `ClusterConnection.auth`:
 * const auth: AuthProvider = {
 *   description: "vault token",
 *   credentials: async () => ({ authorization: `Bearer ${await vault.token()}` }),
 *   refresh: async () => { await vault.renew(); return true; },
 * };
 */
export interface AuthProvider {
  /** Says where the credentials come from, for error messages (never the secret itself). */
  readonly description: string;
  /** Credentials for the next request; cached by the provider. */
  credentials(signal?: AbortSignal): Promise<Credentials>;
  /**
   * Called after a 401 with the credentials that were rejected. Resolves `true` when different
   * credentials are now available, so retrying once is worthwhile.
   */
  refresh(rejected: Credentials): Promise<boolean>;
}

/** No credentials (client certificates alone, or an unauthenticated test server). */
export function noAuth(): AuthProvider {
  return {
    description: "no credentials",
    credentials: async () => ({}),
    refresh: async () => false,
  };
}

/** A fixed bearer token. */
export function bearerTokenAuth(token: string, description = "bearer token"): AuthProvider {
  const credentials: Credentials = { authorization: `Bearer ${token}` };
  return {
    description,
    credentials: async () => credentials,
    refresh: async () => false,
  };
}

/** HTTP basic authentication (`username` and `password` in the kubeconfig). */
export function basicAuth(
  username: string,
  password: string,
  description = "basic auth",
): AuthProvider {
  const encoded = Buffer.from(`${username}:${password}`, "utf8").toString("base64");
  const credentials: Credentials = { authorization: `Basic ${encoded}` };
  return {
    description: `${description} (user "${username}")`,
    credentials: async () => credentials,
    refresh: async () => false,
  };
}

/** Options of {@link tokenFileAuth}. */
export interface TokenFileAuthOptions {
  /** How long a read token is used before the file is read again; default one minute. */
  reloadIntervalMs?: number;
  /** A token to use when the file cannot be read (the kubeconfig `token` beside `tokenFile`). */
  fallbackToken?: string;
  /** Clock, for tests. */
  now?: () => number;
}

/**
 * A bearer token read from a file and re-read periodically and after a 401, so rotated tokens
 * (projected service account tokens are rotated hourly) are picked up without a restart.
 *
 * When a re-read fails, the last good token stays in use: a transient read error should not
 * fail requests that the old token still authorises.
 *
 * @example
 * const auth = tokenFileAuth("/var/run/secrets/kubernetes.io/serviceaccount/token");
 */
export function tokenFileAuth(path: string, options: TokenFileAuthOptions = {}): AuthProvider {
  const interval = options.reloadIntervalMs ?? 60_000;
  const now = options.now ?? Date.now;
  let cached: Credentials | undefined;
  let readAt = Number.NEGATIVE_INFINITY;
  let pending: Promise<Credentials> | undefined;

  const load = (): Promise<Credentials> => {
    pending ??= (async () => {
      try {
        const token = (await readFile(path, "utf8")).trim();
        if (!token) throw new CredentialError(`token file ${path} is empty`);
        cached = { authorization: `Bearer ${token}` };
      } catch (err) {
        if (!cached) {
          if (options.fallbackToken) {
            cached = { authorization: `Bearer ${options.fallbackToken}` };
          } else {
            if (err instanceof CredentialError) throw err;
            throw new CredentialError(`cannot read token file ${path}: ${(err as Error).message}`, {
              cause: err,
            });
          }
        }
      } finally {
        readAt = now();
        pending = undefined;
      }
      return cached;
    })();
    return pending;
  };

  return {
    description: `token file ${path}`,
    credentials: async () => {
      if (cached && now() - readAt < interval) return cached;
      return load();
    },
    refresh: async (rejected) => {
      const fresh = await load().catch(() => undefined);
      return fresh !== undefined && fresh.authorization !== rejected.authorization;
    },
  };
}
