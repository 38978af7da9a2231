import assert from "node:assert/strict";
import { test } from "node:test";
import { Type } from "@sinclair/typebox";
import { K8s } from "../resources/index.ts";
import { SchemaConversionError, toStructuralSchema } from "./structural.ts";

/** Converts `schema` at `spec` and expects it to fail at `path` with a message and a fix. */
function rejects(
  schema: unknown,
  path: string,
  problem: RegExp,
  fix?: RegExp,
): SchemaConversionError {
  let caught: unknown;
  try {
    toStructuralSchema(schema, { path: "spec" });
  } catch (error) {
    caught = error;
  }
  assert.ok(
    caught instanceof SchemaConversionError,
    `expected a SchemaConversionError, got ${String(caught)}`,
  );
  assert.equal(caught.path, path);
  assert.match(caught.problem, problem);
  if (fix) assert.match(caught.fix, fix);
  assert.ok(caught.message.startsWith(`${path}: `), caught.message);
  return caught;
}

function convert(schema: unknown): unknown {
  return toStructuralSchema(schema, { path: "spec" });
}

function walk(node: unknown, visit: (node: object) => void): void {
  if (Array.isArray(node)) {
    for (const item of node) walk(item, visit);
  } else if (typeof node === "object" && node !== null) {
    visit(node);
    for (const value of Object.values(node)) walk(value, visit);
  }
}

test("TypeBox's symbol keys, $id and $schema are dropped", () => {
  const schema = Type.Object(
    { a: Type.Optional(Type.String({ $id: "A" })), b: Type.Readonly(Type.Integer()) },
    { $id: "Spec", $schema: "http://json-schema.org/draft-07/schema#", description: "d" },
  );
  const out = convert(schema);
  assert.deepEqual(out, {
    description: "d",
    type: "object",
    properties: { a: { type: "string" }, b: { type: "integer" } },
    required: ["b"],
  });
  walk(out, (node) => assert.deepEqual(Object.getOwnPropertySymbols(node), []));
});

test("unions of literals become enums", () => {
  assert.deepEqual(convert(Type.Union([Type.Literal("a"), Type.Literal("b")], { default: "a" })), {
    type: "string",
    default: "a",
    enum: ["a", "b"],
  });
  assert.deepEqual(convert(Type.Union([Type.Literal(1), Type.Literal(2)])), {
    type: "integer",
    enum: [1, 2],
  });
  assert.deepEqual(convert(Type.Union([Type.Literal(1), Type.Literal(2.5)])), {
    type: "number",
    enum: [1, 2.5],
  });
  assert.deepEqual(convert(Type.Literal("only")), { type: "string", enum: ["only"] });
  assert.deepEqual(convert(Type.KeyOf(Type.Object({ x: Type.String(), y: Type.String() }))), {
    type: "string",
    enum: ["x", "y"],
  });
  const Color = { Red: "red", Blue: "blue" } as const;
  assert.deepEqual(convert(Type.Enum(Color)), { type: "string", enum: ["red", "blue"] });
  assert.deepEqual(convert(K8s.Enum(["On", "Off"])), { type: "string", enum: ["On", "Off"] });
  // zod-style: enum with a type
  assert.deepEqual(convert({ type: "string", enum: ["x"] }), { type: "string", enum: ["x"] });
  rejects(
    Type.Object({ mode: Type.Union([Type.Literal("a"), Type.Literal(1)]) }),
    "spec.mode",
    /literals of different types \(string, integer\)/,
    /one type/,
  );
});

