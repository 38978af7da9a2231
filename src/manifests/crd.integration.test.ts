/**
 * Generated CRDs against the real API server: they are accepted and Established, stored as
 * generated (nothing pruned or rewritten), valid objects get their defaults, and invalid ones are
 * rejected with field-level errors. Uses kubectl, the way users apply generated manifests.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Type } from "@sinclair/typebox";
import { defineResource, K8s } from "../resources/index.ts";
import { ensureAssets, testControlPlane } from "../testkit/index.ts";
import { customResourceDefinition } from "./crd.ts";
import { toYaml } from "./yaml.ts";

const group = `crd-${randomBytes(3).toString("hex")}.operon.example.com`;

const Endpoint = Type.Object({
  name: Type.String({ pattern: "^[a-z][a-z0-9-]*$", maxLength: 20 }),
  url: Type.String({ format: "uri" }),
  weight: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
});

const Widget = defineResource({
  group,
  version: "v1",
  kind: "Widget",
  plural: "widgets",
  shortNames: ["wdg"],
  categories: ["operon-test"],
  scope: "Namespaced",
  description: "A Widget runs a fleet of widget servers.",
  metadata: Type.Object({ name: Type.String({ maxLength: 20 }) }),
  spec: K8s.Validate(
    Type.Object({
      image: Type.String({ minLength: 1, description: "The container image of the servers." }),
      replicas: Type.Integer({
        minimum: 0,
        maximum: 10,
        default: 1,
        description: "How many servers run.",
      }),
      size: K8s.Enum(["small", "large"], { default: "small", description: "The server size." }),
      tier: Type.Optional(Type.Union([Type.Literal("gold"), Type.Literal("silver")])),
      port: Type.Optional(K8s.IntOrString({ description: "Port number or name." })),
      memory: Type.Optional(K8s.Quantity()),
      min: Type.Optional(Type.Integer()),
      max: Type.Optional(Type.Integer()),
      storageClass: Type.Optional(K8s.Immutable(Type.String())),
      deadline: Type.Optional(K8s.Nullable(K8s.DateTime())),
      labels: Type.Optional(Type.Record(Type.String(), Type.String())),
      endpoints: Type.Optional(K8s.ListMap(Endpoint, ["name"], { maxItems: 8 })),
      zones: Type.Optional(
        Type.Array(Type.String({ maxLength: 16 }), { uniqueItems: true, maxItems: 4 }),
      ),
      values: Type.Optional(K8s.Unknown()),
      config: Type.Optional(K8s.Embedded()),
      options: Type.Optional(
        Type.Object({
          verbose: Type.Boolean({ default: false }),
          level: Type.Number({ exclusiveMinimum: 0, default: 1.5 }),
        }),
      ),
    }),
    {
      rule: "!has(self.min) || !has(self.max) || self.min <= self.max",
      message: "min must not exceed max",
      fieldPath: ".min",
    },
  ),
  status: K8s.Status({
    replicas: Type.Optional(Type.Integer()),
    selector: Type.Optional(Type.String()),
  }),
  validations: [{ rule: "self.metadata.name != 'forbidden'", message: "that name is forbidden" }],
  printerColumns: [
    { name: "Size", type: "string", jsonPath: ".spec.size" },
    { name: "Replicas", type: "integer", jsonPath: ".spec.replicas" },
  ],
  scale: {
    specReplicasPath: ".spec.replicas",
    statusReplicasPath: ".status.replicas",
    labelSelectorPath: ".status.selector",
  },
  selectableFields: [".spec.size"],
});

const Gadget = defineResource({
  group,
  kind: "Gadget",
  plural: "gadgets",
  scope: "Cluster",
  description: "A Gadget.",
  versions: {
    v1alpha1: {
      spec: Type.Object({ color: Type.Optional(Type.String()) }),
      deprecationWarning: `${group}/v1alpha1 Gadget is deprecated; use v1`,
    },
    v1: {
      spec: Type.Object({ color: Type.Optional(K8s.Enum(["red", "blue"], { default: "red" })) }),
      storage: true,
    },
  },
});

/** Shapes common generators emit that the API server refuses as they are; the generator rewrites them. */
const Address = Type.Object({ city: Type.String() }, { $id: "Address" });
const zodLikeSpec = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  type: "object",
  properties: {
    name: { type: "string", minLength: 1 },
    nickname: { type: ["string", "null"] },
    mode: {
      anyOf: [
        { const: "fast", type: "string" },
        { const: "safe", type: "string" },
      ],
    },
    ratio: { type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1 },
    weights: {
      type: "object",
      propertyNames: { pattern: "^[a-z]+$" },
      additionalProperties: { type: "integer" },
    },
  },
  required: ["name"],
  additionalProperties: false,
};
const Converted = defineResource({
  group,
  version: "v1",
  kind: "Converted",
  plural: "converteds",
  scope: "Namespaced",
  spec: Type.Object({
    zod: Type.Unsafe<Record<string, unknown>>(zodLikeSpec),
    labels: Type.Optional(Type.Record(Type.String({ pattern: "^[a-z]+$" }), Type.String())),
    home: Type.Optional(Address),
    work: Type.Optional(Type.Ref("Address")),
    both: Type.Optional(
      Type.Intersect([
        Type.Object({ a: Type.String() }),
        Type.Object({ b: Type.Optional(Type.Integer()) }),
      ]),
    ),
    anything: Type.Optional(Type.Any()),
    tags: Type.Optional(Type.Array(Type.String(), { uniqueItems: true })),
    sealed: Type.Optional(Type.Object({ x: Type.Integer() }, { additionalProperties: false })),
    level: Type.Optional(K8s.Nullable(K8s.Enum(["low", "high"]))),
  }),
});

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

