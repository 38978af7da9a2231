/**
 * SVG charts of a run, one file per scenario next to `latest.json` (`converge.svg`,
 * `churn.svg`, ...), readable in any browser or image viewer: a horizontal bar per contender for
 * each N, and for memory the steady resident set across N with each contender's slope. Each chart
 * carries the machine, the date and the command it was measured with. Hand-written SVG: plain
 * text, no dependencies.
 */
import { memorySlopes } from "./report.ts";
import type { ContenderName, ContenderResult, ScenarioName, ScenarioResult } from "./types.ts";

/** Where and how a run was taken, printed on every chart. */
export interface RunContext {
  machine: string;
  date: string;
  command: string;
}

const mib = 1024 * 1024;

const colors: Record<ContenderName, string> = {
  operon: "#1f6feb",
  "operon-matched": "#79a8f5",
  "controller-runtime": "#2da44e",
  "controller-runtime-matched": "#8ad19b",
  "kube-rs": "#cf5b18",
  "kube-rs-matched": "#f0a471",
  "client-node": "#8250df",
  "client-node-matched": "#bda1ef",
  floor: "#6e7781",
  metacontroller: "#bf3989",
  "operon-metacontroller": "#0a3069",
  "operon-traced": "#54aeff",
  "operon-otel": "#0550ae",
};

interface Metric {
  title: string;
  unit: string;
  get(result: ContenderResult): number | null;
}

const metrics: Record<ScenarioName, Metric> = {
  converge: {
    title: "converge from cold: seconds until every child and status is in place (lower is better)",
    unit: "s",
    get: (r) => r.wallSeconds,
  },
  idle: {
    title: "idle: CPU seconds of the process while nothing changes (lower is better)",
    unit: "CPU s",
    get: (r) => r.cpuSeconds,
  },
  churn: {
    title: "churn: seconds until the changed parents converge again (lower is better)",
    unit: "s",
    get: (r) => r.wallSeconds,
  },
  restart: {
    title: "restart: seconds from start until every parent was reconciled once (lower is better)",
    unit: "s",
    get: (r) => r.wallSeconds,
  },
  memory: {
    title: "memory: steady resident set with N parents converged (lower is better)",
    unit: "MiB",
    get: (r) => (typeof r.steadyRssBytes === "number" ? r.steadyRssBytes / mib : null),
  },
};

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/** A round tick step for an axis up to `max`: 1, 2, 2.5 or 5 times a power of ten. */
export function niceStep(max: number, ticks = 4): number {
  if (!(max > 0)) return 0.25;
  const raw = max / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * power >= raw) return step * power;
  }
  return 10 * power;
}

/** The axis's end: the first multiple of its step at or above `max`. */
export function niceMax(max: number): number {
  const step = niceStep(max);
  return Math.max(step, Math.ceil(max / step - 1e-9) * step);
}

function formatValue(value: number): string {
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

const width = 860;
const labelWidth = 200;
const plotWidth = width - labelWidth - 110;
const barHeight = 18;
const barGap = 6;

/** Splits a long line at spaces into lines of at most `width` characters. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = `  ${word}`;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

function header(lines: string[], title: string, context: RunContext): number {
  lines.push(
    `<text x="16" y="28" font-size="16" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="16" y="48" font-size="11" fill="#57606a">${escapeXml(`${context.date} · ${context.machine}`)}</text>`,
  );
  let y = 64;
  for (const line of wrap(`$ ${context.command}`, 130)) {
    lines.push(`<text x="16" y="${y}" font-size="11" fill="#57606a">${escapeXml(line)}</text>`);
    y += 15;
  }
  return y + 5;
}

/** Horizontal bars, one per contender, for one N; returns the y below the panel. */
function barPanel(
  lines: string[],
  top: number,
  scenario: ScenarioResult,
  metric: Metric,
  scale: number,
): number {
  lines.push(
    `<text x="16" y="${top + 14}" font-size="13" font-weight="bold">${escapeXml(
      `${scenario.parents.toLocaleString("en-US")} parents`,
    )}</text>`,
  );
  let y = top + 24;
  const floor = scenario.contenders.find((c) => c.name === "floor" && !c.error);
  const floorValue = floor ? metric.get(floor) : null;
  for (const result of scenario.contenders) {
    const value = result.error ? null : metric.get(result);
    lines.push(
      `<text x="${labelWidth - 8}" y="${y + barHeight - 5}" font-size="12" text-anchor="end">${escapeXml(result.name)}</text>`,
    );
    if (value === null) {
      const why = result.error?.startsWith("refused")
        ? "refused: background traffic"
        : result.error
          ? "failed"
          : "not measured";
      lines.push(
        `<text x="${labelWidth + 4}" y="${y + barHeight - 5}" font-size="11" fill="#cf222e">${why}</text>`,
      );
    } else {
      const length = Math.max(1, (value / scale) * plotWidth);
      const ratio =
        floorValue && result.name !== "floor" && metric.unit === "s"
          ? ` (${(value / floorValue).toFixed(2)}× floor)`
          : "";
      lines.push(
        `<rect x="${labelWidth}" y="${y}" width="${length.toFixed(1)}" height="${barHeight}" fill="${colors[result.name]}"><title>${escapeXml(`${result.name}: ${formatValue(value)} ${metric.unit}`)}</title></rect>`,
        `<text x="${(labelWidth + length + 6).toFixed(1)}" y="${y + barHeight - 5}" font-size="11">${escapeXml(`${formatValue(value)} ${metric.unit}${ratio}`)}</text>`,
      );
    }
    y += barHeight + barGap;
  }
  return y + 10;
}

function axis(lines: string[], top: number, bottom: number, scale: number, unit: string): void {
  const step = niceStep(scale);
  const ticks = Math.round(scale / step);
  for (let tick = 0; tick <= ticks; tick++) {
    const x = labelWidth + ((tick * step) / scale) * plotWidth;
    lines.push(
      `<line x1="${x.toFixed(1)}" y1="${top}" x2="${x.toFixed(1)}" y2="${bottom}" stroke="#d0d7de" stroke-width="1"/>`,
      `<text x="${x.toFixed(1)}" y="${bottom + 14}" font-size="10" text-anchor="middle" fill="#57606a">${tickText(tick * step)}${tick === ticks ? ` ${unit}` : ""}</text>`,
    );
  }
}

function tickText(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toFixed(2)));
}

