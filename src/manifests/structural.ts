/**
 * Converts a JSON Schema (a TypeBox schema, or what another generator emits) into the structural
 * OpenAPI v3 subset a CustomResourceDefinition accepts, or fails with an error naming the field
 * and how to fix it.
 *
 * What it rewrites: TypeBox's symbol keys and `$id`/`$schema` are dropped; unions of literals
 * become `enum`; unions with `null` become `nullable: true`; integer-or-string unions become
 * `x-kubernetes-int-or-string`; `Record` (`patternProperties`) becomes `additionalProperties` (a
 * key pattern becomes a CEL rule); `additionalProperties: false` beside `properties` is dropped
 * (the API server prunes unknown fields anyway); `additionalProperties: true` becomes
 * `x-kubernetes-preserve-unknown-fields`; intersections of objects are merged; local `$ref`s are
 * inlined; numeric `exclusiveMinimum`/`exclusiveMaximum` become OpenAPI 3.0's boolean form;
 * `uniqueItems` on scalars becomes `x-kubernetes-list-type: set`; `Type.Any()`/`Type.Unknown()`
 * keep any value (`x-kubernetes-preserve-unknown-fields`).
 *
 * What it rejects: recursive schemas, unions of different shapes, tuples, JavaScript-only types
 * (Date, Uint8Array, ...), untyped nodes with constraints, unknown keywords, unsupported formats,
 * regular expressions RE2 cannot run, and list-type/map-key combinations the API server refuses.
 */
import { Hint, Kind } from "@sinclair/typebox";
import type { JSONSchemaProps, ValidationRule } from "../resources/index.ts";

/**
 * A schema the API server would reject and that cannot be rewritten into one it accepts. `path` is
 * the field, e.g. `spec.ports[*].name`.
 */
export class SchemaConversionError extends Error {
  override name = "SchemaConversionError";
  readonly path: string;
  readonly problem: string;
  readonly fix: string;

  constructor(path: string, problem: string, fix: string) {
    super(`${path || "(root)"}: ${problem}. ${fix}`);
    this.path = path;
    this.problem = problem;
    this.fix = fix;
  }
}

/** Options of {@link toStructuralSchema}. */
export interface StructuralOptions {
  /** The field path of `schema`, used in errors, e.g. `spec`. */
  path?: string;
}

type Json = Record<string, unknown>;
type JsonType = NonNullable<JSONSchemaProps["type"]>;

const jsonTypes = new Set<string>(["object", "array", "string", "integer", "number", "boolean"]);

/** Formats the API server validates (others are ignored by it, so they are refused here). */
export const supportedFormats: ReadonlySet<string> = new Set([
  "bsonobjectid",
  "uri",
  "email",
  "hostname",
  "ipv4",
  "ipv6",
  "cidr",
  "mac",
  "uuid",
  "uuid3",
  "uuid4",
  "uuid5",
  "isbn",
  "isbn10",
  "isbn13",
  "creditcard",
  "ssn",
  "hexcolor",
  "rgbcolor",
  "byte",
  "password",
  "date",
  "duration",
  "datetime",
  "date-time",
  "int32",
  "int64",
  "float",
  "double",
]);

const numberFormats = new Set(["int32", "int64", "float", "double"]);

const annotationKeys = new Set([
  "description",
  "title",
  "default",
  "example",
  "examples",
  "externalDocs",
  "$id",
  "$schema",
  "$comment",
  "readOnly",
  "writeOnly",
  "deprecated",
]);
const stringKeys = new Set(["minLength", "maxLength", "pattern", "format"]);
const numberKeys = new Set([
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
  "format",
]);
const arrayKeys = new Set([
  "items",
  "minItems",
  "maxItems",
  "uniqueItems",
  "x-kubernetes-list-type",
  "x-kubernetes-list-map-keys",
]);
const objectKeys = new Set([
  "properties",
  "required",
  "additionalProperties",
  "patternProperties",
  "propertyNames",
  "unevaluatedProperties",
  "minProperties",
  "maxProperties",
  "x-kubernetes-map-type",
  "x-kubernetes-embedded-resource",
]);
const generalKeys = new Set([
  "type",
  "enum",
  "const",
  "nullable",
  "anyOf",
  "oneOf",
  "allOf",
  "not",
  "$ref",
  "$defs",
  "definitions",
  "x-kubernetes-preserve-unknown-fields",
  "x-kubernetes-int-or-string",
  "x-kubernetes-validations",
]);
const cel = "use a CEL rule instead (x-kubernetes-validations)";
const unsupportedKeys = new Map<string, string>([
  [
    "prefixItems",
    "Kubernetes arrays have a single item schema; use Type.Array, or an object with named fields",
  ],
  ["additionalItems", "Kubernetes arrays have a single item schema; use Type.Array"],
  ["unevaluatedItems", "drop it; arrays have a single item schema"],
  [
    "contains",
    'use a CEL rule instead, e.g. K8s.Validate(schema, { rule: "self.exists(x, ...)" })',
  ],
  ["minContains", cel],
  ["maxContains", cel],
  ["if", cel],
  ["then", cel],
  ["else", cel],
  ["dependencies", 'use a CEL rule instead, e.g. { rule: "!has(self.a) || has(self.b)" }'],
  ["dependentRequired", 'use a CEL rule instead, e.g. { rule: "!has(self.a) || has(self.b)" }'],
  ["dependentSchemas", cel],
  ["contentEncoding", 'store the data as a plain string (e.g. base64 with format: "byte")'],
  ["contentMediaType", "drop it; Kubernetes does not validate content types"],
]);
const javascriptOnlyKinds = new Set([
  "Date",
  "Uint8Array",
  "BigInt",
  "Symbol",
  "Undefined",
  "Void",
  "Function",
  "Constructor",
  "Promise",
  "AsyncIterator",
  "Iterator",
  "RegExp",
]);

/** Keys of the output, in the order they are written. */
const outputOrder: (keyof JSONSchemaProps)[] = [
  "description",
  "title",
  "type",
  "format",
  "nullable",
  "default",
  "example",
  "enum",
  "pattern",
  "minLength",
  "maxLength",
  "minimum",
  "exclusiveMinimum",
  "maximum",
  "exclusiveMaximum",
  "multipleOf",
  "minItems",
  "maxItems",
  "minProperties",
  "maxProperties",
  "items",
  "properties",
  "required",
  "additionalProperties",
  "allOf",
  "anyOf",
  "oneOf",
  "not",
  "externalDocs",
  "x-kubernetes-embedded-resource",
  "x-kubernetes-int-or-string",
  "x-kubernetes-preserve-unknown-fields",
  "x-kubernetes-list-type",
  "x-kubernetes-list-map-keys",
  "x-kubernetes-map-type",
  "x-kubernetes-validations",
];