let kubectlPath = "";
let kubeconfig = "";
let cacheDir = "";

function kubectl(args: string[], input?: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      kubectlPath,
      [`--kubeconfig=${kubeconfig}`, `--cache-dir=${cacheDir}`, ...args],
      {
        stdio: ["pipe", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(input ?? "");
  });
}

async function ok(args: string[], input?: string): Promise<string> {
  const result = await kubectl(args, input);
  assert.equal(result.code, 0, `kubectl ${args.join(" ")} failed: ${result.stderr}`);
  return result.stdout;
}

/** Applies an object (server-side dry run unless `persist`) and returns kubectl's result. */
function apply(object: unknown, options: { persist?: boolean } = {}): Promise<Result> {
  return kubectl(
    ["apply", "-f", "-", ...(options.persist ? [] : ["--dry-run=server"]), "-o", "json"],
    JSON.stringify(object),
  );
}

let namespace = "";

function widget(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: Widget.apiVersion,
    kind: "Widget",
    metadata: { name, namespace },
    spec,
  };
}

async function rejected(
  name: string,
  spec: Record<string, unknown>,
  ...patterns: RegExp[]
): Promise<string> {
  const result = await apply(widget(name, spec));
  assert.notEqual(result.code, 0, `expected ${JSON.stringify(spec)} to be rejected`);
  for (const pattern of patterns) assert.match(result.stderr, pattern);
  return result.stderr;
}

