/**
 * Authentication and authorization of metrics scrapes against the API server, as
 * controller-runtime's `filters.WithAuthenticationAndAuthorization` does it for Kubebuilder
 * projects: the bearer token is checked with a TokenReview, then the user it names with a
 * SubjectAccessReview for the verb (`get`) on the non-resource URL (`/metrics`). No token or an
 * invalid one answers 401, a user without the permission 403.
 *
 * Answers are cached as the API server's own delegated authentication and authorization cache
 * them (tokens 1 minute, grants 5 minutes, refusals 30 seconds), so a scraper every 15 s costs
 * the API server two reviews every few minutes, not two per scrape.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { KubeClient } from "../client/client.ts";
import type { OperatorLogger } from "../operator/reconciler.ts";
import type { FilterResult } from "./servers.ts";

/** The user a TokenReview names (`authentication.k8s.io/v1 UserInfo`). */
export interface ReviewedUser {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/** Options of {@link KubeRequestAuthorizer}. */
export interface RequestAuthorizerOptions {
  /** Sends the reviews; needs `create` on `tokenreviews` and `subjectaccessreviews`. */
  client: Pick<KubeClient, "raw">;
  /** How long an authenticated token is trusted without asking again; default 1 minute. */
  authenticationTtlMs?: number;
  /** How long a grant is trusted; default 5 minutes. */
  allowedTtlMs?: number;
  /** How long a refusal is remembered; default 30 seconds. */
  deniedTtlMs?: number;
  /** Most answers kept per cache; default 1024. */
  maxEntries?: number;
  now?: () => number;
  logger?: OperatorLogger;
}

interface TokenReviewStatus {
  authenticated?: boolean;
  user?: ReviewedUser;
  error?: string;
}

/** A map whose entries expire, bounded in size (the oldest entry leaves first). */
class ExpiringCache<V> {
  readonly #entries = new Map<string, { value: V; expires: number }>();
  readonly #max: number;
  readonly #now: () => number;

  constructor(max: number, now: () => number) {
    this.#max = max;
    this.#now = now;
  }

  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expires <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: V, ttlMs: number): void {
    this.#entries.delete(key);
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(key, { value, expires: this.#now() + ttlMs });
  }
}

/** The verb a request's method asks for, as the API server's request info names it. */
function verbOf(method: string | undefined): string {
  switch (method) {
    case "POST":
      return "create";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    case "DELETE":
      return "delete";
    default:
      return "get";
  }
}

/**
 * Authenticates and authorizes requests with the API server.
 *
 * @example
 * const authorizer = new KubeRequestAuthorizer({ client });
 * await serve(address, { "/metrics": metricsHandler(registry) }, {
 *   tls: certificate,
 *   filter: (request, url) => authorizer.check(request, url),
 * });
 */
export class KubeRequestAuthorizer {
  readonly #options: RequestAuthorizerOptions;
  readonly #tokens: ExpiringCache<ReviewedUser | null>;
  readonly #decisions: ExpiringCache<boolean>;

  constructor(options: RequestAuthorizerOptions) {
    this.#options = options;
    const now = options.now ?? Date.now;
    const max = options.maxEntries ?? 1024;
    this.#tokens = new ExpiringCache(max, now);
    this.#decisions = new ExpiringCache(max, now);
  }

  /** 401 without a valid bearer token, 403 when its user may not, allowed otherwise. */
  async check(request: IncomingMessage, url: URL): Promise<FilterResult> {
    const header = request.headers.authorization ?? "";
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) return { allowed: false, status: 401, message: "Unauthorized" };
    const token = match[1]!;
    let user: ReviewedUser | undefined;
    try {
      user = await this.authenticate(token);
    } catch (error) {
      this.#options.logger?.warn({ err: error }, "the TokenReview of a metrics scrape failed");
      return { allowed: false, status: 500, message: "Authentication failed" };
    }
    if (!user) return { allowed: false, status: 401, message: "Unauthorized" };
    const verb = verbOf(request.method);
    try {
      if (await this.authorize(user, verb, url.pathname)) return { allowed: true };
    } catch (error) {
      this.#options.logger?.warn(
        { err: error },
        "the SubjectAccessReview of a metrics scrape failed",
      );
      return { allowed: false, status: 500, message: "Authorization failed" };
    }
    return {
      allowed: false,
      status: 403,
      message: `Forbidden: user "${user.username}" may not ${verb} ${url.pathname}`,
    };
  }

  /** The user a token belongs to, or undefined when the API server does not accept it. */
  async authenticate(token: string): Promise<ReviewedUser | undefined> {
    const key = createHash("sha256").update(token).digest("hex");
    const cached = this.#tokens.get(key);
    if (cached !== undefined) return cached ?? undefined;
    const review = await this.#options.client.raw<{ status?: TokenReviewStatus }>({
      method: "POST",
      path: "/apis/authentication.k8s.io/v1/tokenreviews",
      body: {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenReview",
        spec: { token },
      },
    });
    const status = review.status ?? {};
    const user = status.authenticated && status.user?.username ? status.user : undefined;
    // Refusals are kept shorter, as a token may be fresh and not yet known everywhere.
    this.#tokens.set(
      key,
      user ?? null,
      user ? (this.#options.authenticationTtlMs ?? 60_000) : (this.#options.deniedTtlMs ?? 30_000),
    );
    return user;
  }

  /** Whether `user` may `verb` the non-resource URL `path`. */
  async authorize(user: ReviewedUser, verb: string, path: string): Promise<boolean> {
    const key = JSON.stringify([user.username, user.uid, user.groups, user.extra, verb, path]);
    const cached = this.#decisions.get(key);
    if (cached !== undefined) return cached;
    const review = await this.#options.client.raw<{ status?: { allowed?: boolean } }>({
      method: "POST",
      path: "/apis/authorization.k8s.io/v1/subjectaccessreviews",
      body: {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        spec: {
          user: user.username,
          ...(user.uid ? { uid: user.uid } : {}),
          ...(user.groups ? { groups: user.groups } : {}),
          ...(user.extra ? { extra: user.extra } : {}),
          nonResourceAttributes: { path, verb },
        },
      },
    });
    const allowed = review.status?.allowed === true;
    this.#decisions.set(
      key,
      allowed,
      allowed ? (this.#options.allowedTtlMs ?? 300_000) : (this.#options.deniedTtlMs ?? 30_000),
    );
    return allowed;
  }
}