const catchAllPatterns = new Set(["^(.*)$", "^.*$", ".*", "^(.*)", "(.*)", ""]);

interface Context {
  path: string;
  /** Schemas by `$id` (and `$defs` names), for `$ref`. */
  ids: Map<string, Json>;
  /** `$ref`s being inlined, to detect recursion. */
  expanding: string[];
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function kindOf(node: Json): string | undefined {
  const kind = (node as { [Kind]?: unknown })[Kind];
  return typeof kind === "string" ? kind : undefined;
}

function child(path: string, name: string): string {
  const segment = /^[A-Za-z_$][\w$-]*$/.test(name) ? name : `[${JSON.stringify(name)}]`;
  if (!path) return segment;
  return segment.startsWith("[") ? `${path}${segment}` : `${path}.${segment}`;
}

function fail(ctx: Context | string, problem: string, fix: string): never {
  throw new SchemaConversionError(typeof ctx === "string" ? ctx : ctx.path, problem, fix);
}

function describe(node: Json): string {
  const kind = kindOf(node);
  if (kind) return `Type.${kind}`;
  if (typeof node.type === "string") return node.type;
  return JSON.stringify(node).slice(0, 60);
}

function collectIds(node: unknown, ids: Map<string, Json>): void {
  if (Array.isArray(node)) {
    for (const item of node) collectIds(item, ids);
    return;
  }
  if (!isObject(node)) return;
  if (typeof node.$id === "string" && !ids.has(node.$id)) ids.set(node.$id, node);
  for (const defsKey of ["$defs", "definitions"]) {
    const defs = node[defsKey];
    if (isObject(defs)) {
      for (const [name, def] of Object.entries(defs)) {
        if (isObject(def)) {
          for (const ref of [name, `#/${defsKey}/${name}`]) {
            if (!ids.has(ref)) ids.set(ref, def);
          }
        }
      }
    }
  }
  for (const value of Object.values(node)) collectIds(value, ids);
}

/**
 * Converts a schema into a structural schema the API server accepts.
 *
 * @throws SchemaConversionError naming the field, the problem and the fix.
 *
 * @example
 * import { Type } from "@sinclair/typebox";
 * toStructuralSchema(Type.Object({ mode: Type.Union([Type.Literal("a"), Type.Literal("b")]) }));
 * // { type: "object", properties: { mode: { type: "string", enum: ["a", "b"] } }, required: ["mode"] }
 */
export function toStructuralSchema(
  schema: unknown,
  options: StructuralOptions = {},
): JSONSchemaProps {
  const ids = new Map<string, Json>();
  collectIds(schema, ids);
  return convert(schema, { path: options.path ?? "", ids, expanding: [] });
}

function convert(input: unknown, ctx: Context): JSONSchemaProps {
  if (!isObject(input)) {
    if (input === true) {
      return { "x-kubernetes-preserve-unknown-fields": true };
    }
    fail(
      ctx,
      `expected a schema object, got ${JSON.stringify(input)}`,
      "Pass a TypeBox schema such as Type.String()",
    );
  }
  const kind = kindOf(input);
  if (kind && javascriptOnlyKinds.has(kind)) {
    fail(
      ctx,
      `Type.${kind} has no JSON form`,
      kind === "Date"
        ? "Store timestamps as strings: K8s.DateTime() (format: date-time)"
        : "Use a JSON type (string, number, integer, boolean, array, object)",
    );
  }
  if (kind === "Never") {
    fail(ctx, "Type.Never accepts no value", "Remove the field or give it a type");
  }
  if (kind === "Tuple") {
    fail(
      ctx,
      "tuples (Type.Tuple) cannot be expressed",
      "Kubernetes arrays have a single item schema; use Type.Array, or an object with named fields",
    );
  }

  // $ref: inline the referenced schema.
  if (typeof input.$ref === "string") {
    const ref = input.$ref;
    const target = ctx.ids.get(ref);
    if (ctx.expanding.includes(ref)) {
      fail(
        ctx,
        `the schema refers to itself through $ref "${ref}" (a recursive type)`,
        "CRD schemas cannot be recursive; cut the recursion with K8s.Unknown() or K8s.Opaque<T>() at that field",
      );
    }
    if (!target) {
      fail(
        ctx,
        `$ref "${ref}" points outside the schema`,
        "Use the schema object itself instead of Type.Ref (CRD schemas cannot contain $ref)",
      );
    }
    const { $ref: _ref, $defs: _defs, definitions: _definitions, ...rest } = input;
    const { $id: _id, ...resolved } = target;
    return convert({ ...resolved, ...rest }, { ...ctx, expanding: [...ctx.expanding, ref] });
  }
  if (typeof input.$id === "string" && (input as { [Hint]?: unknown })[Hint] === "Recursive") {
    // Type.Recursive: only a problem if the self reference is actually used, which the $ref branch
    // reports with the field path.
    return convert(
      { ...input, $id: undefined },
      { ...ctx, expanding: [...ctx.expanding, input.$id] },
    );
  }

  for (const key of Object.keys(input)) {
    if (input[key] === undefined) continue;
    const unsupported = unsupportedKeys.get(key);
    if (unsupported !== undefined) {
      fail(ctx, `"${key}" is not supported in CRD schemas`, capitalize(unsupported));
    }
    if (
      !annotationKeys.has(key) &&
      !stringKeys.has(key) &&
      !numberKeys.has(key) &&
      !arrayKeys.has(key) &&
      !objectKeys.has(key) &&
      !generalKeys.has(key)
    ) {
      fail(ctx, `unknown schema keyword "${key}"`, "Remove it or check its spelling");
    }
  }

  let node: Json = normalizeTypeArray(input, ctx);
  if (Array.isArray(node.anyOf) || Array.isArray(node.oneOf)) {
    return convertUnion(node, ctx);
  }
  if (Array.isArray(node.allOf)) {
    node = mergeAllOf(node, ctx);
    if (Array.isArray(node.anyOf) || Array.isArray(node.oneOf)) return convertUnion(node, ctx);
  }
  if (node.const !== undefined) {
    const { const: value, ...rest } = node;
    node = { ...rest, enum: [value], type: rest.type ?? jsonTypeOf(value) };
  }
  return convertPlain(node, ctx);
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function jsonTypeOf(value: unknown): JsonType | "null" | undefined {
  if (value === null) return "null";
  if (typeof value === "string") return "string";
  if (typeof value === "boolean") return "boolean";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  if (Array.isArray(value)) return "array";
  if (typeof value === "object") return "object";
  return undefined;
}

/** `type: ["string", "null"]` (emitted by some generators) → a union. */
function normalizeTypeArray(node: Json, ctx: Context): Json {
  if (!Array.isArray(node.type)) return node;
  const types = node.type as unknown[];
  if (types.some((type) => typeof type !== "string")) {
    fail(
      ctx,
      `invalid type ${JSON.stringify(node.type)}`,
      "Use one of object, array, string, integer, number, boolean",
    );
  }
  if (types.length === 1) return { ...node, type: types[0] };
  const { type: _type, ...rest } = node;
  const annotations: Json = {};
  const constraints: Json = {};
  for (const [key, value] of Object.entries(rest)) {
    if (annotationKeys.has(key) || key === "nullable" || key.startsWith("x-kubernetes-")) {
      annotations[key] = value;
    } else {
      constraints[key] = value;
    }
  }
  return {
    ...annotations,
    anyOf: types.map((type) => (type === "null" ? { type } : { type, ...constraints })),
  };
}

/** Whether a node is a literal (`const`, or a typed single-value `enum`). */
function literalValues(node: Json): unknown[] | undefined {
  if (node.const !== undefined) return [node.const];
  if (Array.isArray(node.enum) && node.anyOf === undefined && node.oneOf === undefined) {
    return node.enum as unknown[];
  }
  return undefined;
}

function isNullSchema(node: Json): boolean {
  return node.type === "null" || kindOf(node) === "Null";
}

function resolveRef(node: Json, ctx: Context): Json {
  if (typeof node.$ref !== "string") return node;
  const target = ctx.ids.get(node.$ref);
  if (!target || ctx.expanding.includes(node.$ref)) return node;
  const { $ref: _ref, ...rest } = node;
  const { $id: _id, ...resolved } = target;
  return resolveRef({ ...resolved, ...rest }, ctx);
}

function flattenUnion(node: Json, ctx: Context): Json[] {
  const members = (node.anyOf ?? node.oneOf) as unknown[];
  const out: Json[] = [];
  for (const [index, member] of members.entries()) {
    if (!isObject(member)) {
      fail(ctx, `union member ${index} is not a schema`, "Pass TypeBox schemas to Type.Union");
    }
    const resolved = resolveRef(member, ctx);
    const normalized = normalizeTypeArray(resolved, ctx);
    if (
      (Array.isArray(normalized.anyOf) || Array.isArray(normalized.oneOf)) &&
      Object.keys(normalized).every(
        (key) => key === "anyOf" || key === "oneOf" || annotationKeys.has(key),
      )
    ) {
      out.push(...flattenUnion(normalized, ctx));
    } else {
      out.push(normalized);
    }
  }
  return out;
}

/** Keys of a union node that apply to the whole union rather than to a member. */
function unionOuter(node: Json): Json {
  const outer: Json = {};
  for (const [key, value] of Object.entries(node)) {
    if (key !== "anyOf" && key !== "oneOf") outer[key] = value;
  }
  return outer;
}

function convertUnion(node: Json, ctx: Context): JSONSchemaProps {
  const outer = unionOuter(node);
  const members = flattenUnion(node, ctx);
  const nonNull = members.filter((member) => !isNullSchema(member));
  const nullable = nonNull.length < members.length || outer.nullable === true;

  // integer | string → x-kubernetes-int-or-string
  const types = nonNull.map((member) => member.type);
  const isIntOrString =
    outer["x-kubernetes-int-or-string"] === true ||
    (nonNull.length === 2 &&
      types.includes("string") &&
      types.includes("integer") &&
      nonNull.every((member) => literalValues(member) === undefined));
  if (isIntOrString) {
    return convertIntOrString(outer, nonNull, nullable, ctx);
  }

  if (nonNull.length === 0) {
    fail(
      ctx,
      "the schema only allows null",
      "Give the field a type; use K8s.Nullable(schema) for an optional-null value",
    );
  }

  // A union of literals → enum.
  const literals = nonNull.map(literalValues);
  if (literals.every((values) => values !== undefined)) {
    const values = literals.flat();
    const valueTypes = new Set(values.map((value) => jsonTypeOf(value)));
    if (valueTypes.has("integer") && valueTypes.has("number")) valueTypes.delete("integer");
    if (valueTypes.size !== 1) {
      fail(
        ctx,
        `a union of literals of different types (${[...valueTypes].join(", ")}) cannot be an enum`,
        "Use literals of one type (e.g. all strings)",
      );
    }
    const [type] = [...valueTypes] as JsonType[];
    const allowed = [...new Set(values)];
    if (!nullable) return convertPlain({ ...outer, type, enum: allowed }, ctx);
    // The API server checks enum even for null values (and rejects null even when listed), so a
    // nullable enum keeps its values in an allOf junctor, which null skips.
    const converted = convertPlain({ ...outer, type, nullable: true }, ctx);
    if (converted.default !== undefined) {
      checkDefault(converted.default, { ...converted, enum: [...allowed, null] }, ctx.path);
    }
    return order({ ...converted, allOf: [{ enum: allowed }] });
  }

  // One member left (X | null, or a single-member union): merge it with the outer keys.
  if (nonNull.length === 1) {
    const member = nonNull[0]!;
    const merged = { ...member, ...outer, ...(nullable ? { nullable: true } : {}) };
    return convert(merged, ctx);
  }

  // Pure value validations (structural junctors): keep them, if the outer node is typed.
  if (typeof outer.type === "string" && nonNull.every(isPureValidation)) {
    const key = node.anyOf ? "anyOf" : "oneOf";
    const converted = convertPlain(outer, ctx);
    checkJunctorFields(nonNull, converted, key, ctx);
    return order({ ...converted, [key]: nonNull.map((member) => cleanJunctor(member, ctx)) });
  }

  const shapes = [...new Set(nonNull.map(describe))].join(" | ");
  fail(
    ctx,
    `a union of different shapes (${shapes}) cannot be expressed in a CRD schema (anyOf/oneOf may not change the type of a field)`,
    "Use one type: for alternatives, declare one object with optional fields and add K8s.ExactlyOneOf(schema, [...]) or a CEL rule; for enums use K8s.Enum([...]); for int-or-string use K8s.IntOrString()",
  );
}

const validationOnlyKeys = new Set([
  "required",
  "enum",
  "pattern",
  "minLength",
  "maxLength",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
  "minItems",
  "maxItems",
  "minProperties",
  "maxProperties",
  "format",
  "properties",
  "items",
  "anyOf",
  "oneOf",
  "allOf",
  "not",
]);

function isPureValidation(node: Json): boolean {
  return (
    kindOf(node) === undefined &&
    Object.keys(node).every((key) => validationOnlyKeys.has(key)) &&
    Object.keys(node).length > 0
  );
}

/** Fields a junctor constrains must be declared outside it (a structural schema rule). */
function checkJunctorFields(
  members: Json[],
  outer: JSONSchemaProps,
  key: string,
  ctx: Context,
): void {
  for (const member of members) {
    for (const name of Object.keys((member.properties as Json | undefined) ?? {})) {
      if (!outer.properties?.[name]) {
        fail(
          child(ctx.path, name),
          `the field is constrained inside ${key} but not declared in properties`,
          "Declare the field (with its type) in the object's properties too",
        );
      }
    }
  }
}

function cleanJunctor(node: Json, ctx: Context): JSONSchemaProps {
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "properties" && isObject(value)) {
      const properties: Json = {};
      for (const [name, sub] of Object.entries(value)) {
        if (!isObject(sub) || (!isPureValidation(sub) && Object.keys(sub).length > 0)) {
          fail(
            child(ctx.path, name),
            "a property inside anyOf/oneOf/allOf/not may only carry validations",
            "Declare the field's type outside the junctor and keep only constraints (required, pattern, minimum, ...) inside",
          );
        }
        properties[name] = cleanJunctor(sub, { ...ctx, path: child(ctx.path, name) });
      }
      out.properties = properties;
    } else if ((key === "anyOf" || key === "oneOf" || key === "allOf") && Array.isArray(value)) {
      out[key] = value.map((member) => cleanJunctor(member as Json, ctx));
    } else if (key === "not" || key === "items") {
      out[key] = cleanJunctor(value as Json, ctx);
    } else {
      out[key] = value;
    }
  }
  return out as JSONSchemaProps;
}