test("Record and maps become additionalProperties; key patterns become CEL rules", () => {
  assert.deepEqual(convert(Type.Record(Type.String(), Type.Integer())), {
    type: "object",
    additionalProperties: { type: "integer" },
  });
  assert.deepEqual(convert(K8s.Map(Type.String(), { mapType: "atomic", maxProperties: 3 })), {
    type: "object",
    maxProperties: 3,
    additionalProperties: { type: "string" },
    "x-kubernetes-map-type": "atomic",
  });
  assert.deepEqual(convert(Type.Record(Type.String({ pattern: "^[a-z]+$" }), Type.String())), {
    type: "object",
    additionalProperties: { type: "string" },
    "x-kubernetes-validations": [
      { rule: "self.all(k, k.matches('^[a-z]+$'))", message: "keys must match ^[a-z]+$" },
    ],
  });
  assert.deepEqual(convert(Type.Record(Type.Integer(), Type.String())), {
    type: "object",
    additionalProperties: { type: "string" },
    "x-kubernetes-validations": [
      {
        rule: "self.all(k, k.matches('^(0|[1-9][0-9]*)$'))",
        message: "keys must be non-negative integers",
      },
    ],
  });
  // zod-style record: propertyNames
  assert.deepEqual(
    convert({
      type: "object",
      propertyNames: { type: "string", maxLength: 8 },
      additionalProperties: { type: "boolean" },
    }),
    {
      type: "object",
      additionalProperties: { type: "boolean" },
      "x-kubernetes-validations": [
        { rule: "self.all(k, size(k) <= 8)", message: "keys must be at most 8 characters" },
      ],
    },
  );
  rejects(
    Type.Object({
      m: Type.Unsafe({
        type: "object",
        properties: { a: { type: "string" } },
        additionalProperties: { type: "string" },
      }),
    }),
    "spec.m",
    /both properties and additionalProperties/,
    /structs \(properties\) or maps \(additionalProperties\)/,
  );
});

test("nullable unions become nullable: true", () => {
  assert.deepEqual(convert(K8s.Nullable(Type.String({ minLength: 1 }), { description: "d" })), {
    description: "d",
    type: "string",
    nullable: true,
    minLength: 1,
  });
  assert.deepEqual(convert(Type.Union([Type.Null(), Type.Object({ a: Type.String() })])), {
    type: "object",
    nullable: true,
    properties: { a: { type: "string" } },
    required: ["a"],
  });
  // The API server rejects null for an enum (even when listed), so the values move into allOf.
  assert.deepEqual(convert(Type.Union([Type.Literal("a"), Type.Literal("b"), Type.Null()])), {
    type: "string",
    nullable: true,
    allOf: [{ enum: ["a", "b"] }],
  });
  rejects(
    Type.Object({ e: K8s.Nullable(K8s.Enum(["a", "b"]), { default: "c" }) }),
    "spec.e",
    /must be one of "a", "b", null/,
  );
  // JSON Schema type lists
  assert.deepEqual(convert({ type: ["integer", "null"], minimum: 1 }), {
    type: "integer",
    nullable: true,
    minimum: 1,
  });
  rejects(Type.Object({ n: Type.Null() }), "spec.n", /type null is not allowed/, /K8s\.Nullable/);
});

test("integer | string becomes x-kubernetes-int-or-string with its constraints outside anyOf", () => {
  const expected = {
    anyOf: [{ type: "integer" }, { type: "string" }],
    "x-kubernetes-int-or-string": true,
  };
  assert.deepEqual(convert(Type.Union([Type.Integer(), Type.String()])), expected);
  assert.deepEqual(convert(Type.Union([Type.String(), Type.Integer()])), expected);
  assert.deepEqual(
    convert(K8s.IntOrString({ default: "25%", pattern: "^[0-9]+%?$", minimum: 0 })),
    {
      default: "25%",
      pattern: "^[0-9]+%?$",
      minimum: 0,
      ...expected,
    },
  );
  rejects(
    Type.Object({ v: Type.Union([Type.Number(), Type.String()]) }),
    "spec.v",
    /a union of different shapes \(Type\.Number \| Type\.String\)/,
    /K8s\.IntOrString\(\)/,
  );
});

test("unions of different shapes are refused with the field and the alternatives", () => {
  const error = rejects(
    Type.Object({
      source: Type.Union([
        Type.Object({ git: Type.String() }),
        Type.Object({ image: Type.String() }),
      ]),
    }),
    "spec.source",
    /a union of different shapes \(Type\.Object\) cannot be expressed/,
    /K8s\.ExactlyOneOf/,
  );
  assert.match(error.message, /^spec\.source: /);
  rejects(
    Type.Object({ v: Type.Union([Type.Boolean(), Type.String()]) }),
    "spec.v",
    /different shapes \(Type\.Boolean \| Type\.String\)/,
  );
});