/** Steady RSS over N, one line per contender, with its slope in the legend. */
function slopePanel(lines: string[], top: number, results: readonly ScenarioResult[]): number {
  const slopes = memorySlopes(results).filter((s) => s.points.length >= 2);
  if (slopes.length === 0) return top;
  const height = 240;
  const left = 70;
  const right = width - 40;
  const allN = slopes.flatMap((s) => s.points.map((p) => p.parents));
  const maxN = Math.max(...allN);
  const maxMib = niceMax(Math.max(...slopes.flatMap((s) => s.points.map((p) => p.mib))));
  const px = (n: number) => left + (n / maxN) * (right - left);
  const py = (m: number) => top + 30 + height - (m / maxMib) * height;
  lines.push(
    `<text x="16" y="${top + 14}" font-size="13" font-weight="bold">steady RSS across N: the slope is the memory each 1,000 parents add</text>`,
  );
  const step = niceStep(maxMib);
  for (let m = 0; m <= maxMib + 1e-9; m += step) {
    lines.push(
      `<line x1="${left}" y1="${py(m).toFixed(1)}" x2="${right}" y2="${py(m).toFixed(1)}" stroke="#d0d7de"/>`,
      `<text x="${left - 6}" y="${(py(m) + 4).toFixed(1)}" font-size="10" text-anchor="end" fill="#57606a">${tickText(m)} MiB</text>`,
    );
  }
  for (const n of [...new Set(allN)].sort((a, b) => a - b)) {
    lines.push(
      `<text x="${px(n)}" y="${py(0) + 16}" font-size="10" text-anchor="middle" fill="#57606a">${n.toLocaleString("en-US")}</text>`,
    );
  }
  lines.push(
    `<text x="${(left + right) / 2}" y="${py(0) + 32}" font-size="11" text-anchor="middle">parents</text>`,
  );
  slopes.forEach((s, index) => {
    const points = s.points.map((p) => `${px(p.parents).toFixed(1)},${py(p.mib).toFixed(1)}`);
    lines.push(
      `<polyline points="${points.join(" ")}" fill="none" stroke="${colors[s.name]}" stroke-width="2"/>`,
      ...s.points.map(
        (p) =>
          `<circle cx="${px(p.parents).toFixed(1)}" cy="${py(p.mib).toFixed(1)}" r="3" fill="${colors[s.name]}"><title>${escapeXml(`${s.name}: ${p.mib.toFixed(0)} MiB at ${p.parents}`)}</title></circle>`,
      ),
    );
    const column = index % 2;
    const y = py(0) + 56 + Math.floor(index / 2) * 18;
    const x = left + column * 380;
    lines.push(
      `<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${colors[s.name]}"/>`,
      `<text x="${x + 18}" y="${y}" font-size="11">${escapeXml(
        `${s.name}: ${s.mibPerThousand === null ? "—" : s.mibPerThousand.toFixed(2)} MiB / 1,000 parents`,
      )}</text>`,
    );
  });
  return py(0) + 56 + Math.ceil(slopes.length / 2) * 18;
}

/** The SVG of one scenario across every N it ran at; `undefined` when it has no figure. */
export function renderChart(
  scenario: ScenarioName,
  results: readonly ScenarioResult[],
  context: RunContext,
): string | undefined {
  const metric = metrics[scenario];
  // The floor keeps no cache: it has no memory figure to draw.
  const runs = results
    .filter((r) => r.scenario === scenario)
    .map((r) =>
      scenario === "memory"
        ? { ...r, contenders: r.contenders.filter((c) => c.name !== "floor") }
        : r,
    )
    .filter((r) => r.contenders.length > 0);
  if (runs.length === 0) return undefined;
  const body: string[] = [];
  let y = header(body, metric.title, context);
  for (const run of runs) {
    const values = run.contenders
      .map((c) => (c.error ? null : metric.get(c)))
      .filter((v): v is number => v !== null);
    const scale = niceMax(Math.max(0, ...values));
    const top = y;
    const bars: string[] = [];
    y = barPanel(bars, top, run, metric, scale);
    // The grid first, so that the bars are drawn over it.
    axis(body, top + 20, y - 10, scale, metric.unit);
    body.push(...bars);
    y += 14;
  }
  if (scenario === "memory") y = slopePanel(body, y, results);
  const height = y + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...body,
    "</svg>",
    "",
  ].join("\n");
}

/** Every scenario's chart, by file name. */
export function renderCharts(
  results: readonly ScenarioResult[],
  context: RunContext,
): Map<string, string> {
  const charts = new Map<string, string>();
  for (const scenario of ["converge", "idle", "churn", "restart", "memory"] as const) {
    const svg = renderChart(scenario, results, context);
    if (svg) charts.set(`${scenario}.svg`, svg);
  }
  return charts;
}