function convertIntOrString(
  outer: Json,
  members: Json[],
  nullable: boolean,
  ctx: Context,
): JSONSchemaProps {
  const hoisted: Json = {};
  for (const member of members) {
    if (member.type !== "integer" && member.type !== "string" && member.type !== "number") {
      fail(
        ctx,
        `an int-or-string field has a member of type ${describe(member)}`,
        "Use K8s.IntOrString() (integer | string) or a single type",
      );
    }
    if (member.type === "number") {
      fail(
        ctx,
        "x-kubernetes-int-or-string allows integers, not fractional numbers",
        "Use Type.Integer() | Type.String() (K8s.IntOrString())",
      );
    }
    if (literalValues(member) !== undefined) {
      fail(
        ctx,
        "literals in an int-or-string union cannot be expressed",
        "Use K8s.IntOrString() with pattern/minimum constraints, or an enum of strings",
      );
    }
    for (const [key, value] of Object.entries(member)) {
      if (key === "type" || annotationKeys.has(key)) continue;
      hoisted[key] = value;
    }
  }
  const { "x-kubernetes-int-or-string": _marker, type: _type, ...rest } = outer;
  const base = convertPlain(
    {
      ...hoisted,
      ...rest,
      "x-kubernetes-int-or-string": true,
      ...(nullable ? { nullable: true } : {}),
    },
    ctx,
  );
  return order({
    ...base,
    anyOf: [{ type: "integer" }, { type: "string" }],
  });
}