test("additionalProperties: false (zod objects) is dropped; true keeps unknown fields", () => {
  const zod = {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    type: "object",
    properties: { name: { type: "string" }, tags: { type: "array", items: { type: "string" } } },
    required: ["name"],
    additionalProperties: false,
  };
  assert.deepEqual(convert(zod), {
    type: "object",
    properties: { name: { type: "string" }, tags: { type: "array", items: { type: "string" } } },
    required: ["name"],
  });
  assert.deepEqual(convert(Type.Object({ a: Type.String() }, { additionalProperties: false })), {
    type: "object",
    properties: { a: { type: "string" } },
    required: ["a"],
  });
  assert.deepEqual(convert(Type.Object({ a: Type.String() }, { additionalProperties: true })), {
    type: "object",
    properties: { a: { type: "string" } },
    required: ["a"],
    "x-kubernetes-preserve-unknown-fields": true,
  });
  assert.deepEqual(convert(K8s.PreserveUnknownFields(Type.Object({ a: Type.String() }))), {
    type: "object",
    properties: { a: { type: "string" } },
    required: ["a"],
    "x-kubernetes-preserve-unknown-fields": true,
  });
});

test("local $refs are inlined; references outside the schema and recursion are refused", () => {
  const Address = Type.Object({ city: Type.String() }, { $id: "Address" });
  const schema = Type.Object({ home: Address, work: Type.Optional(Type.Ref("Address")) });
  assert.deepEqual(convert(schema), {
    type: "object",
    properties: {
      home: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
      work: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    },
    required: ["home"],
  });
  assert.deepEqual(
    convert({
      type: "object",
      properties: { a: { $ref: "#/$defs/A", description: "outer" } },
      $defs: { A: { type: "string", description: "inner" } },
    }),
    { type: "object", properties: { a: { description: "outer", type: "string" } } },
  );
  rejects(
    Type.Object({ other: Type.Ref("Elsewhere") }),
    "spec.other",
    /\$ref "Elsewhere" points outside/,
    /instead of Type\.Ref/,
  );
  const Tree = Type.Recursive(
    (This) => Type.Object({ name: Type.String(), children: Type.Array(This) }),
    {
      $id: "Tree",
    },
  );
  rejects(
    Type.Object({ tree: Tree }),
    "spec.tree.children[*]",
    /refers to itself/,
    /K8s\.Unknown\(\) or K8s\.Opaque/,
  );
});

test("untyped nodes: any value keeps unknown fields, constraints without a type are refused", () => {
  const any = { "x-kubernetes-preserve-unknown-fields": true };
  assert.deepEqual(convert(Type.Any()), any);
  assert.deepEqual(convert(Type.Unknown()), any);
  assert.deepEqual(convert(K8s.Unknown({ description: "d" })), { description: "d", ...any });
  assert.deepEqual(convert({}), any);
  rejects(
    Type.Object({ raw: Type.Unsafe({ properties: { a: { type: "string" } } }) }),
    "spec.raw",
    /constraints but no type/,
    /Add type: "object"/,
  );
  rejects(
    Type.Object({ raw: Type.Unsafe({ minLength: 1 }) }),
    "spec.raw",
    /no type/,
    /K8s\.Unknown\(\)/,
  );
});

