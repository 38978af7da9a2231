/**
 * One readable line per reconcile, for a terminal (`operon dev`): when, which parent, why, what
 * it changed (with the first field changes of each child), how it ended and how long it took.
 *
 *     12:03:04.512 myapp default/shop  parent-changed: MyApp shop rv 389  ✓ updated Deployment shop (spec.replicas 3→5); status (status.readyReplicas 3→5)  62 ms (sync 0.4, writes 53)
 */
import type { FieldDiff } from "../operator/field-diff.ts";
import type { TraceRecord } from "./trace-store.ts";

/** Options of {@link formatTraceLine}. */
export interface TraceLineOptions {
  /** ANSI colours. Default false. */
  color?: boolean;
  /** Field changes shown per child. Default 2. */
  changesPerChild?: number;
}

const colors = {
  red: "\u001b[31m",
  green: "\u001b[32m",
  yellow: "\u001b[33m",
  magenta: "\u001b[35m",
  dim: "\u001b[2m",
  bold: "\u001b[1m",
  reset: "\u001b[0m",
};

function short(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text === undefined ? "∅" : text.length > 40 ? `${text.slice(0, 39)}…` : text;
}

function changes(diff: FieldDiff | undefined, limit: number): string {
  if (!diff || diff.changes.length === 0) return "";
  const shown = diff.changes.slice(0, limit).map((change) => {
    if (change.op === "add") return `+${change.path}=${short(change.after)}`;
    if (change.op === "remove") return `-${change.path}`;
    return `${change.path} ${short(change.before)}→${short(change.after)}`;
  });
  const more = diff.changes.length - shown.length + (diff.omitted ?? 0);
  return ` (${shown.join(", ")}${more > 0 ? `, +${more} more` : ""})`;
}

function clock(record: TraceRecord): string {
  const date = new Date(record.startedAtMs ?? record.startedAt);
  if (Number.isNaN(date.getTime())) return record.startedAt;
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

function why(record: TraceRecord): string {
  const reasons = record.reasons.join(",") || "?";
  const trigger = [...record.triggers].reverse().find((t) => t.object);
  if (!trigger?.object) return reasons;
  const object = trigger.object;
  const version = object.resourceVersion ? ` rv ${object.resourceVersion}` : "";
  const echo = trigger.causedBy ? " (own write)" : "";
  return `${reasons}: ${object.kind} ${object.name}${version}${echo}`;
}

function ms(value: number | undefined): string {
  if (value === undefined) return "–";
  return value < 10 ? value.toFixed(1) : String(Math.round(value));
}

/**
 * The line of one record.
 *
 * @example
 * formatTraceLine(record); // "12:03:04.512 myapp default/shop  parent-changed: MyApp shop rv 389  ✓ no changes  3 ms (sync 0.2, writes 0)"
 */
export function formatTraceLine(record: TraceRecord, options: TraceLineOptions = {}): string {
  const paint = (color: keyof typeof colors, text: string) =>
    options.color ? `${colors[color]}${text}${colors.reset}` : text;
  const limit = options.changesPerChild ?? 2;
  const did: string[] = [];
  for (const child of record.children) {
    if (child.action === "unchanged") continue;
    const name = child.child.replace(`${record.namespace}/`, "");
    did.push(
      `${child.action} ${name}${child.message && child.action !== "failed" ? `: ${child.message}` : ""}${changes(child.diff, limit)}`,
    );
  }
  if (record.childrenOmitted) did.push(`${record.childrenOmitted} more children`);
  if (record.statusWritten) did.push(`status${changes(record.statusDiff, limit)}`);
  if (record.finalizer) did.push(`finalizer ${record.finalizer}`);
  let verdict: string;
  switch (record.outcome) {
    case "error":
      verdict = paint("red", `✗ ${record.error?.message ?? "failed"}`);
      break;
    case "not-converging":
      verdict = paint("magenta", `⟳ not converging: ${record.churn?.message ?? ""}`);
      break;
    case "conflict":
      verdict = paint("yellow", "! conflict");
      break;
    case "waiting":
      verdict = paint(
        "yellow",
        `… waiting${record.next.kind === "requeue" ? ` (${record.next.because})` : ""}`,
      );
      break;
    case "gone":
      verdict = paint("dim", "deleted");
      break;
    default:
      verdict = paint("green", "✓");
  }
  const summary =
    record.outcome === "gone"
      ? ""
      : did.length > 0
        ? ` ${did.join("; ")}`
        : record.outcome === "ok"
          ? " no changes"
          : "";
  const timing =
    record.phase === "gone" || record.phase === "held"
      ? ""
      : `  ${ms(record.durationMs)} ms (${record.call?.function ?? "sync"} ${ms(record.functionMs)}, writes ${ms(record.writesMs)})`;
  const phase = record.phase === "sync" ? "" : ` [${record.phase}]`;
  return (
    `${paint("dim", clock(record))} ${record.operator} ${paint("bold", record.key)}${phase}  ` +
    `${why(record)}  ${verdict}${summary}${paint("dim", timing)}`
  );
}
