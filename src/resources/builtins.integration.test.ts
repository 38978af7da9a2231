/**
 * The built-in kinds against the real API server: each descriptor's apiVersion, plural and scope
 * match discovery, and every field of the hand-written TypeScript types exists upstream with a
 * compatible JSON type, literal values within upstream's enums, and the same required-ness. The
 * TypeScript types are read with the TypeScript compiler; the upstream schemas are the server's
 * OpenAPI v3 documents.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { ensureAssets, testControlPlane } from "../testkit/index.ts";
import { isCustomResourceType } from "./define.ts";
import * as resources from "./index.ts";
import type { ResourceType } from "./object.ts";

type Schema = {
  type?: string;
  format?: string;
  enum?: unknown[];
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  required?: string[];
  allOf?: Schema[];
  oneOf?: Schema[];
  $ref?: string;
  "x-kubernetes-group-version-kind"?: { group: string; version: string; kind: string }[];
};

/**
 * Top-level fields required on purpose though optional upstream: `apiVersion`, `kind` and
 * `metadata` are always present on objects Operon handles.
 */
const requiredOnPurpose = new Set(["apiVersion", "kind", "metadata"]);

/**
 * Nested fields required on purpose though optional in upstream's schema, because the API server
 * rejects objects without them.
 */
const requiredByValidation = [".roleRef.apiGroup"];

let kubectlPath = "";
let kubeconfig = "";

function kubectl(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(kubectlPath, [`--kubeconfig=${kubeconfig}`, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`kubectl ${args.join(" ")}: ${stderr}`)),
    );
  });
}

/** Every built-in kind exported by this folder: [name, apiVersion, plural, namespaced]. */
const builtinKinds: [string, string, string, boolean][] = [];
for (const [name, value] of Object.entries(resources as Record<string, unknown>)) {
  if (typeof value !== "object" || value === null || !("plural" in value)) continue;
  const type = value as ResourceType;
  if (isCustomResourceType(type)) continue;
  builtinKinds.push([name, type.apiVersion, type.plural ?? "", type.namespaced ?? false]);
}

function groupVersionPath(apiVersion: string): string {
  return apiVersion.includes("/") ? `apis/${apiVersion}` : `api/${apiVersion}`;
}

/** Compares a TypeScript type with an upstream schema, collecting differences. */
class Comparer {
  readonly problems: string[] = [];
  private readonly checker: ts.TypeChecker;
  private readonly schemas: Record<string, Schema>;
  private readonly seen = new Set<string>();

  constructor(checker: ts.TypeChecker, schemas: Record<string, Schema>) {
    this.checker = checker;
    this.schemas = schemas;
  }

  resolve(schema: Schema): Schema {
    let current = schema;
    for (let i = 0; i < 10; i++) {
      if (current.$ref) {
        const name = current.$ref.replace("#/components/schemas/", "");
        const target = this.schemas[name];
        if (!target) throw new Error(`unknown schema ${current.$ref}`);
        current = target;
      } else if (current.allOf?.length === 1 && current.allOf[0]?.$ref) {
        current = current.allOf[0];
      } else {
        return current;
      }
    }
    return current;
  }