test("JavaScript-only and tuple types are refused with what to use instead", () => {
  rejects(
    Type.Object({ at: Type.Date() }),
    "spec.at",
    /Type\.Date has no JSON form/,
    /K8s\.DateTime\(\)/,
  );
  rejects(Type.Object({ b: Type.Uint8Array() }), "spec.b", /Type\.Uint8Array has no JSON form/);
  rejects(Type.Object({ n: Type.BigInt() }), "spec.n", /Type\.BigInt/);
  rejects(Type.Object({ u: Type.Undefined() }), "spec.u", /Type\.Undefined/);
  rejects(
    Type.Object({ t: Type.Tuple([Type.String(), Type.Integer()]) }),
    "spec.t",
    /tuples/,
    /Type\.Array/,
  );
  rejects(Type.Object({ x: Type.Never() }), "spec.x", /Type\.Never/);
  rejects(
    Type.Object({ x: Type.Unsafe({ type: "array", items: [{ type: "string" }] }) }),
    "spec.x",
    /tuple/,
  );
  rejects(Type.Object({ x: Type.Unsafe({ type: "array" }) }), "spec.x", /needs an item schema/);
});

test("arrays: uniqueItems becomes a set list for scalars, list-map keys are checked", () => {
  assert.deepEqual(convert(Type.Array(Type.String(), { uniqueItems: true })), {
    type: "array",
    items: { type: "string" },
    "x-kubernetes-list-type": "set",
  });
  rejects(
    Type.Object({ xs: Type.Array(Type.Object({ a: Type.String() }), { uniqueItems: true }) }),
    "spec.xs",
    /uniqueItems is not allowed/,
    /K8s\.ListSet.*K8s\.ListMap/,
  );
  rejects(
    Type.Object({
      ports: K8s.ListMap(Type.Object({ name: Type.Optional(Type.String()) }), ["name"]),
    }),
    "spec.ports[*].name",
    /must be required or have a default/,
  );
  assert.doesNotThrow(() =>
    convert(
      K8s.ListMap(Type.Object({ name: Type.Optional(Type.String({ default: "x" })) }), ["name"]),
    ),
  );
  rejects(
    Type.Object({
      ports: Type.Array(Type.Object({ a: Type.String() }), {
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["b"],
      }),
    }),
    "spec.ports",
    /list map key "b" is not a field/,
  );
  rejects(
    Type.Object({ ports: K8s.ListMap(Type.Object({ key: Type.Object({}) }), ["key"]) }),
    "spec.ports[*].key",
    /must be a scalar/,
  );
  rejects(
    Type.Object({ xs: K8s.ListSet(Type.Object({ a: Type.String() })) }),
    "spec.xs",
    /objects in a set list must be atomic/,
  );
  rejects(
    Type.Object({ xs: Type.Array(Type.String(), { "x-kubernetes-list-map-keys": ["a"] }) }),
    "spec.xs",
    /needs x-kubernetes-list-type: map/,
  );
});

test("numbers: JSON Schema's numeric exclusive bounds become OpenAPI 3.0's boolean form", () => {
  assert.deepEqual(convert(Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 })), {
    type: "number",
    minimum: 0,
    exclusiveMinimum: true,
    maximum: 1,
    exclusiveMaximum: true,
  });
  assert.deepEqual(convert(Type.Integer({ minimum: 5, exclusiveMinimum: 0 })), {
    type: "integer",
    minimum: 5,
  });
  assert.deepEqual(convert({ type: "number", minimum: 0, exclusiveMinimum: true }), {
    type: "number",
    minimum: 0,
    exclusiveMinimum: true,
  });
});

test("unknown, misplaced and unsupported keywords are refused by name", () => {
  rejects(
    Type.Object({ s: Type.String({ minLenght: 3 }) }),
    "spec.s",
    /unknown schema keyword "minLenght"/,
  );
  rejects(
    Type.Object({ i: Type.Integer({ pattern: "^1" }) }),
    "spec.i",
    /"pattern" does not apply to integer/,
  );
  rejects(
    Type.Object({ s: Type.String({ minimum: 1 }) }),
    "spec.s",
    /"minimum" does not apply to string/,
  );
  rejects(
    Type.Object({ s: Type.Unsafe({ type: "object", if: {} }) }),
    "spec.s",
    /"if" is not supported/,
    /CEL rule/,
  );
  rejects(
    Type.Object({ s: Type.String({ readOnly: true }) }),
    "spec.s",
    /readOnly/,
    /K8s\.Immutable/,
  );
  rejects(
    Type.Object({ s: Type.Unsafe({ type: "integer", format: "uint8" }) }),
    "spec.s",
    /format "uint8" does not apply/,
  );
});

