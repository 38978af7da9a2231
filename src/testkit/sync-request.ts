/**
 * Calling an operator's `sync` in a unit test, with no server: build the request from plain
 * objects and get back what `sync` returns.
 */
import { childGroup } from "../operator/child-group.ts";
import type { ChildSpec, Operator, SyncReason, SyncResult } from "../operator/declaration.ts";
import type { KubeObject } from "../resources/object.ts";

/** The snapshot to build a request from. */
export interface SyncInput<P extends KubeObject> {
  parent: P;
  /** Children per declared child name. */
  children?: Record<string, KubeObject[]>;
  /** Related objects per declared related name. */
  related?: Record<string, KubeObject[]>;
  reasons?: SyncReason[];
  attempt?: number;
}

/**
 * Calls `operator.sync` with a request built from plain objects.
 *
 * @example
 * const result = await callSync(echoOperator, { parent: echoServer({ message: "hi" }) });
 * assert.equal(result.children?.length, 2);
 */
export async function callSync<
  P extends KubeObject,
  C extends Record<string, ChildSpec>,
  R extends Record<string, KubeObject>,
>(operator: Operator<P, C, R>, input: SyncInput<P>): Promise<SyncResult<P>> {
  const anyOperator = operator as unknown as Operator;
  const namespace = input.parent.metadata.namespace;
  const children = Object.fromEntries(
    [...anyOperator.childTypes.keys()].map((group) => [
      group,
      childGroup(input.children?.[group] ?? [], namespace),
    ]),
  );
  const related = Object.fromEntries(
    Object.keys(anyOperator.related ?? {}).map((name) => [name, input.related?.[name] ?? []]),
  );
  const request = {
    parent: input.parent,
    children,
    related,
    reasons: new Set(input.reasons ?? ["parent-changed"]),
    attempt: input.attempt ?? 0,
    signal: new AbortController().signal,
  };
  return (await anyOperator.sync(request as never)) as SyncResult<P>;
}