function mergeAllOf(node: Json, ctx: Context): Json {
  const { allOf, unevaluatedProperties, ...outer } = node;
  const members = (allOf as unknown[]).map((member, index) => {
    if (!isObject(member))
      fail(ctx, `allOf member ${index} is not a schema`, "Pass TypeBox schemas to Type.Intersect");
    return normalizeTypeArray(resolveRef(member, ctx), ctx);
  });
  if (unevaluatedProperties !== undefined && unevaluatedProperties !== false) {
    fail(
      ctx,
      "unevaluatedProperties other than false cannot be expressed",
      "Use K8s.PreserveUnknownFields(schema) to keep unknown fields",
    );
  }
  if (members.every(isPureValidation) && typeof outer.type === "string") {
    return { ...outer, allOf: members };
  }
  const objects = members.every(
    (member) =>
      member.type === "object" && member.anyOf === undefined && member.oneOf === undefined,
  );
  if (!objects) {
    fail(
      ctx,
      `an intersection of ${members.map(describe).join(" & ")} cannot be expressed`,
      "Intersect only objects (or use Type.Composite), so the result is one object",
    );
  }
  const properties: Json = {};
  const required = new Set<string>();
  const rules: unknown[] = [];
  let preserve = false;
  for (const member of members) {
    for (const [name, schema] of Object.entries((member.properties as Json | undefined) ?? {})) {
      if (name in properties && JSON.stringify(properties[name]) !== JSON.stringify(schema)) {
        fail(
          child(ctx.path, name),
          "the field is declared differently by the intersected objects",
          "Declare it once, or identically",
        );
      }
      properties[name] = schema;
    }
    for (const name of (member.required as string[] | undefined) ?? []) required.add(name);
    if (Array.isArray(member["x-kubernetes-validations"]))
      rules.push(...member["x-kubernetes-validations"]);
    if (
      member["x-kubernetes-preserve-unknown-fields"] === true ||
      member.additionalProperties === true
    )
      preserve = true;
    if (isObject(member.additionalProperties) || isObject(member.patternProperties)) {
      fail(
        ctx,
        "an intersection with a map (Record) cannot be expressed",
        "Declare the map as a field of the object instead",
      );
    }
  }
  const ownRules = Array.isArray(outer["x-kubernetes-validations"])
    ? outer["x-kubernetes-validations"]
    : [];
  return {
    ...outer,
    type: "object",
    properties,
    ...(required.size > 0 ? { required: [...required] } : {}),
    ...(preserve ? { "x-kubernetes-preserve-unknown-fields": true } : {}),
    ...(rules.length + ownRules.length > 0
      ? { "x-kubernetes-validations": [...rules, ...ownRules] }
      : {}),
  };
}