test("formats Kubernetes does not validate are refused; RE2-incompatible patterns too", () => {
  rejects(
    Type.Object({ s: Type.String({ format: "regex" }) }),
    "spec.s",
    /format "regex" is not validated by Kubernetes/,
    /date-time/,
  );
  for (const format of [
    "date-time",
    "uri",
    "email",
    "hostname",
    "ipv4",
    "cidr",
    "uuid",
    "duration",
    "byte",
  ]) {
    assert.doesNotThrow(() => convert(Type.String({ format })), format);
  }
  rejects(
    Type.Object({ s: Type.String({ pattern: "^(?!admin).*$" }) }),
    "spec.s",
    /lookahead/,
    /CEL rule/,
  );
  rejects(Type.Object({ s: Type.String({ pattern: "^(a)\\1$" }) }), "spec.s", /backreferences/);
  assert.doesNotThrow(() => convert(Type.String({ pattern: "^[a-z]\\d+$" })));
});

test("CEL rules are checked for what the API server refuses", () => {
  const base = Type.Object({ a: Type.String() });
  assert.deepEqual(
    convert(
      K8s.Validate(base, {
        rule: "self.a != ''",
        messageExpression: "'bad ' + self.a",
        reason: "FieldValueForbidden",
        fieldPath: ".a",
      }),
    ),
    {
      type: "object",
      properties: { a: { type: "string" } },
      required: ["a"],
      "x-kubernetes-validations": [
        {
          rule: "self.a != ''",
          messageExpression: "'bad ' + self.a",
          fieldPath: ".a",
          reason: "FieldValueForbidden",
        },
      ],
    },
  );
  rejects(
    Type.Object({ x: { ...base, "x-kubernetes-validations": [{ rule: "" }] } }),
    "spec.x",
    /has no rule/,
  );
  rejects(
    Type.Object({
      x: { ...base, "x-kubernetes-validations": [{ rule: "true", message: "two\nlines" }] },
    }),
    "spec.x",
    /line break/,
  );
  rejects(
    Type.Object({
      x: { ...base, "x-kubernetes-validations": [{ rule: "true", reason: "Nope" as never }] },
    }),
    "spec.x",
    /reason "Nope" is not supported/,
  );
  rejects(
    Type.Object({ x: { ...base, "x-kubernetes-validations": [{ rule: "true", fieldPath: "a" }] } }),
    "spec.x",
    /fieldPath "a" is not a path relative/,
    /Start it with a dot/,
  );
  rejects(
    Type.Object({ x: { ...base, "x-kubernetes-validations": [{ rule: "true", mesage: "typo" }] } }),
    "spec.x",
    /unknown key "mesage"/,
  );
});

test("defaults are checked against the schema", () => {
  rejects(
    Type.Object({ n: Type.Integer({ default: "one" }) }),
    "spec.n",
    /default "one" is invalid: must be an integer/,
  );
  rejects(
    Type.Object({ m: K8s.Enum(["a", "b"], { default: "c" }) }),
    "spec.m",
    /must be one of "a", "b"/,
  );
  rejects(
    Type.Object({ o: Type.Object({ a: Type.Integer() }, { default: { a: "x" } }) }),
    "spec.o",
    /invalid at a: must be an integer/,
  );
  rejects(Type.Object({ s: Type.String({ default: null }) }), "spec.s", /null is not allowed/);
  assert.doesNotThrow(() => convert(K8s.Nullable(Type.String(), { default: null })));
  assert.doesNotThrow(() => convert(K8s.IntOrString({ default: 3 })));
});

