/**
 * Calling an operator's `sync` or `finalize` in a unit test, with no server: build the request
 * from plain objects (with the same builders the reconciler uses) and get back what the function
 * returns, typed by the operator's declarations.
 */
import type { KubeClient } from "../client/client.ts";
import type {
  ChildSpec,
  FinalizeResult,
  ObjectOfSpec,
  Operator,
  SyncReason,
  SyncResult,
} from "../operator/declaration.ts";
import { buildFinalizeRequest, buildSyncRequest } from "../operator/request.ts";
import type { KubeObject } from "../resources/object.ts";

/** The snapshot to build a request from. */
export interface SyncInput<
  P extends KubeObject,
  C extends Record<string, ChildSpec> = Record<string, ChildSpec>,
  R extends Record<string, KubeObject> = Record<string, KubeObject>,
> {
  /** The parent, as `sync` receives it. */
  parent: P;
  /** Children per declared child name. */
  children?: { [K in keyof C]?: ObjectOfSpec<C[K]>[] };
  /** Related objects per declared related name. */
  related?: { [K in keyof R]?: R[K][] };
  /** Default `["parent-changed"]`. */
  reasons?: SyncReason[];
  /** Consecutive failures before this call. Default 0. */
  attempt?: number;
  /** `request.now`. Default: the current time. */
  now?: Date;
  /** `request.client`. Default: a client whose every call throws (sync should not need one). */
  client?: KubeClient;
  /** `request.signal`. Default: a signal that never aborts. */
  signal?: AbortSignal;
}

/** A stand-in for `request.client` that says how to give a real one. */
function absentClient(caller: "callSync" | "callFinalize"): KubeClient {
  return new Proxy({} as KubeClient, {
    get(_target, property) {
      if (property === "then") return undefined; // not a thenable
      return () => {
        throw new Error(
          `request.client.${String(property)}: ${caller} was given no client; pass one with ${caller}(operator, { client, ... })`,
        );
      };
    },
  });
}

/**
 * Calls `operator.sync` with a request built from plain objects.
 *
 * @example
 * const result = await callSync(echoOperator, {
 *   parent: echoServer({ message: "hi" }),
 *   now: new Date("2030-01-01T00:00:00Z"),
 * });
 * assert.equal(result.children?.length, 2);
 */
export async function callSync<
  P extends KubeObject,
  C extends Record<string, ChildSpec>,
  R extends Record<string, KubeObject>,
>(operator: Operator<P, C, R>, input: SyncInput<NoInfer<P>, C, R>): Promise<SyncResult<P, C>> {
  const anyOperator = operator as unknown as Operator;
  const request = buildSyncRequest(
    anyOperator,
    {
      parent: input.parent,
      children: (input.children ?? {}) as Record<string, KubeObject[]>,
      related: (input.related ?? {}) as Record<string, KubeObject[]>,
    },
    {
      reasons: new Set(input.reasons ?? ["parent-changed"]),
      attempt: input.attempt ?? 0,
      signal: input.signal ?? new AbortController().signal,
      now: input.now ?? new Date(),
      client: input.client ?? absentClient("callSync"),
    },
  );
  return (await anyOperator.sync(request)) as unknown as SyncResult<P, C>;
}

/** The snapshot to build a `finalize` request from: {@link SyncInput} without what only `sync` reads. */
export type FinalizeInput<
  P extends KubeObject,
  C extends Record<string, ChildSpec> = Record<string, ChildSpec>,
> = Omit<SyncInput<P, C>, "related" | "reasons">;

/**
 * Calls `operator.finalize` with a request built from plain objects, as Operon calls it while a
 * parent is being deleted. Throws when the operator has no `finalize`.
 *
 * @example
 * const result = await callFinalize(memcachedOperator, { parent: memcached });
 * assert.equal(result.finalized, true);
 * assert.equal(result.events?.[0]?.reason, "Deleting");
 */
export async function callFinalize<
  P extends KubeObject,
  C extends Record<string, ChildSpec>,
  R extends Record<string, KubeObject>,
>(operator: Operator<P, C, R>, input: FinalizeInput<NoInfer<P>, C>): Promise<FinalizeResult<P>> {
  const anyOperator = operator as unknown as Operator;
  if (!anyOperator.finalize) {
    throw new Error(`callFinalize: operator "${operator.name}" has no finalize function`);
  }
  const request = buildFinalizeRequest(
    anyOperator,
    { parent: input.parent, children: (input.children ?? {}) as Record<string, KubeObject[]> },
    {
      attempt: input.attempt ?? 0,
      signal: input.signal ?? new AbortController().signal,
      now: input.now ?? new Date(),
      client: input.client ?? absentClient("callFinalize"),
    },
  );
  return (await anyOperator.finalize(request)) as FinalizeResult<P>;
}