function hasConstraints(node: Json): boolean {
  return Object.keys(node).some(
    (key) =>
      node[key] !== undefined &&
      !annotationKeys.has(key) &&
      key !== "x-kubernetes-validations" &&
      key !== "nullable",
  );
}

function convertPlain(node: Json, ctx: Context): JSONSchemaProps {
  const out: Json = {};
  const preserve = node["x-kubernetes-preserve-unknown-fields"] === true;
  const intOrString = node["x-kubernetes-int-or-string"] === true;
  let type = node.type as string | undefined;

  if (type !== undefined) {
    if (type === "null") {
      fail(
        ctx,
        "type null is not allowed",
        "Use K8s.Nullable(schema) (nullable: true) on a typed field",
      );
    }
    if (!jsonTypes.has(type)) {
      const kind = kindOf(node);
      fail(
        ctx,
        `type "${type}"${kind ? ` (Type.${kind})` : ""} is not a JSON type`,
        kind === "Date"
          ? "Store timestamps as strings: K8s.DateTime()"
          : "Use one of object, array, string, integer, number, boolean",
      );
    }
  } else if (!preserve && !intOrString) {
    const untypedKind = kindOf(node);
    if (hasConstraints(node)) {
      const inferred =
        node.properties || node.additionalProperties ? "object" : node.items ? "array" : undefined;
      fail(
        ctx,
        "the schema has constraints but no type (every field of a CRD schema needs a type)",
        inferred ? `Add type: "${inferred}"` : "Add a type, or use K8s.Unknown() for any value",
      );
    }
    if (
      untypedKind !== undefined &&
      untypedKind !== "Any" &&
      untypedKind !== "Unknown" &&
      untypedKind !== "Unsafe"
    ) {
      fail(ctx, `Type.${untypedKind} has no type`, "Use a typed schema");
    }
    // Any value: Type.Any(), Type.Unknown(), {}.
    out["x-kubernetes-preserve-unknown-fields"] = true;
  }
  if (node["x-kubernetes-embedded-resource"] === true) {
    if (type === undefined) type = "object";
    if (type !== "object") {
      fail(ctx, "x-kubernetes-embedded-resource needs type object", "Use K8s.Embedded()");
    }
  }
  if (type !== undefined) out.type = type;

  // Keyword applicability.
  for (const key of Object.keys(node)) {
    if (node[key] === undefined) continue;
    const numeric = type === "integer" || type === "number";
    const ok =
      annotationKeys.has(key) ||
      generalKeys.has(key) ||
      (key === "format" && (type === "string" || numeric || intOrString)) ||
      (stringKeys.has(key) && (type === "string" || intOrString)) ||
      (numberKeys.has(key) && (numeric || intOrString)) ||
      (arrayKeys.has(key) && type === "array") ||
      (objectKeys.has(key) && type === "object");
    if (!ok) {
      fail(
        ctx,
        `"${key}" does not apply to ${type ?? "an untyped value"}`,
        "Remove it or fix the field's type",
      );
    }
  }

  copyAnnotations(node, out, ctx);
  if (node.nullable === true) out.nullable = true;
  if (node.enum !== undefined) {
    if (!Array.isArray(node.enum) || node.enum.length === 0) {
      fail(ctx, "enum must be a non-empty list", "List the allowed values");
    }
    out.enum = structuredClone(node.enum);
  }

  if (type === "string" || intOrString) convertStringKeys(node, out, ctx);
  if (type === "integer" || type === "number" || intOrString)
    convertNumberKeys(node, out, ctx, type);
  if (type === "array") convertArray(node, out, ctx);
  if (type === "object") convertObject(node, out, ctx, preserve);
  if (preserve) out["x-kubernetes-preserve-unknown-fields"] = true;
  if (intOrString) out["x-kubernetes-int-or-string"] = true;
  if (node["x-kubernetes-embedded-resource"] === true) {
    out["x-kubernetes-embedded-resource"] = true;
    if (!out.properties && !out["x-kubernetes-preserve-unknown-fields"]) {
      out["x-kubernetes-preserve-unknown-fields"] = true;
    }
  }
  if (node["x-kubernetes-preserve-unknown-fields"] === false) {
    // false is rejected by the API server and means the default anyway.
    delete out["x-kubernetes-preserve-unknown-fields"];
  }
  if (preserve && intOrString) {
    fail(
      ctx,
      "x-kubernetes-preserve-unknown-fields and x-kubernetes-int-or-string exclude each other",
      "Keep one of them",
    );
  }
  convertRules(node, out, ctx);
  if (Array.isArray(node.allOf)) {
    // Only validation junctors reach here (mergeAllOf merged or refused the rest).
    const members = node.allOf as Json[];
    checkJunctorFields(members, out as JSONSchemaProps, "allOf", ctx);
    out.allOf = members.map((member) => cleanJunctor(member, ctx));
  }
  if (node.not !== undefined) {
    if (!isObject(node.not) || !isPureValidation(node.not)) {
      fail(
        ctx,
        '"not" may only contain validations (no type, description or default)',
        "Express the condition as a CEL rule (x-kubernetes-validations)",
      );
    }
    out.not = cleanJunctor(node.not, ctx);
  }
  if (node.default !== undefined) {
    checkDefault(node.default, out as JSONSchemaProps, ctx.path);
  }
  return order(out);
}

function copyAnnotations(node: Json, out: Json, ctx: Context): void {
  if (typeof node.description === "string" && node.description !== "")
    out.description = node.description;
  if (typeof node.title === "string" && node.title !== "") out.title = node.title;
  if (node.default !== undefined) out.default = structuredClone(node.default);
  if (node.example !== undefined) out.example = structuredClone(node.example);
  else if (Array.isArray(node.examples) && node.examples.length > 0)
    out.example = structuredClone(node.examples[0]);
  if (isObject(node.externalDocs)) out.externalDocs = structuredClone(node.externalDocs);
  if (node.readOnly === true) {
    fail(
      ctx,
      "readOnly is not supported in CRD schemas",
      "To make the field immutable, use K8s.Immutable(schema) (CEL rule self == oldSelf); status fields are written through the status subresource",
    );
  }
  if (node.writeOnly === true) {
    fail(
      ctx,
      "writeOnly is not supported in CRD schemas",
      "Remove it; keep secrets in a Secret and reference it by name",
    );
  }
}