test("intersections of objects are merged; other intersections are refused", () => {
  assert.deepEqual(
    convert(
      Type.Intersect(
        [Type.Object({ a: Type.String() }), Type.Object({ b: Type.Optional(Type.Integer()) })],
        {
          description: "both",
        },
      ),
    ),
    {
      description: "both",
      type: "object",
      properties: { a: { type: "string" }, b: { type: "integer" } },
      required: ["a"],
    },
  );
  assert.deepEqual(
    convert(Type.Composite([Type.Object({ a: Type.String() }), Type.Object({ b: Type.String() })])),
    {
      type: "object",
      properties: { a: { type: "string" }, b: { type: "string" } },
      required: ["a", "b"],
    },
  );
  rejects(
    Type.Object({
      x: Type.Intersect([Type.Object({ a: Type.String() }), Type.Object({ a: Type.Integer() })]),
    }),
    "spec.x.a",
    /declared differently/,
  );
  rejects(
    Type.Object({ x: Type.Intersect([Type.String(), Type.Object({})]) }),
    "spec.x",
    /intersection of Type\.String & Type\.Object/,
    /Intersect only objects/,
  );
});

test("validation-only junctors are kept when the fields are declared outside", () => {
  const schema = {
    type: "object",
    properties: { a: { type: "string" }, b: { type: "string" } },
    oneOf: [{ required: ["a"] }, { required: ["b"] }],
  };
  assert.deepEqual(convert(schema), {
    type: "object",
    properties: { a: { type: "string" }, b: { type: "string" } },
    oneOf: [{ required: ["a"] }, { required: ["b"] }],
  });
  rejects(
    {
      type: "object",
      properties: { a: { type: "string" } },
      anyOf: [{ required: ["a"] }, { properties: { c: { minLength: 1 } } }],
    },
    "spec.c",
    /constrained inside anyOf but not declared/,
  );
});

test("validation-only allOf junctors are kept", () => {
  assert.deepEqual(convert({ type: "string", allOf: [{ minLength: 1 }, { pattern: "^a" }] }), {
    type: "string",
    allOf: [{ minLength: 1 }, { pattern: "^a" }],
  });
  rejects(
    { type: "object", properties: {}, allOf: [{ properties: { x: { minimum: 1 } } }] },
    "spec.x",
    /constrained inside allOf but not declared/,
  );
});

test("paths name nested fields, list items and map values", () => {
  const schema = Type.Object({
    endpoints: Type.Array(Type.Object({ tags: K8s.Map(Type.Object({ at: Type.Date() })) })),
  });
  rejects(schema, "spec.endpoints[*].tags[*].at", /Type\.Date/);
  rejects(Type.Object({ "odd.name": Type.Date() }), 'spec["odd.name"]', /Type\.Date/);
});

test("the output is plain JSON in a readable key order", () => {
  const out = convert(
    Type.Object(
      { n: Type.Integer({ maximum: 3, minimum: 1, default: 2, description: "n" }) },
      { "x-kubernetes-validations": [{ rule: "true" }], description: "root" },
    ),
  ) as Record<string, Record<string, Record<string, unknown>>>;
  assert.deepEqual(Object.keys(out), [
    "description",
    "type",
    "properties",
    "required",
    "x-kubernetes-validations",
  ]);
  assert.deepEqual(Object.keys(out.properties?.n ?? {}), [
    "description",
    "type",
    "default",
    "minimum",
    "maximum",
  ]);
  assert.deepEqual(JSON.parse(JSON.stringify(out)), out);
});

test("embedded resources and opaque objects", () => {
  assert.deepEqual(convert(K8s.Embedded({ description: "d" })), {
    description: "d",
    type: "object",
    "x-kubernetes-embedded-resource": true,
    "x-kubernetes-preserve-unknown-fields": true,
  });
  assert.deepEqual(convert(K8s.Opaque()), {
    type: "object",
    "x-kubernetes-preserve-unknown-fields": true,
  });
  assert.deepEqual(convert(K8s.OpaqueList({ maxItems: 4, description: "claims" })), {
    description: "claims",
    type: "array",
    maxItems: 4,
    items: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
  });
  rejects(
    Type.Object({ e: Type.String({ "x-kubernetes-embedded-resource": true }) }),
    "spec.e",
    /needs type object/,
  );
});
