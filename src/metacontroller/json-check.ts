/**
 * Checks on hook responses that `JSON.parse` does not make: duplicate keys (which Go's strict
 * decoding reports) and field types (which Go's typed decoding enforces), with Go-like messages.
 */

/**
 * The paths of keys that appear twice in one object of a JSON text, e.g. `status.replicas`.
 * The text must be valid JSON (parse it first).
 */
export function duplicateKeys(text: string): string[] {
  const found: string[] = [];
  // One frame per open container: its keys (objects) and the path to it.
  const stack: Array<{ keys: Set<string> | undefined; path: string; index: number }> = [];
  let pendingKey: string | undefined;
  let i = 0;
  const n = text.length;
  const pathOf = (key: string) => {
    const top = stack[stack.length - 1];
    return top?.path ? `${top.path}.${key}` : key;
  };
  while (i < n) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < n && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const token = text.slice(i, j + 1);
      i = j + 1;
      // A string followed by ':' is a key.
      let k = i;
      while (k < n && (text[k] === " " || text[k] === "\n" || text[k] === "\r" || text[k] === "\t"))
        k++;
      const top = stack[stack.length - 1];
      if (text[k] === ":" && top?.keys) {
        const key = JSON.parse(token) as string;
        if (top.keys.has(key)) found.push(pathOf(key));
        top.keys.add(key);
        pendingKey = key;
        i = k + 1;
      }
      continue;
    }
    if (c === "{" || c === "[") {
      const top = stack[stack.length - 1];
      const segment =
        top === undefined ? "" : top.keys ? pathOf(pendingKey ?? "") : `${top.path}[${top.index}]`;
      stack.push({ keys: c === "{" ? new Set() : undefined, path: segment, index: 0 });
      pendingKey = undefined;
      i++;
      continue;
    }
    if (c === "}" || c === "]") {
      stack.pop();
      i++;
      continue;
    }
    if (c === ",") {
      const top = stack[stack.length - 1];
      if (top && !top.keys) top.index++;
    }
    i++;
  }
  return found;
}

/** The JSON type name Go's errors use for a value. */
function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "object") return "object";
  return typeof value;
}

/** A response field's expected type. */
export type FieldType =
  | "object" // map[string]interface{}
  | "objects" // []*unstructured.Unstructured
  | "number"
  | "boolean"
  | "stringMap" // map[string]*string
  | "relatedRules"; // []*RelatedResourceRule

/** A response that Go's typed decoding would refuse. */
export class ResponseShapeError extends Error {
  override readonly name = "ResponseShapeError";
}

function cannot(value: unknown, field: string, goType: string): ResponseShapeError {
  return new ResponseShapeError(
    `json: cannot unmarshal ${jsonType(value)} into Go struct field .${field} of type ${goType}`,
  );
}

const relatedRuleFields = new Set([
  "apiVersion",
  "resource",
  "labelSelector",
  "namespaceSelector",
  "namespace",
  "names",
]);

/**
 * Checks `body` against the typed response fields; returns the unknown top-level fields (and
 * unknown fields of related rules), which strict mode refuses and loose mode ignores.
 */
export function checkResponse(
  body: unknown,
  fields: Readonly<Record<string, FieldType>>,
): { unknown: string[] } {
  if (body === null) return { unknown: [] };
  if (typeof body !== "object" || Array.isArray(body)) {
    throw new ResponseShapeError(
      `json: cannot unmarshal ${jsonType(body)} into Go value of type struct`,
    );
  }
  const unknown: string[] = [];
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    const type = fields[key];
    if (!type) {
      unknown.push(`unknown field "${key}"`);
      continue;
    }
    if (value === null) continue;
    switch (type) {
      case "object":
        if (typeof value !== "object" || Array.isArray(value))
          throw cannot(value, key, "map[string]interface {}");
        break;
      case "number":
        if (typeof value !== "number") throw cannot(value, key, "float64");
        break;
      case "boolean":
        if (typeof value !== "boolean") throw cannot(value, key, "bool");
        break;
      case "stringMap":
        if (typeof value !== "object" || Array.isArray(value))
          throw cannot(value, key, "map[string]*string");
        for (const [name, item] of Object.entries(value as Record<string, unknown>)) {
          if (item !== null && typeof item !== "string")
            throw cannot(item, `${key}.${name}`, "string");
        }
        break;
      case "objects":
        if (!Array.isArray(value)) throw cannot(value, key, "[]*unstructured.Unstructured");
        value.forEach((item, index) => {
          if (item === null || typeof item !== "object" || Array.isArray(item)) {
            throw new ResponseShapeError(
              `${key}[${index}]: expected a JSON object, got ${jsonType(item)}`,
            );
          }
          const kind = (item as Record<string, unknown>).kind;
          if (typeof kind !== "string" || kind === "") {
            throw new ResponseShapeError(
              `${key}[${index}]: Object 'Kind' is missing in '${JSON.stringify(item)}'`,
            );
          }
        });
        break;
      case "relatedRules":
        if (!Array.isArray(value)) throw cannot(value, key, "[]*v1alpha1.RelatedResourceRule");
        value.forEach((item, index) => {
          if (item === null) return;
          if (typeof item !== "object" || Array.isArray(item))
            throw cannot(item, `${key}`, "v1alpha1.RelatedResourceRule");
          for (const [field, fieldValue] of Object.entries(item as Record<string, unknown>)) {
            if (!relatedRuleFields.has(field)) {
              unknown.push(`unknown field "${key}[${index}].${field}"`);
              continue;
            }
            if (fieldValue === null) continue;
            const ok =
              field === "names"
                ? Array.isArray(fieldValue) && fieldValue.every((v) => typeof v === "string")
                : field === "labelSelector" || field === "namespaceSelector"
                  ? typeof fieldValue === "object" && !Array.isArray(fieldValue)
                  : typeof fieldValue === "string";
            if (!ok)
              throw cannot(
                fieldValue,
                `${key}.${field}`,
                field === "names" ? "[]string" : "string",
              );
          }
        });
        break;
    }
  }
  return { unknown };
}