  compare(type: ts.Type, rawSchema: Schema, path: string, depth = 0): void {
    const schema = this.resolve(rawSchema);
    const key = `${(type as { id?: number }).id}:${JSON.stringify(rawSchema).slice(0, 200)}`;
    if (this.seen.has(key) || depth > 12) return;
    this.seen.add(key);
    const t = this.checker.getNonNullableType(type);
    const members = t.isUnion() ? t.types : [t];
    const is = (flag: ts.TypeFlags) => (member: ts.Type) => (member.flags & flag) !== 0;
    const stringy = members.filter(is(ts.TypeFlags.StringLike));
    const numeric = members.filter(is(ts.TypeFlags.NumberLike));
    const booleans = members.filter(is(ts.TypeFlags.BooleanLike));
    const objects = members.filter(is(ts.TypeFlags.Object));
    const name = this.checker.typeToString(t);

    if (schema.oneOf) {
      const types = schema.oneOf.map((s) => s.type);
      const needs = [
        types.includes("string"),
        types.includes("integer") || types.includes("number"),
      ];
      if ((needs[0] && stringy.length === 0) || (needs[1] && numeric.length === 0)) {
        this.problems.push(`${path}: upstream is ${types.join(" | ")}, TypeScript has ${name}`);
      }
      return;
    }
    switch (schema.type) {
      case "string":
      case "integer":
      case "number":
      case "boolean": {
        const expected =
          schema.type === "string" ? stringy : schema.type === "boolean" ? booleans : numeric;
        if (expected.length !== members.length) {
          this.problems.push(`${path}: upstream is ${schema.type}, TypeScript has ${name}`);
          return;
        }
        if (schema.enum) {
          for (const member of members) {
            if (member.isLiteral() && !schema.enum.includes(member.value)) {
              this.problems.push(
                `${path}: ${JSON.stringify(member.value)} is not one of upstream's ${JSON.stringify(schema.enum)}`,
              );
            }
          }
        }
        return;
      }
      case "array": {
        if (objects.length !== 1 || !this.checker.isArrayType(objects[0]!)) {
          this.problems.push(`${path}: upstream is an array, TypeScript has ${name}`);
          return;
        }
        const element = this.checker.getTypeArguments(objects[0] as ts.TypeReference)[0]!;
        if (schema.items) this.compare(element, schema.items, `${path}[]`, depth + 1);
        return;
      }
      case "object":
      case undefined: {
        if (!schema.properties && !schema.additionalProperties) return; // free-form upstream
        if (objects.length !== 1 || members.length !== 1) {
          this.problems.push(`${path}: upstream is an object, TypeScript has ${name}`);
          return;
        }
        const object = objects[0]!;
        if (schema.properties) {
          const required = new Set(schema.required ?? []);
          const declared = this.checker.getPropertiesOfType(object);
          for (const property of declared) {
            const upstream = schema.properties[property.name];
            const at = `${path}.${property.name}`;
            if (!upstream) {
              this.problems.push(`${at}: not an upstream field`);
              continue;
            }
            const optional = (property.flags & ts.SymbolFlags.Optional) !== 0;
            if (depth > 0 || !requiredOnPurpose.has(property.name)) {
              const validated = requiredByValidation.some((suffix) => at.endsWith(suffix));
              if (!optional && !required.has(property.name) && !validated) {
                this.problems.push(`${at}: required in TypeScript, optional upstream`);
              }
              if (optional && required.has(property.name)) {
                this.problems.push(`${at}: optional in TypeScript, required upstream`);
              }
            }
            this.compare(this.checker.getTypeOfSymbol(property), upstream, at, depth + 1);
          }
        } else if (typeof schema.additionalProperties === "object") {
          const index = this.checker
            .getIndexInfosOfType(object)
            .find((info) => info.keyType.flags & ts.TypeFlags.String);
          if (!index) {
            this.problems.push(`${path}: upstream is a map, TypeScript has ${name}`);
            return;
          }
          this.compare(index.type, schema.additionalProperties, `${path}[key]`, depth + 1);
        }
        return;
      }
      default:
        this.problems.push(`${path}: unexpected upstream type ${schema.type}`);
    }
  }
}

describe("built-in kinds match the API server", () => {
  const documents = new Map<string, Record<string, Schema>>();

  before(async () => {
    const plane = await testControlPlane();
    kubeconfig = plane.kubeconfigPath;
    kubectlPath = (await ensureAssets({ only: ["kubectl"] })).kubectl;
  });

  async function schemasOf(apiVersion: string): Promise<Record<string, Schema>> {
    let schemas = documents.get(apiVersion);
    if (!schemas) {
      const document = JSON.parse(
        await kubectl(["get", "--raw", `/openapi/v3/${groupVersionPath(apiVersion)}`]),
      );
      schemas = document.components.schemas as Record<string, Schema>;
      documents.set(apiVersion, schemas);
    }
    return schemas;
  }

  test("apiVersion, plural and scope match discovery", async () => {
    assert.equal(builtinKinds.length, 26);
    const byVersion = new Map<string, { name: string; kind: string; namespaced: boolean }[]>();
    for (const [name, apiVersion, plural, namespaced] of builtinKinds) {
      let resources = byVersion.get(apiVersion);
      if (!resources) {
        resources = JSON.parse(
          await kubectl(["get", "--raw", `/${groupVersionPath(apiVersion)}`]),
        ).resources;
        byVersion.set(apiVersion, resources ?? []);
      }
      const found = resources?.find(
        (resource) => resource.kind === name && !resource.name.includes("/"),
      );
      assert.ok(found, `${apiVersion} serves ${name}`);
      assert.equal(found.name, plural, `${name} plural`);
      assert.equal(found.namespaced, namespaced, `${name} namespaced`);
    }
  });

  test("every field of the TypeScript types exists upstream with a compatible type", async () => {
    const index = fileURLToPath(new URL("./index.ts", import.meta.url));
    const program = ts.createProgram([index], {
      strict: true,
      noEmit: true,
      allowImportingTsExtensions: true,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2023,
      skipLibCheck: true,
    });
    const checker = program.getTypeChecker();
    const source = program.getSourceFile(index);
    assert.ok(source);
    const moduleSymbol = checker.getSymbolAtLocation(source);
    assert.ok(moduleSymbol);
    const exports = new Map(
      checker.getExportsOfModule(moduleSymbol).map((symbol) => [symbol.name, symbol]),
    );

    const problems: string[] = [];
    for (const [name, apiVersion] of builtinKinds) {
      const symbol = exports.get(name);
      assert.ok(symbol, `${name} is exported`);
      const target =
        symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
      const type = checker.getDeclaredTypeOfSymbol(target);
      const schemas = await schemasOf(apiVersion);
      const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
      const upstream = Object.values(schemas).find((schema) =>
        schema["x-kubernetes-group-version-kind"]?.some(
          (gvk) => gvk.group === group && gvk.version === version && gvk.kind === name,
        ),
      );
      assert.ok(upstream, `upstream schema of ${name}`);
      const comparer = new Comparer(checker, schemas);
      comparer.compare(type, upstream, name);
      problems.push(...comparer.problems);
    }
    assert.deepEqual(problems, []);
  });
});