function convertStringKeys(node: Json, out: Json, ctx: Context): void {
  for (const key of ["minLength", "maxLength"] as const) {
    if (node[key] !== undefined) out[key] = nonNegativeInteger(node[key], key, ctx);
  }
  if (node.pattern !== undefined) {
    if (typeof node.pattern !== "string")
      fail(ctx, "pattern must be a string", "Give a regular expression");
    checkPattern(node.pattern, ctx);
    out.pattern = node.pattern;
  }
  if (node.format !== undefined && out.format === undefined) {
    const format = String(node.format);
    if (!supportedFormats.has(format)) {
      fail(
        ctx,
        `format "${format}" is not validated by Kubernetes`,
        `Use one of ${[...supportedFormats].filter((f) => !numberFormats.has(f)).join(", ")}, or a pattern`,
      );
    }
    out.format = format;
  }
}

function convertNumberKeys(node: Json, out: Json, ctx: Context, type: string | undefined): void {
  for (const key of ["minimum", "maximum", "multipleOf"] as const) {
    if (node[key] !== undefined) {
      if (typeof node[key] !== "number")
        fail(ctx, `${key} must be a number`, `Give ${key} as a number`);
      out[key] = node[key];
    }
  }
  for (const [exclusive, bound, stricter] of [
    ["exclusiveMinimum", "minimum", (a: number, b: number) => a >= b],
    ["exclusiveMaximum", "maximum", (a: number, b: number) => a <= b],
  ] as const) {
    const value = node[exclusive];
    if (value === undefined || value === false) continue;
    if (value === true) {
      if (out[bound] === undefined) fail(ctx, `${exclusive}: true needs ${bound}`, `Set ${bound}`);
      out[exclusive] = true;
    } else if (typeof value === "number") {
      // JSON Schema 2019+: the exclusive bound itself; OpenAPI 3.0: a flag on the bound.
      const current = out[bound] as number | undefined;
      if (current === undefined || stricter(value, current)) {
        out[bound] = value;
        out[exclusive] = true;
      }
    } else {
      fail(ctx, `${exclusive} must be a number or boolean`, `Give ${exclusive} as a number`);
    }
  }
  if (node.format !== undefined && (type === "integer" || type === "number")) {
    const format = String(node.format);
    if (!numberFormats.has(format)) {
      fail(
        ctx,
        `format "${format}" does not apply to numbers`,
        "Use int32, int64, float or double",
      );
    }
    out.format = format;
  }
}

function nonNegativeInteger(value: unknown, key: string, ctx: Context): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    fail(ctx, `${key} must be a non-negative integer`, `Fix ${key}`);
  }
  return value;
}