describe("generated CRDs on a real API server", () => {
  before(async () => {
    const plane = await testControlPlane();
    kubeconfig = plane.kubeconfigPath;
    kubectlPath = (await ensureAssets({ only: ["kubectl"] })).kubectl;
    cacheDir = await mkdtemp(join(tmpdir(), "operon-kubectl-cache-"));
    namespace = await plane.createNamespace("crd");
    const yaml = toYaml([
      customResourceDefinition(Widget),
      customResourceDefinition(Gadget),
      customResourceDefinition(Converted),
    ]);
    await ok(["apply", "-f", "-"], yaml);
    await ok([
      "wait",
      "--for=condition=Established",
      "--timeout=60s",
      `crd/widgets.${group}`,
      `crd/gadgets.${group}`,
      `crd/converteds.${group}`,
    ]);
  });

  after(async () => {
    if (kubectlPath) {
      await kubectl([
        "delete",
        "crd",
        `widgets.${group}`,
        `gadgets.${group}`,
        `converteds.${group}`,
        "--wait=false",
      ]);
    }
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  test("the API server stores the schemas as generated (nothing pruned or rewritten)", async () => {
    for (const resource of [Widget, Gadget, Converted]) {
      const generated = customResourceDefinition(resource);
      const stored = JSON.parse(await ok(["get", "crd", generated.metadata.name!, "-o", "json"]));
      assert.deepEqual(stored.spec.versions, generated.spec.versions);
      assert.deepEqual(stored.spec.names, generated.spec.names);
      const established = stored.status.conditions.find(
        (c: { type: string }) => c.type === "Established",
      );
      assert.equal(established?.status, "True");
    }
  });

  test("a valid object is accepted and defaults are applied", async () => {
    const result = await apply(
      widget("defaults", {
        image: "nginx",
        endpoints: [{ name: "a", url: "https://a.example.com" }],
        options: {},
      }),
      { persist: true },
    );
    assert.equal(result.code, 0, result.stderr);
    const created = JSON.parse(
      await ok(["get", "widget", "defaults", "-n", namespace, "-o", "json"]),
    );
    assert.equal(created.spec.replicas, 1);
    assert.equal(created.spec.size, "small");
    assert.equal(created.spec.endpoints[0].weight, 50);
    assert.deepEqual(created.spec.options, { verbose: false, level: 1.5 });
  });

  test("a nullable field accepts and keeps null", async () => {
    // create, not apply: an apply patch treats null as "remove the field".
    const result = await kubectl(
      ["create", "-f", "-", "--dry-run=server", "-o", "json"],
      JSON.stringify(widget("nullable", { image: "nginx", deadline: null })),
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).spec.deadline, null);
  });

  test("a kind whose spec has no required fields gets spec: {} and its nested defaults", async () => {
    const result = await kubectl(
      ["apply", "-f", "-", "-o", "json"],
      JSON.stringify({
        apiVersion: Gadget.apiVersion,
        kind: "Gadget",
        metadata: { name: `g-${namespace}` },
      }),
    );
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout).spec, { color: "red" });
    await ok(["delete", "gadget", `g-${namespace}`]);
  });

  test("every kind of value is accepted when valid", async () => {
    const result = await apply(
      widget("full", {
        image: "nginx",
        replicas: 3,
        size: "large",
        tier: "gold",
        port: "http",
        memory: "512Mi",
        min: 1,
        max: 2,
        storageClass: "fast",
        deadline: "2030-01-01T00:00:00Z",
        labels: { team: "a" },
        zones: ["a", "b"],
        values: { anything: [1, "two", { three: true }] },
        config: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, data: { a: "b" } },
      }),
    );
    assert.equal(result.code, 0, result.stderr);
    const object = JSON.parse(result.stdout);
    assert.deepEqual(object.spec.values, { anything: [1, "two", { three: true }] });
    assert.deepEqual(object.spec.config.data, { a: "b" }, "embedded objects keep their fields");
    const numeric = await apply(widget("numeric", { image: "nginx", port: 8080, memory: 2 }));
    assert.equal(numeric.code, 0, numeric.stderr);
  });

  test("invalid objects are rejected with field-level errors", async () => {
    await rejected(
      "enum",
      { image: "nginx", size: "medium" },
      /spec\.size: Unsupported value: "medium"/,
      /"small", "large"/,
    );
    await rejected(
      "union-enum",
      { image: "nginx", tier: "bronze" },
      /spec\.tier: Unsupported value: "bronze"/,
    );
    await rejected(
      "pattern",
      { image: "nginx", endpoints: [{ name: "Bad_Name", url: "https://x" }] },
      /spec\.endpoints\[0\]\.name: Invalid value: "Bad_Name"/,
      /should match '\^\[a-z\]\[a-z0-9-\]\*\$'/,
    );
    await rejected(
      "minimum",
      { image: "nginx", replicas: -1 },
      /spec\.replicas: Invalid value: -1/,
      /greater than or equal to 0/,
    );
    await rejected(
      "maximum",
      { image: "nginx", replicas: 11 },
      /spec\.replicas: Invalid value: 11/,
      /less than or equal to 10/,
    );
    await rejected(
      "min-length",
      { image: "" },
      /spec\.image: Invalid value: ""/,
      /at least 1 chars long/,
    );
    await rejected("required", { replicas: 1 }, /spec\.image: Required value/);
    await rejected(
      "cel",
      { image: "nginx", min: 5, max: 1 },
      /spec\.min: Invalid value: .*min must not exceed max/,
    );
    await rejected(
      "int-or-string",
      { image: "nginx", port: true },
      /spec\.port: Invalid value: "boolean"/,
    );
    await rejected(
      "quantity",
      { image: "nginx", memory: "1 Gi" },
      /spec\.memory: Invalid value: "1 Gi"/,
    );
    await rejected(
      "list-map",
      {
        image: "nginx",
        endpoints: [
          { name: "a", url: "https://a" },
          { name: "a", url: "https://b" },
        ],
      },
      /spec\.endpoints\[1\]: Duplicate value/,
    );
    await rejected(
      "set",
      { image: "nginx", zones: ["a", "a"] },
      /spec\.zones\[1\]: Duplicate value: "a"/,
    );
    await rejected(
      "max-items",
      { image: "nginx", zones: ["a", "b", "c", "d", "e"] },
      /spec\.zones: Too many: 5: must have at most 4 items/,
    );
    await rejected(
      "format",
      { image: "nginx", deadline: "tomorrow" },
      /spec\.deadline: Invalid value: "tomorrow"/,
    );
    await rejected(
      "exclusive-minimum",
      { image: "nginx", options: { level: 0 } },
      /spec\.options\.level: Invalid value: 0/,
      /greater than 0/,
    );
    await rejected("not-nullable", { image: null }, /spec\.image: (Invalid value|Required value)/);
    await rejected(
      "embedded",
      { image: "nginx", config: { metadata: { name: "x" } } },
      /spec\.config\.(apiVersion|kind): Required value/,
    );
    await rejected(
      "a-name-longer-than-twenty",
      { image: "nginx" },
      /metadata\.name: Too long: may not be (longer than|more than) 20/,
    );
    await rejected("forbidden", { image: "nginx" }, /that name is forbidden/);
    const unknown = await kubectl(
      ["apply", "-f", "-", "--dry-run=server", "--validate=strict"],
      JSON.stringify(widget("unknown", { image: "nginx", colour: "red" })),
    );
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /unknown field "spec\.colour"/);
  });

  test("transition rules (immutable fields) are enforced on update", async () => {
    const created = await apply(widget("immutable", { image: "nginx", storageClass: "fast" }), {
      persist: true,
    });
    assert.equal(created.code, 0, created.stderr);
    const changed = await apply(widget("immutable", { image: "nginx", storageClass: "slow" }), {
      persist: true,
    });
    assert.notEqual(changed.code, 0);
    assert.match(changed.stderr, /spec\.storageClass: Invalid value: .*is immutable/);
  });

  test("the status and scale subresources, printer columns, short names and categories work", async () => {
    const created = await apply(widget("scaled", { image: "nginx", size: "large", replicas: 2 }), {
      persist: true,
    });
    assert.equal(created.code, 0, created.stderr);
    await ok([
      "patch",
      "widget",
      "scaled",
      "-n",
      namespace,
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify({ status: { replicas: 2, selector: "app=scaled", observedGeneration: 1 } }),
    ]);
    await ok(["scale", "widget", "scaled", "-n", namespace, "--replicas=4"]);
    const scale = JSON.parse(
      await ok(["get", "--raw", `/apis/${group}/v1/namespaces/${namespace}/widgets/scaled/scale`]),
    );
    assert.equal(scale.spec.replicas, 4);
    assert.equal(scale.status.replicas, 2);
    assert.equal(scale.status.selector, "app=scaled");

    const table = await ok(["get", "wdg", "scaled", "-n", namespace]);
    const [header, row] = table.trim().split("\n");
    assert.match(header ?? "", /^NAME\s+SIZE\s+REPLICAS\s+AGE$/);
    assert.match(row ?? "", /^scaled\s+large\s+4\s+\S+$/);
    const byCategory = await ok(["get", "operon-test", "-n", namespace, "-o", "name"]);
    assert.match(byCategory, /widget\.[^/]+\/scaled/);
    const selected = await ok([
      "get",
      "widgets",
      "-n",
      namespace,
      "--field-selector=spec.size=large",
      "-o",
      "name",
    ]);
    assert.match(selected, /\/scaled/);
    assert.doesNotMatch(selected, /\/defaults/);
  });

  test("kubectl explain shows the descriptions", async () => {
    const kind = await ok(["explain", `widgets.${group}`]);
    assert.match(kind, /A Widget runs a fleet of widget servers\./);
    const field = await ok(["explain", `widgets.${group}.spec.replicas`]);
    assert.match(field, /How many servers run\./);
    const conditions = await ok(["explain", `widgets.${group}.status.conditions.reason`]);
    assert.match(conditions, /CamelCase/);
  });

  test("several versions: each is served, the deprecated one warns", async () => {
    const name = `gadget-${namespace}`;
    const result = await kubectl(
      ["apply", "-f", "-", "-o", "json"],
      JSON.stringify({
        apiVersion: `${group}/v1alpha1`,
        kind: "Gadget",
        metadata: { name },
        spec: { color: "green" },
      }),
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /Warning: .*v1alpha1 Gadget is deprecated; use v1/);
    const v1 = JSON.parse(await ok(["get", "--raw", `/apis/${group}/v1/gadgets/${name}`]));
    assert.equal(v1.apiVersion, `${group}/v1`);
    await ok(["delete", "gadget", name]);
  });

  test("schemas rewritten from other generators' shapes work as intended", async () => {
    const converted = (spec: Record<string, unknown>) => ({
      apiVersion: Converted.apiVersion,
      kind: "Converted",
      metadata: { name: "c", namespace },
      spec,
    });
    const zod = { name: "n", nickname: null, mode: "fast", ratio: 0.5, weights: { a: 1 } };
    const valid = await kubectl(
      ["create", "-f", "-", "--dry-run=server", "-o", "json"],
      JSON.stringify(
        converted({
          zod,
          labels: { team: "a" },
          home: { city: "x" },
          work: { city: "y" },
          both: { a: "a", b: 1 },
          anything: [1, { two: 2 }],
          tags: ["a", "b"],
          sealed: { x: 1 },
          level: null,
        }),
      ),
    );
    assert.equal(valid.code, 0, valid.stderr);
    assert.deepEqual(JSON.parse(valid.stdout).spec.zod, zod);
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ zod: { ...zod, mode: "slow" } }, /spec\.zod\.mode: Unsupported value: "slow"/],
      [{ zod: { ...zod, ratio: 1 } }, /spec\.zod\.ratio: Invalid value: 1/],
      [
        { zod: { ...zod, weights: { A: 1 } } },
        /spec\.zod\.weights: Invalid value: .*keys must match/,
      ],
      [
        { zod, labels: { Team: "a" } },
        /spec\.labels: Invalid value: .*keys must match \^\[a-z\]\+\$/,
      ],
      [{ zod, work: {} }, /spec\.work\.city: Required value/],
      [{ zod, both: { b: 1 } }, /spec\.both\.a: Required value/],
      [{ zod, tags: ["a", "a"] }, /spec\.tags\[1\]: Duplicate value: "a"/],
      [{ zod, level: "medium" }, /spec\.level: Unsupported value: "medium"/],
    ];
    for (const [spec, pattern] of cases) {
      const result = await kubectl(
        ["create", "-f", "-", "--dry-run=server"],
        JSON.stringify(converted({ zod, ...spec })),
      );
      assert.notEqual(result.code, 0, JSON.stringify(spec));
      assert.match(result.stderr, pattern);
    }
    const unknown = await kubectl(
      ["create", "-f", "-", "--dry-run=server", "--validate=strict"],
      JSON.stringify(converted({ zod, sealed: { x: 1, y: 2 } })),
    );
    assert.match(unknown.stderr, /unknown field "spec\.sealed\.y"/);
  });

  test("without the rewrites, the API server refuses those shapes", async () => {
    const refused: [string, Record<string, unknown>, RegExp][] = [
      [
        "record",
        { m: { type: "object", patternProperties: { "^(.*)$": { type: "string" } } } },
        /patternProperties is not supported/,
      ],
      [
        "closed",
        {
          o: { type: "object", properties: { a: { type: "string" } }, additionalProperties: false },
        },
        /additionalProperties and properties are mutual exclusive/,
      ],
      ["ref", { r: { $ref: "#/definitions/A" } }, /\$ref is not supported/],
      [
        "unique",
        { u: { type: "array", items: { type: "string" }, uniqueItems: true } },
        /uniqueItems cannot be set to true/,
      ],
      [
        "untyped",
        { x: { minLength: 1 } },
        /type: Required value: must not be empty for specified object fields/,
      ],
      [
        "literals",
        {
          e: {
            anyOf: [
              { type: "string", const: "a" },
              { type: "string", const: "b" },
            ],
          },
        },
        /unknown field ".*properties\.e\.anyOf\[0\]\.const"/,
      ],
      [
        "union",
        { u: { anyOf: [{ type: "string" }, { type: "boolean" }] } },
        /anyOf\[0\]\.type: Forbidden: must be empty to be structural/,
      ],
      [
        "metadata",
        {},
        /properties\[metadata\]: Forbidden: must not specify anything other than name and generateName/,
      ],
      ["null", { n: { type: "null" } }, /type cannot be set to null/],
      ["exclusive", { f: { type: "number", exclusiveMinimum: 0 } }, /exclusiveMinimum/],
    ];
    for (const [name, properties, pattern] of refused) {
      const crd = {
        apiVersion: "apiextensions.k8s.io/v1",
        kind: "CustomResourceDefinition",
        metadata: { name: `raw${name}s.${group}` },
        spec: {
          group,
          names: { kind: `Raw${name[0]?.toUpperCase()}${name.slice(1)}`, plural: `raw${name}s` },
          scope: "Namespaced",
          versions: [
            {
              name: "v1",
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: {
                  type: "object",
                  properties: {
                    ...(name === "metadata"
                      ? {
                          metadata: {
                            type: "object",
                            properties: { labels: { type: "object", maxProperties: 1 } },
                          },
                        }
                      : {}),
                    spec: { type: "object", properties },
                  },
                },
              },
            },
          ],
        },
      };
      const result = await kubectl(["create", "-f", "-", "--dry-run=server"], JSON.stringify(crd));
      assert.notEqual(result.code, 0, `${name} was accepted`);
      assert.match(result.stderr, pattern, name);
    }
  });
});
