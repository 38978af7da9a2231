/**
 * JSON Patch (RFC 6902) between two JSON documents: how a mutating webhook's returned object
 * becomes the `patch` of its AdmissionResponse. Also applies patches, so a mutation can be checked
 * end to end without an API server.
 *
 * The diff walks objects key by key. Arrays of the same length are compared element by element;
 * arrays whose length changed are replaced as a whole: positional add/remove sequences for
 * lists are fragile (an insert shifts every later index) and the API server accepts a
 * replacement just as well.
 *
 * @module
 */

import type { JsonPatchOperation } from "../client/index.ts";
import { jsonEqual } from "../common/json.ts";

export type { JsonPatchOperation };

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const hasOwn = (object: JsonObject, key: string): boolean =>
  Object.hasOwn(object, key) && object[key] !== undefined;

/**
 * Escapes one reference token of a JSON pointer (RFC 6901): `~` becomes `~0`, `/` becomes `~1`.
 * `~` goes first so the `~` introduced for `/` is not escaped again.
 *
 * @example
 * escapePointerToken("example.com/owner"); // "example.com~1owner"
 */
export function escapePointerToken(token: string): string {
  return token.replaceAll("~", "~0").replaceAll("/", "~1");
}

/**
 * Reverses {@link escapePointerToken}. `~1` goes first so `~01` decodes to `~1`, not `/`.
 */
export function unescapePointerToken(token: string): string {
  return token.replaceAll("~1", "/").replaceAll("~0", "~");
}

/** Splits a JSON pointer into unescaped tokens; `""` (the whole document) gives none. */
export function parsePointer(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) throw new Error(`invalid JSON pointer ${JSON.stringify(pointer)}`);
  return pointer.slice(1).split("/").map(unescapePointerToken);
}

function diff(before: unknown, after: unknown, path: string, out: JsonPatchOperation[]): void {
  if (jsonEqual(before, after)) return;
  if (isObject(before) && isObject(after)) {
    for (const key of Object.keys(before)) {
      if (hasOwn(before, key) && !hasOwn(after, key)) {
        out.push({ op: "remove", path: `${path}/${escapePointerToken(key)}` });
      }
    }
    for (const key of Object.keys(after)) {
      if (!hasOwn(after, key)) continue;
      const child = `${path}/${escapePointerToken(key)}`;
      if (hasOwn(before, key)) diff(before[key], after[key], child, out);
      else out.push({ op: "add", path: child, value: after[key] });
    }
    return;
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    for (let index = 0; index < after.length; index++) {
      diff(before[index], after[index], `${path}/${index}`, out);
    }
    return;
  }
  out.push({ op: "replace", path, value: after });
}

/**
 * The JSON patch that turns `before` into `after` (both JSON values). Operation values share
 * structure with `after`; serialize the patch before changing `after` further.
 *
 * @example
 * createJsonPatch(
 *   { metadata: { labels: { a: "1" } } },
 *   { metadata: { labels: { a: "2", "example.com/team": "x" } } },
 * );
 * // [{ op: "replace", path: "/metadata/labels/a", value: "2" },
 * //  { op: "add", path: "/metadata/labels/example.com~1team", value: "x" }]
 */
export function createJsonPatch(before: unknown, after: unknown): JsonPatchOperation[] {
  const out: JsonPatchOperation[] = [];
  diff(before, after, "", out);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Applying

function describe(path: string): string {
  return JSON.stringify(path);
}

function arrayIndex(token: string, length: number, path: string, allowEnd: boolean): number {
  if (allowEnd && token === "-") return length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new Error(`invalid array index in ${describe(path)}`);
  const index = Number(token);
  if (index > length || (!allowEnd && index === length)) {
    throw new Error(`array index out of bounds in ${describe(path)}`);
  }
  return index;
}

function getChild(container: unknown, token: string, path: string): unknown {
  if (Array.isArray(container)) return container[arrayIndex(token, container.length, path, false)];
  if (isObject(container) && Object.hasOwn(container, token)) return container[token];
  throw new Error(`path ${describe(path)} does not exist`);
}

function resolve(document: unknown, tokens: string[], path: string): unknown {
  let current = document;
  for (const token of tokens) current = getChild(current, token, path);
  return current;
}

function setMember(object: JsonObject, key: string, value: unknown): void {
  // defineProperty, not assignment: a "__proto__" member must stay data, not change the prototype.
  Object.defineProperty(object, key, {
    value,
    writable: true,
    enumerable: true,
    configurable: true,
  });
}

/** Adds, replaces or removes at `tokens`; returns the new document (changed only at the root). */
function change(
  document: unknown,
  path: string,
  mode: "add" | "replace" | "remove",
  value?: unknown,
): unknown {
  const tokens = parsePointer(path);
  const last = tokens.pop();
  if (last === undefined) {
    if (mode === "remove") throw new Error("cannot remove the whole document");
    return value;
  }
  const parent = resolve(document, tokens, path);
  if (Array.isArray(parent)) {
    const index = arrayIndex(last, parent.length, path, mode === "add");
    if (mode === "add") parent.splice(index, 0, value);
    else if (mode === "replace") parent[index] = value;
    else parent.splice(index, 1);
  } else if (isObject(parent)) {
    if (mode !== "add" && !Object.hasOwn(parent, last)) {
      throw new Error(`path ${describe(path)} does not exist`);
    }
    if (mode === "remove") delete parent[last];
    else setMember(parent, last, value);
  } else {
    throw new Error(`the parent of ${describe(path)} is not an object or array`);
  }
  return document;
}

/**
 * Applies a JSON patch to a copy of `document` and returns the result; `document` is untouched.
 * Throws on an operation that does not apply (missing path, failed `test`).
 *
 * @example
 * applyJsonPatch({ a: 1 }, [{ op: "add", path: "/b", value: [1] }]); // { a: 1, b: [1] }
 */
export function applyJsonPatch(document: unknown, patch: readonly JsonPatchOperation[]): unknown {
  let result = structuredClone(document);
  for (const operation of patch) {
    switch (operation.op) {
      case "add":
      case "replace":
        result = change(result, operation.path, operation.op, structuredClone(operation.value));
        break;
      case "remove":
        result = change(result, operation.path, "remove");
        break;
      case "move": {
        if (operation.path.startsWith(`${operation.from}/`)) {
          throw new Error(`cannot move ${describe(operation.from)} into itself`);
        }
        const value = resolve(result, parsePointer(operation.from), operation.from);
        result = change(result, operation.from, "remove");
        result = change(result, operation.path, "add", value);
        break;
      }
      case "copy": {
        const value = resolve(result, parsePointer(operation.from), operation.from);
        result = change(result, operation.path, "add", structuredClone(value));
        break;
      }
      case "test": {
        const actual = resolve(result, parsePointer(operation.path), operation.path);
        if (!jsonEqual(actual, operation.value)) {
          throw new Error(`test failed at ${describe(operation.path)}`);
        }
        break;
      }
      default:
        throw new Error(`unknown JSON patch operation ${JSON.stringify(operation)}`);
    }
  }
  return result;
}
