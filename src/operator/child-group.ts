/** The read-only view of one declared child type that `sync` and `finalize` receive. */
import type { KubeObject } from "../resources/object.ts";
import type { ChildGroup } from "./declaration.ts";

/** Children looked up by name; a name without namespace means the parent's namespace. */
export function childGroup<T extends KubeObject>(
  objects: readonly T[],
  defaultNamespace: string | undefined,
): ChildGroup<T> {
  const byKey = new Map(
    objects.map((object) => [`${object.metadata.namespace ?? ""}/${object.metadata.name}`, object]),
  );
  const lookup = (name: string, namespace?: string) =>
    byKey.get(`${namespace ?? defaultNamespace ?? ""}/${name}`) ?? byKey.get(`/${name}`);
  return {
    get: lookup,
    has: (name, namespace) => lookup(name, namespace) !== undefined,
    list: () => [...objects],
    size: objects.length,
    [Symbol.iterator]: () => objects[Symbol.iterator](),
  };
}