function checkPattern(pattern: string, ctx: Context): void {
  const unsupported: [RegExp, string][] = [
    [/\(\?<?[=!]/, "lookahead/lookbehind"],
    [/(^|[^\\])\\[1-9]/, "backreferences"],
    [/\\k</, "named backreferences"],
  ];
  for (const [construct, name] of unsupported) {
    if (construct.test(pattern)) {
      fail(
        ctx,
        `pattern ${JSON.stringify(pattern)} uses ${name}, which Kubernetes' regular expressions (Go RE2) do not support`,
        "Rewrite the pattern without it, or check the value with a CEL rule",
      );
    }
  }
}

function convertArray(node: Json, out: Json, ctx: Context): void {
  if (Array.isArray(node.items)) {
    fail(
      ctx,
      "items is a list of schemas (a tuple)",
      "Kubernetes arrays have a single item schema; use Type.Array, or an object with named fields",
    );
  }
  if (!isObject(node.items) && node.items !== true) {
    fail(ctx, "an array needs an item schema", "Use Type.Array(itemSchema)");
  }
  const items = convert(node.items, { ...ctx, path: `${ctx.path}[*]` });
  out.items = items;
  for (const key of ["minItems", "maxItems"] as const) {
    if (node[key] !== undefined) out[key] = nonNegativeInteger(node[key], key, ctx);
  }
  let listType = node["x-kubernetes-list-type"] as string | undefined;
  if (node.uniqueItems === true) {
    const scalar = items.type !== undefined && items.type !== "object" && items.type !== "array";
    if (!scalar || (listType !== undefined && listType !== "set")) {
      fail(
        ctx,
        "uniqueItems is not allowed in CRD schemas (its cost is quadratic)",
        "Use K8s.ListSet(item) for unique scalars, or K8s.ListMap(item, [keys]) for objects with unique keys",
      );
    }
    listType = "set";
  }
  if (listType !== undefined) {
    if (listType !== "atomic" && listType !== "set" && listType !== "map") {
      fail(
        ctx,
        `x-kubernetes-list-type "${listType}" is not atomic, set or map`,
        "Use one of atomic, set, map",
      );
    }
    out["x-kubernetes-list-type"] = listType;
  }
  const keys = node["x-kubernetes-list-map-keys"];
  if (keys !== undefined) {
    if (listType !== "map") {
      fail(
        ctx,
        "x-kubernetes-list-map-keys needs x-kubernetes-list-type: map",
        "Use K8s.ListMap(item, [keys])",
      );
    }
    if (!Array.isArray(keys) || keys.length === 0 || keys.some((key) => typeof key !== "string")) {
      fail(
        ctx,
        "x-kubernetes-list-map-keys must be a non-empty list of field names",
        "Name the item's key fields",
      );
    }
    out["x-kubernetes-list-map-keys"] = [...keys];
  }
  if (listType === "map") {
    if (!Array.isArray(out["x-kubernetes-list-map-keys"])) {
      fail(
        ctx,
        "x-kubernetes-list-type: map needs x-kubernetes-list-map-keys",
        "Use K8s.ListMap(item, [keys])",
      );
    }
    if (items.type !== "object") {
      fail(
        ctx,
        "the items of a map list must be objects",
        "Use K8s.ListMap with a Type.Object item",
      );
    }
    if (items.nullable)
      fail(
        ctx,
        "the items of a map list cannot be nullable",
        "Remove nullable from the item schema",
      );
    const seen = new Set<string>();
    for (const key of out["x-kubernetes-list-map-keys"] as string[]) {
      const property = items.properties?.[key];
      if (!property) {
        fail(
          ctx,
          `list map key "${key}" is not a field of the items`,
          "Name an existing field of the item object",
        );
      }
      if (seen.has(key)) fail(ctx, `list map key "${key}" is listed twice`, "List each key once");
      seen.add(key);
      if (property.type === "object" || property.type === "array") {
        fail(
          `${ctx.path}[*].${key}`,
          "a list map key must be a scalar",
          "Use a string, integer or boolean key field",
        );
      }
      if (!items.required?.includes(key) && property.default === undefined) {
        fail(
          `${ctx.path}[*].${key}`,
          "a list map key must be required or have a default",
          "Make the field required (not Type.Optional) or give it a default",
        );
      }
      if (property.nullable)
        fail(
          `${ctx.path}[*].${key}`,
          "a list map key cannot be nullable",
          "Remove nullable from the key field",
        );
    }
  }
  if (listType === "set") {
    if (items.nullable)
      fail(
        ctx,
        "the items of a set list cannot be nullable",
        "Remove nullable from the item schema",
      );
    if (items.type === "object" && items["x-kubernetes-map-type"] !== "atomic") {
      fail(
        ctx,
        "objects in a set list must be atomic",
        'Give the item x-kubernetes-map-type: "atomic", or use K8s.ListMap with key fields',
      );
    }
    if (
      items.type === "array" &&
      items["x-kubernetes-list-type"] !== undefined &&
      items["x-kubernetes-list-type"] !== "atomic"
    ) {
      fail(
        ctx,
        "lists in a set list must be atomic",
        "Use x-kubernetes-list-type: atomic for the inner list",
      );
    }
  }
}

function celString(text: string): string {
  return `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

function convertObject(node: Json, out: Json, ctx: Context, preserve: boolean): void {
  const properties = node.properties;
  const hasProperties = isObject(properties) && Object.keys(properties).length > 0;
  if (properties !== undefined && !isObject(properties)) {
    fail(ctx, "properties must be an object", "Use Type.Object({...})");
  }
  let additional: unknown = node.additionalProperties;
  const keyRules: ValidationRule[] = [];

  if (node.patternProperties !== undefined) {
    const patterns = isObject(node.patternProperties) ? Object.entries(node.patternProperties) : [];
    if (patterns.length !== 1) {
      fail(
        ctx,
        "patternProperties with several patterns cannot be expressed",
        "Use one map (K8s.Map(value)) and check keys with a CEL rule",
      );
    }
    if (hasProperties) {
      fail(
        ctx,
        "an object cannot have both properties and a Record's patternProperties",
        "Declare the map as a separate field",
      );
    }
    if (additional !== undefined && additional !== false) {
      fail(
        ctx,
        "patternProperties beside additionalProperties cannot be expressed",
        "Use one map (K8s.Map(value))",
      );
    }
    const [pattern, value] = patterns[0]!;
    if (!catchAllPatterns.has(pattern)) {
      if (pattern === "^(0|[1-9][0-9]*)$") {
        keyRules.push({
          rule: "self.all(k, k.matches('^(0|[1-9][0-9]*)$'))",
          message: "keys must be non-negative integers",
        });
      } else {
        checkPattern(pattern, ctx);
        keyRules.push({
          rule: `self.all(k, k.matches(${celString(pattern)}))`,
          message: `keys must match ${pattern}`,
        });
      }
    }
    additional = value;
  }
  if (node.propertyNames !== undefined) {
    const names = node.propertyNames;
    if (!isObject(names)) fail(ctx, "propertyNames must be a schema", "Use a string schema");
    for (const [key, value] of Object.entries(names)) {
      if (key === "type" && value === "string") continue;
      if (annotationKeys.has(key)) continue;
      if (key === "pattern" && typeof value === "string") {
        checkPattern(value, ctx);
        keyRules.push({
          rule: `self.all(k, k.matches(${celString(value)}))`,
          message: `keys must match ${value}`,
        });
      } else if (key === "minLength" && typeof value === "number") {
        keyRules.push({
          rule: `self.all(k, size(k) >= ${value})`,
          message: `keys must be at least ${value} characters`,
        });
      } else if (key === "maxLength" && typeof value === "number") {
        keyRules.push({
          rule: `self.all(k, size(k) <= ${value})`,
          message: `keys must be at most ${value} characters`,
        });
      } else if (key === "enum" && Array.isArray(value)) {
        keyRules.push({
          rule: `self.all(k, k in [${value.map((v) => celString(String(v))).join(", ")}])`,
          message: `keys must be one of ${value.join(", ")}`,
        });
      } else {
        fail(
          ctx,
          `propertyNames.${key} cannot be expressed`,
          "Check keys with a CEL rule (x-kubernetes-validations)",
        );
      }
    }
  }
  if (node.unevaluatedProperties !== undefined && node.unevaluatedProperties !== false) {
    fail(
      ctx,
      "unevaluatedProperties other than false cannot be expressed",
      "Use K8s.PreserveUnknownFields(schema) to keep unknown fields",
    );
  }

  if (isObject(properties)) {
    const converted: Record<string, JSONSchemaProps> = {};
    for (const [name, schema] of Object.entries(properties)) {
      converted[name] = convert(schema, { ...ctx, path: child(ctx.path, name) });
    }
    if (Object.keys(converted).length > 0) out.properties = converted;
  }
  if (node.required !== undefined) {
    if (!Array.isArray(node.required) || node.required.some((name) => typeof name !== "string")) {
      fail(ctx, "required must be a list of field names", "List field names");
    }
    const declared = isObject(properties) ? properties : {};
    for (const name of node.required as string[]) {
      if (!(name in declared) && !preserve && additional === undefined) {
        fail(
          child(ctx.path, name),
          "the field is required but not declared in properties",
          "Declare the field, or remove it from required",
        );
      }
    }
    if (node.required.length > 0) out.required = [...new Set(node.required as string[])];
  }
  if (additional === true) {
    out["x-kubernetes-preserve-unknown-fields"] = true;
  } else if (isObject(additional)) {
    if (hasProperties) {
      fail(
        ctx,
        "an object cannot have both properties and additionalProperties (a schema)",
        "Kubernetes objects are either structs (properties) or maps (additionalProperties); move the map into its own field",
      );
    }
    out.additionalProperties = convert(additional, { ...ctx, path: `${ctx.path}[*]` });
  } else if (additional !== undefined && additional !== false) {
    fail(ctx, "additionalProperties must be a boolean or a schema", "Use K8s.Map(value)");
  }
  for (const key of ["minProperties", "maxProperties"] as const) {
    if (node[key] !== undefined) out[key] = nonNegativeInteger(node[key], key, ctx);
  }
  const mapType = node["x-kubernetes-map-type"];
  if (mapType !== undefined) {
    if (mapType !== "atomic" && mapType !== "granular") {
      fail(
        ctx,
        `x-kubernetes-map-type "${String(mapType)}" is not atomic or granular`,
        "Use atomic or granular",
      );
    }
    out["x-kubernetes-map-type"] = mapType;
  }
  if (keyRules.length > 0) {
    out["x-kubernetes-validations"] = [
      ...((out["x-kubernetes-validations"] as ValidationRule[]) ?? []),
      ...keyRules,
    ];
  }
}

const ruleReasons = new Set([
  "FieldValueInvalid",
  "FieldValueForbidden",
  "FieldValueRequired",
  "FieldValueDuplicate",
]);
const ruleKeys = new Set([
  "rule",
  "message",
  "messageExpression",
  "fieldPath",
  "reason",
  "optionalOldSelf",
]);

function convertRules(node: Json, out: Json, ctx: Context): void {
  const rules = node["x-kubernetes-validations"];
  if (rules === undefined) return;
  if (!Array.isArray(rules))
    fail(
      ctx,
      "x-kubernetes-validations must be a list of rules",
      "Use K8s.Validate(schema, { rule, message })",
    );
  const converted: ValidationRule[] = [];
  for (const [index, rule] of rules.entries()) {
    const where = `x-kubernetes-validations[${index}]`;
    if (!isObject(rule) || typeof rule.rule !== "string" || rule.rule.trim() === "") {
      fail(
        ctx,
        `${where} has no rule`,
        'Give a CEL expression in rule, e.g. "self.min <= self.max"',
      );
    }
    for (const key of Object.keys(rule)) {
      if (!ruleKeys.has(key))
        fail(ctx, `${where} has an unknown key "${key}"`, `Use ${[...ruleKeys].join(", ")}`);
    }
    if (rule.message !== undefined) {
      if (typeof rule.message !== "string" || rule.message.trim() === "") {
        fail(ctx, `${where}.message is empty`, "Give a message or leave it out");
      }
      if (/[\r\n]/.test(rule.message))
        fail(ctx, `${where}.message contains a line break`, "Keep the message on one line");
    } else if (/[\r\n]/.test(rule.rule)) {
      fail(ctx, `${where} spans several lines but has no message`, "Add a message");
    }
    if (rule.reason !== undefined && !ruleReasons.has(String(rule.reason))) {
      fail(
        ctx,
        `${where}.reason "${String(rule.reason)}" is not supported`,
        `Use one of ${[...ruleReasons].join(", ")}`,
      );
    }
    if (
      rule.fieldPath !== undefined &&
      (typeof rule.fieldPath !== "string" || !/^\.[^.]/.test(rule.fieldPath))
    ) {
      fail(
        ctx,
        `${where}.fieldPath ${JSON.stringify(rule.fieldPath)} is not a path relative to the field`,
        'Start it with a dot, e.g. ".max" or ".ports[0]"',
      );
    }
    const clean: Json = {};
    for (const key of ruleKeys) if (rule[key] !== undefined) clean[key] = rule[key];
    converted.push(clean as unknown as ValidationRule);
  }
  const existing = (out["x-kubernetes-validations"] as ValidationRule[] | undefined) ?? [];
  out["x-kubernetes-validations"] = [...converted, ...existing];
}

/** Checks a default value against the converted schema (type, enum, nested properties). */
function checkDefault(value: unknown, schema: JSONSchemaProps, path: string): void {
  const problem = valueProblem(value, schema, "");
  if (problem) {
    throw new SchemaConversionError(
      path,
      `the default ${JSON.stringify(value)} is invalid${problem.path ? ` at ${problem.path}` : ""}: ${problem.message}`,
      "Fix the default so it matches the schema",
    );
  }
}

function valueProblem(
  value: unknown,
  schema: JSONSchemaProps,
  path: string,
): { path: string; message: string } | undefined {
  if (value === null) {
    return schema.nullable
      ? undefined
      : { path, message: "null is not allowed (the field is not nullable)" };
  }
  if (schema["x-kubernetes-int-or-string"]) {
    if (typeof value === "string" || (typeof value === "number" && Number.isInteger(value)))
      return undefined;
    return { path, message: "must be an integer or a string" };
  }
  if (
    schema.enum &&
    !schema.enum.some((allowed) => JSON.stringify(allowed) === JSON.stringify(value))
  ) {
    return {
      path,
      message: `must be one of ${schema.enum.map((v) => JSON.stringify(v)).join(", ")}`,
    };
  }
  const actual = jsonTypeOf(value);
  switch (schema.type) {
    case undefined:
      return undefined;
    case "number":
      return actual === "number" || actual === "integer"
        ? undefined
        : { path, message: "must be a number" };
    case "integer":
      return actual === "integer" ? undefined : { path, message: "must be an integer" };
    case "array": {
      if (actual !== "array") return { path, message: "must be an array" };
      for (const [index, item] of (value as unknown[]).entries()) {
        const problem = schema.items
          ? valueProblem(item, schema.items, `${path}[${index}]`)
          : undefined;
        if (problem) return problem;
      }
      return undefined;
    }
    case "object": {
      if (actual !== "object") return { path, message: "must be an object" };
      const object = value as Json;
      for (const [key, item] of Object.entries(object)) {
        const sub =
          schema.properties?.[key] ??
          (isObject(schema.additionalProperties) ? schema.additionalProperties : undefined);
        if (sub) {
          const problem = valueProblem(item, sub, path ? `${path}.${key}` : key);
          if (problem) return problem;
        }
      }
      return undefined;
    }
    default:
      return actual === schema.type ? undefined : { path, message: `must be a ${schema.type}` };
  }
}

function order(node: Json): JSONSchemaProps {
  const out: Json = {};
  for (const key of outputOrder) {
    if (node[key] !== undefined) out[key] = node[key];
  }
  return out as JSONSchemaProps;
}
