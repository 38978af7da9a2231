/**
 * Loads a user's operator module for `operon run`, `install` and `generate`: its default export
 * (an operator or an array of them) and any other exported operators.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Operator } from "../operator/declaration.ts";
import { UsageError } from "./command.ts";

function isOperator(value: unknown): value is Operator {
  return (
    typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "Operator"
  );
}

/** The operators a module exports, each once, default export first. */
export async function loadOperators(modulePath: string | undefined): Promise<Operator[]> {
  if (!modulePath)
    throw new UsageError("name the module that exports your operator, e.g. ./src/operator.ts");
  const path = resolve(modulePath);
  if (!existsSync(path)) throw new Error(`${modulePath}: no such file`);
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`could not load ${modulePath}: ${(error as Error).message}`);
  }
  const found: Operator[] = [];
  const consider = (value: unknown) => {
    if (Array.isArray(value)) value.forEach(consider);
    else if (isOperator(value) && !found.includes(value)) found.push(value);
  };
  consider(loaded.default);
  for (const [name, value] of Object.entries(loaded)) if (name !== "default") consider(value);
  if (found.length === 0) {
    throw new Error(
      `${modulePath} exports no operator: export one made with defineOperator(...), e.g. \`export default defineOperator({ ... })\``,
    );
  }
  return found;
}
