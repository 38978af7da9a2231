/**
 * Loads a user's module for `operon run`, `install` and `generate`: a file, or a folder holding
 * one module; what it exports: operators (the default export, an array of them, any named
 * export), custom kinds declared with `defineResource`, webhooks and conversions.
 */
import { existsSync, statSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { basename, dirname, extname, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Operator } from "../operator/declaration.ts";
import { type CustomResourceType, isCustomResourceType } from "../resources/define.ts";
import { type ConversionDefinition, isConversion } from "../webhook/conversion.ts";
import { isWebhook, type Webhook } from "../webhook/webhook.ts";
import { UsageError } from "./command.ts";

const moduleExtensions = new Set([".ts", ".mts", ".cts", ".js", ".mjs", ".cjs"]);

function isOperator(value: unknown): value is Operator {
  return (
    typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "Operator"
  );
}

function isKind(value: unknown): value is CustomResourceType {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { plural?: unknown }).plural === "string" &&
    isCustomResourceType(value as CustomResourceType)
  );
}

/** A file that could be an operator module: a script, not a test or a declaration file. */
function isModuleFile(name: string): boolean {
  return (
    moduleExtensions.has(extname(name)) &&
    !/\.(test|spec)\.[cm]?[jt]s$/.test(name) &&
    !/\.d\.[cm]?ts$/.test(name)
  );
}

/** The module files directly in a folder, sorted. */
async function moduleFilesIn(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile() && isModuleFile(entry.name))
    .map((entry) => entry.name)
    .sort();
}

/** A path as the user would type it: relative to the current directory when below it. */
function shown(path: string): string {
  const near = relative(process.cwd(), path);
  return near && !near.startsWith("..") ? near : path;
}

/**
 * The module file a path names: the file itself, or for a folder its only module (in the folder,
 * else in its `src/`), or the one named after the folder, `index` or `operator`.
 */
export async function resolveModulePath(given: string, command: string): Promise<string> {
  const path = resolve(given);
  if (!existsSync(path)) {
    throw new Error(
      `${given}: no such file or folder; pass the module that exports your operator, e.g. operon ${command} ./src/operator.ts`,
    );
  }
  if (!statSync(path).isDirectory()) return path;
  for (const folder of [path, join(path, "src")]) {
    const files = await moduleFilesIn(folder);
    if (files.length === 0) continue;
    if (files.length === 1) return join(folder, files[0]!);
    const preferred = [basename(path), "index", "operator"].flatMap((stem) =>
      files.filter((file) => file.slice(0, -extname(file).length) === stem),
    );
    if (preferred.length === 1) return join(folder, preferred[0]!);
    const listed = files.map((file) => shown(join(folder, file)));
    throw new UsageError(
      `${given} is a folder with several modules (${listed.join(", ")}); pass the one that exports your operator, e.g. operon ${command} ${listed[0]}`,
    );
  }
  throw new UsageError(
    `${given} is a folder with no module in it (no .ts or .js file other than tests, there or in src/); pass the file that exports your operator, e.g. operon ${command} ${shown(join(path, "operator.ts"))}`,
  );
}

/** What a module exports that Operon uses. */
export interface LoadedModule {
  /** The module file (a folder resolved to its module). */
  path: string;
  /** Its operators, each once, default export first. */
  operators: Operator[];
  /** The custom kinds it exports (`defineResource`), each once. */
  kinds: CustomResourceType[];
  /** Its admission webhooks (`validatingWebhook`, `mutatingWebhook`), each once. */
  webhooks: Webhook[];
  /** Its conversions (`defineConversion`), each once. */
  conversions: ConversionDefinition[];
}

/** Loads a module (or a folder's module) and finds its operators, custom kinds, webhooks and conversions. */
export async function loadModule(
  given: string | undefined,
  command: string,
): Promise<LoadedModule> {
  if (!given) {
    throw new UsageError(
      `name the module that exports your operator (a .ts or .js file, or a folder holding one), e.g. operon ${command} ./src/operator.ts`,
    );
  }
  const path = await resolveModulePath(given, command);
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`could not load ${shown(path)}: ${loadFailure(error)}`);
  }
  const operators: Operator[] = [];
  const kinds = new Map<string, CustomResourceType>();
  const webhooks: Webhook[] = [];
  const conversions: ConversionDefinition[] = [];
  const consider = (value: unknown) => {
    if (Array.isArray(value)) value.forEach(consider);
    else if (isOperator(value) && !operators.includes(value)) operators.push(value);
    else if (isKind(value)) kinds.set(`${value.plural}.${value.group}`, value);
    else if (isWebhook(value) && !webhooks.includes(value)) webhooks.push(value);
    else if (isConversion(value) && !conversions.includes(value)) conversions.push(value);
  };
  consider(loaded.default);
  for (const [name, value] of Object.entries(loaded)) if (name !== "default") consider(value);
  return { path, operators, kinds: [...kinds.values()], webhooks, conversions };
}

/** Why an import failed, with what to do for the failures users meet. */
function loadFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown }).code;
  if (code === "ERR_MODULE_NOT_FOUND" && /Cannot find package 'kube-operon'/.test(message)) {
    return `${message}\nThe module imports kube-operon, which is not installed beside it: run npm install in its project (or npm install kube-operon).`;
  }
  if (code === "ERR_UNKNOWN_FILE_EXTENSION") {
    return `${message}\nNode.js ${process.versions.node} cannot run TypeScript; Operon needs Node.js 22.18 or newer (24 recommended).`;
  }
  return message;
}

/** The operators of a module, for commands that run or deploy them; an error says what to pass. */
export async function loadOperators(
  given: string | undefined,
  command: string,
): Promise<Operator[]> {
  const module = await loadModule(given, command);
  if (module.operators.length > 0) return module.operators;
  if (module.kinds.length > 0) {
    const kinds = module.kinds.map((kind) => `${kind.kind} (${kind.plural}.${kind.group})`);
    const siblings = (await moduleFilesIn(dirname(module.path)))
      .map((file) => join(dirname(module.path), file))
      .filter((file) => file !== module.path)
      .map(shown);
    throw new Error(
      `${given} exports no operator, only the custom kind${kinds.length > 1 ? "s" : ""} ${kinds.join(", ")}; ` +
        `pass the module that exports the operator made with defineOperator(...)` +
        (siblings.length > 0 ? `, e.g. one of: ${siblings.join(", ")}` : ""),
    );
  }
  throw new Error(
    `${given} exports no operator: export one made with defineOperator(...), e.g. \`export default defineOperator({ ... })\``,
  );
}
