/**
 * `operon plan <module> [parent...]`: what the module's operators would do to the current
 * cluster, without writing anything — every write is a server-side dry run — with an exit code
 * that says whether anything would change, like `terraform plan -detailed-exitcode`.
 */
import { KubeClient } from "../client/client.ts";
import { type PlannedParent, planOperators } from "../manager/plan.ts";
import type { FieldChange, FieldDiff } from "../operator/field-diff.ts";
import { type Command, UsageError } from "./command.ts";
import { kubeFlags, kubeOptions } from "./kube-options.ts";
import { loadOperators } from "./load-module.ts";

const symbols: Record<string, string> = {
  created: "+ create",
  updated: "~ update",
  adopted: "~ take over",
  recreating: "± recreate",
  deleted: "- delete",
  conflict: "! conflict",
  failed: "! failed",
  waiting: "… waiting",
};

function value(change: FieldChange, side: "before" | "after"): string {
  return side in change ? JSON.stringify(change[side]) : "(absent)";
}

function diffLines(diff: FieldDiff | undefined, indent: string): string[] {
  if (!diff) return [];
  const lines = diff.changes.map((change) =>
    change.op === "add"
      ? `${indent}+ ${change.path}: ${value(change, "after")}`
      : change.op === "remove"
        ? `${indent}- ${change.path}: ${value(change, "before")}`
        : `${indent}~ ${change.path}: ${value(change, "before")} → ${value(change, "after")}`,
  );
  if (diff.omitted) lines.push(`${indent}  … ${diff.omitted} more changes`);
  return lines;
}

/** The plan as people read it: per parent the children and status that would change, then totals. */
export function formatPlan(planned: readonly PlannedParent[]): string {
  const lines: string[] = [];
  const totals = { created: 0, updated: 0, recreating: 0, deleted: 0, status: 0 };
  for (const { record, changes } of planned) {
    const title = `${record.kind} ${record.key} (operator ${record.operator})`;
    if (record.phase === "finalize") {
      lines.push(`${title}: being deleted; finalize is not run in a plan`);
      continue;
    }
    if (record.error) {
      lines.push(`${title}: error: ${record.error.message}`);
    } else if (!changes && !record.children.some((c) => c.action === "conflict")) {
      lines.push(`${title}: no changes`);
      continue;
    } else {
      lines.push(`${title}:`);
    }
    if (record.finalizer === "added") lines.push("  + add Operon's finalizer");
    for (const child of record.children) {
      const symbol = symbols[child.action];
      if (!symbol) continue;
      lines.push(`  ${symbol} ${child.child}${child.message ? `: ${child.message}` : ""}`);
      lines.push(...diffLines(child.diff, "      "));
      if (child.action in totals) totals[child.action as keyof typeof totals]++;
    }
    if (record.statusWritten) {
      lines.push("  ~ status");
      lines.push(...diffLines(record.statusDiff, "      "));
      totals.status++;
    }
  }
  const changed = planned.filter((p) => p.changes).length;
  const failed = planned.filter((p) => p.record.error).length;
  lines.push(
    "",
    planned.length === 0
      ? "Plan: no parents found."
      : `Plan: ${totals.created} to create, ${totals.updated} to update, ${totals.recreating} to recreate, ` +
          `${totals.deleted} to delete, ${totals.status} status change${totals.status === 1 ? "" : "s"}; ` +
          `${changed} of ${planned.length} parent${planned.length === 1 ? "" : "s"} would change` +
          (failed > 0 ? `, ${failed} failed` : "") +
          ".",
  );
  return `${lines.join("\n")}\n`;
}

/** Accepts `namespace/name` exactly, or a bare `name` in any namespace. */
function parentFilter(names: readonly string[]): ((key: string) => boolean) | undefined {
  if (names.length === 0) return undefined;
  const exact = new Set(names.filter((name) => name.includes("/")));
  const bare = new Set(names.filter((name) => !name.includes("/")));
  return (key) => exact.has(key) || bare.has(key.slice(key.indexOf("/") + 1));
}

export const plan: Command = {
  path: ["plan"],
  summary: "Show what a module's operators would change in the cluster, writing nothing",
  usage: "<module> [namespace/name | name ...]",
  description:
    "For every parent (or the ones named), builds the request sync would receive from the\n" +
    "cluster's current state, calls the module's sync, and shows what Operon would do: children\n" +
    "to create, update (with the field diff the server would produce), recreate or delete, and\n" +
    "the status change. Every write is a server-side dry run: nothing is stored, no Event is\n" +
    "written, finalize is not called.\n\n" +
    "Exit codes: 0 nothing would change, 2 something would, 1 an error (as terraform plan\n" +
    "-detailed-exitcode).",
  options: {
    ...kubeOptions,
    namespace: {
      type: "string",
      short: "n",
      description: "Only parents in this namespace",
    },
    operator: {
      type: "string",
      description: "Only this operator of the module (by name)",
    },
    output: {
      type: "string",
      short: "o",
      description: "text or json",
      default: "text",
    },
  },
  async run({ values, positionals, stdout }) {
    const output = values.output ?? "text";
    if (output !== "text" && output !== "json") {
      throw new UsageError(`--output must be text or json, got "${String(output)}"`);
    }
    let operators = await loadOperators(positionals[0], "plan");
    if (typeof values.operator === "string") {
      const wanted = values.operator;
      operators = operators.filter((operator) => operator.name === wanted);
      if (operators.length === 0) {
        throw new UsageError(`--operator ${wanted}: the module has no operator of that name`);
      }
    }
    const client = await KubeClient.fromKubeConfig({ ...kubeFlags(values), dryRun: true });
    let planned: PlannedParent[];
    try {
      const parents = parentFilter(positionals.slice(1));
      planned = await planOperators(client, operators, {
        ...(parents ? { parents } : {}),
        ...(typeof values.namespace === "string" ? { namespace: values.namespace } : {}),
      });
    } finally {
      await client.close();
    }
    if (output === "json") {
      stdout.write(
        `${JSON.stringify({ parents: planned.map((p) => ({ ...p.record, changes: p.changes })) }, null, 2)}\n`,
      );
    } else {
      stdout.write(formatPlan(planned));
    }
    if (planned.some((p) => p.record.error)) return 1;
    return planned.some((p) => p.changes) ? 2 : 0;
  },
};
