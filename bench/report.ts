/**
 * The markdown report: per scenario, each contender's figures with their ratios to the floor and
 * to both controller-runtime runs of the same scenario, the requests behind them, and the goals.
 */
import { countAll } from "./metrics.ts";
import type { ContenderName, ContenderResult, ScenarioName, ScenarioResult } from "./types.ts";

/** The references every figure is divided by, in the order the ratio cells list them. */
export const references: readonly { name: ContenderName; short: string }[] = [
  { name: "floor", short: "floor" },
  { name: "controller-runtime", short: "cr" },
  { name: "controller-runtime-matched", short: "cr-m" },
];

/** Added to the references of a scenario Metacontroller took part in. */
const metacontrollerReference = { name: "metacontroller", short: "mc" } as const;

/** The references of one scenario's ratios. */
export function referencesOf(
  scenario: ScenarioResult,
): readonly { name: ContenderName; short: string }[] {
  return scenario.contenders.some((c) => c.name === "metacontroller")
    ? [...references, metacontrollerReference]
    : references;
}

const mib = 1024 * 1024;

type Figure = "wallSeconds" | "peakRssBytes" | "steadyRssBytes" | "cpuSeconds";

function value(result: ContenderResult | undefined, figure: Figure): number | null {
  const v = result?.[figure];
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** `a / b` to two decimals, or `—` when either is missing or `b` is 0. */
export function ratio(a: number | null, b: number | null): string {
  if (a === null || b === null || b === 0) return "—";
  return (a / b).toFixed(2);
}

function ratios(scenario: ScenarioResult, result: ContenderResult, figure: Figure): string {
  const mine = value(result, figure);
  return referencesOf(scenario)
    .map(({ name }) => {
      const reference = scenario.contenders.find((c) => c.name === name && !c.error);
      if (!reference) return "—";
      if (reference.name === result.name) return "1";
      return ratio(mine, value(reference, figure));
    })
    .join(" / ");
}

function format(figure: Figure, v: number | null): string {
  if (v === null) return "—";
  if (figure === "wallSeconds" || figure === "cpuSeconds")
    return v < 10 ? v.toFixed(2) : v.toFixed(1);
  return (v / mib).toFixed(0);
}

const titles: Record<ScenarioName, string> = {
  converge: "converge from cold",
  idle: "idle",
  churn: "churn",
  restart: "restart",
  memory: "memory (and converge at this scale)",
};

const wallTitles: Record<ScenarioName, string> = {
  converge: "converge s",
  idle: "—",
  churn: "churn s",
  restart: "ready s",
  memory: "converge s",
};

function figuresOf(scenario: ScenarioResult): Figure[] {
  const figures: Figure[] = [];
  if (scenario.scenario !== "idle") figures.push("wallSeconds");
  figures.push("peakRssBytes");
  if (scenario.scenario === "memory") figures.push("steadyRssBytes");
  figures.push("cpuSeconds");
  return figures;
}

function header(figure: Figure, scenario: ScenarioName): string {
  switch (figure) {
    case "wallSeconds":
      return wallTitles[scenario];
    case "peakRssBytes":
      return "peak RSS MiB";
    case "steadyRssBytes":
      return "steady RSS MiB";
    case "cpuSeconds":
      return "CPU s";
  }
}

/** Parents reconciled at once; 0 is unbounded. */
export function concurrencyText(concurrency: number | undefined): string {
  if (concurrency === undefined) return "—";
  return concurrency === 0 ? "∞" : String(concurrency);
}

/** The table of one scenario. */
export function renderScenario(scenario: ScenarioResult): string {
  const figures = figuresOf(scenario);
  const columns = [
    "contender",
    "conc.",
    ...figures.flatMap((figure) => [
      header(figure, scenario.scenario),
      `× ${referencesOf(scenario)
        .map((r) => r.short)
        .join("/")}`,
    ]),
    "writes",
    "other requests",
  ];
  const rows = scenario.contenders.map((result) => {
    if (result.error) {
      return [
        result.name,
        concurrencyText(result.concurrency),
        ...figures.flatMap(() => ["—", "—"]),
        "—",
        `failed: ${result.error.replace(/\|/g, "\\|").replace(/\n/g, " ")}`,
      ];
    }
    return [
      result.name,
      concurrencyText(result.concurrency),
      ...figures.flatMap((figure) => [
        format(figure, value(result, figure)),
        ratios(scenario, result, figure),
      ]),
      String(result.writes),
      String(countAll(result.requests) - result.writes),
    ];
  });
  const lines = [
    `### ${titles[scenario.scenario]}, ${scenario.parents.toLocaleString("en-US")} parents`,
    "",
    `| ${columns.join(" | ")} |`,
    `| ${columns.map((_, index) => (index < 2 ? "---" : "---:")).join(" | ")} |`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
  ];
  return lines.join("\n");
}

/** Requests by verb and resource, one column per contender. */
export function renderRequests(scenario: ScenarioResult): string {
  const contenders = scenario.contenders.filter((c) => !c.error);
  const keys = [...new Set(contenders.flatMap((c) => Object.keys(c.requests)))].sort();
  const components = [
    ...new Set(contenders.flatMap((c) => Object.keys(c.clusterCpuSeconds ?? {}))),
  ].sort();
  if (keys.length === 0 && components.length === 0) return "";
  const failed = (result: ContenderResult, key: string) => {
    const count = result.failedRequests?.[key] ?? 0;
    return count > 0 ? ` (${count} failed)` : "";
  };
  const lines = [
    `<details><summary>requests and control-plane CPU, ${scenario.scenario}, ${scenario.parents} parents</summary>`,
    "",
    `| request | ${contenders.map((c) => c.name).join(" | ")} |`,
    `| --- | ${contenders.map(() => "---:").join(" | ")} |`,
    ...keys.map(
      (key) =>
        `| ${key} | ${contenders.map((c) => `${c.requests[key] ?? 0}${failed(c, key)}`).join(" | ")} |`,
    ),
    ...components.map(
      (component) =>
        `| CPU s of ${component} | ${contenders.map((c) => c.clusterCpuSeconds?.[component]?.toFixed(2) ?? "—").join(" | ")} |`,
    ),
    "",
    "</details>",
  ];
  return lines.join("\n");
}

export interface GoalCheck {
  goal: string;
  met: boolean | null;
  detail: string;
}

function find(
  results: readonly ScenarioResult[],
  scenario: ScenarioName,
  parents: number,
  name: ContenderName,
): ContenderResult | undefined {
  return results
    .find((r) => r.scenario === scenario && r.parents === parents)
    ?.contenders.find((c) => c.name === name && !c.error);
}

/** The converge runs at a scale: the converge scenario, or the memory scenario's cold converge. */
function convergeAt(
  results: readonly ScenarioResult[],
  parents: number,
  name: ContenderName,
): ContenderResult | undefined {
  return find(results, "converge", parents, name) ?? find(results, "memory", parents, name);
}

function sizes(results: readonly ScenarioResult[], ...scenarios: ScenarioName[]): number[] {
  return [
    ...new Set(results.filter((r) => scenarios.includes(r.scenario)).map((r) => r.parents)),
  ].sort((a, b) => a - b);
}

/** Operon and each peer run at the same concurrency. */
const samePairs: readonly (readonly [ContenderName, ContenderName])[] = [
  ["operon", "controller-runtime-matched"],
  ["operon", "kube-rs-matched"],
  ["operon", "client-node-matched"],
  ["operon-matched", "controller-runtime"],
  ["operon-matched", "client-node"],
];

/** The project's goals, checked against the results (`met: null` when not measured). */
export function checkGoals(results: readonly ScenarioResult[]): GoalCheck[] {
  const checks: GoalCheck[] = [];
  for (const parents of sizes(results, "converge", "memory")) {
    const limit = parents >= 10_000 ? 1.3 : 1.2;
    const operon = convergeAt(results, parents, "operon");
    const floor = convergeAt(results, parents, "floor");
    const a = value(operon, "wallSeconds");
    const b = value(floor, "wallSeconds");
    checks.push({
      goal: `converge at N = ${parents.toLocaleString("en-US")} within ${limit}× the floor`,
      met: a !== null && b !== null ? a <= limit * b : null,
      detail:
        a !== null && b !== null
          ? `${ratio(a, b)}× (${a.toFixed(2)} s vs ${b.toFixed(2)} s)`
          : "not measured",
    });
  }
  for (const scenario of ["converge", "churn"] as const) {
    for (const parents of sizes(results, scenario)) {
      for (const [mine, peer] of samePairs) {
        const a = value(find(results, scenario, parents, mine), "wallSeconds");
        const b = value(find(results, scenario, parents, peer), "wallSeconds");
        if (b === null && !results.some((r) => r.contenders.some((c) => c.name === peer))) continue;
        checks.push({
          goal: `${scenario} at N = ${parents.toLocaleString("en-US")}: ${mine} faster than ${peer} (same concurrency)`,
          met: a !== null && b !== null ? a < b : null,
          detail:
            a !== null && b !== null
              ? `${ratio(a, b)}× (${a.toFixed(2)} s vs ${b.toFixed(2)} s)`
              : "not measured",
        });
      }
    }
  }
  for (const scenario of ["idle", "restart"] as const) {
    for (const parents of sizes(results, scenario)) {
      for (const name of ["operon", "operon-matched"] as const) {
        const result = find(results, scenario, parents, name);
        checks.push({
          goal: `${scenario} at N = ${parents.toLocaleString("en-US")}: ${name} makes zero writes`,
          met: result ? result.writes === 0 : null,
          detail: result ? `${result.writes} writes` : "not measured",
        });
      }
    }
  }
  checks.push(...metacontrollerGoals(results));
  for (const parents of sizes(results, "memory")) {
    for (const peer of ["controller-runtime-matched", "controller-runtime"] as const) {
      const a = value(find(results, "memory", parents, "operon"), "steadyRssBytes");
      const b = value(find(results, "memory", parents, peer), "steadyRssBytes");
      if (b === null && peer === "controller-runtime") continue;
      checks.push({
        goal: `memory at N = ${parents.toLocaleString("en-US")}: operon steady RSS at or below ${peer}'s`,
        met: a !== null && b !== null ? a <= b : null,
        detail:
          a !== null && b !== null
            ? `${ratio(a, b)}× (${format("steadyRssBytes", a)} MiB vs ${format("steadyRssBytes", b)} MiB)`
            : "not measured",
      });
    }
  }
  const slopes = memorySlopes(results);
  const operonSlope = slopes.find((s) => s.name === "operon")?.mibPerThousand ?? null;
  for (const peer of ["kube-rs", "controller-runtime-matched"] as const) {
    const peerSlope = slopes.find((s) => s.name === peer)?.mibPerThousand ?? null;
    if (operonSlope === null && peerSlope === null) continue;
    checks.push({
      goal: `memory: operon's RSS per 1,000 parents (slope) below ${peer}'s`,
      met: operonSlope !== null && peerSlope !== null ? operonSlope < peerSlope : null,
      detail:
        operonSlope !== null && peerSlope !== null
          ? `${operonSlope.toFixed(2)} vs ${peerSlope.toFixed(2)} MiB per 1,000 parents`
          : "needs the memory scenario at two or more N",
    });
  }
  return checks;
}

export interface MemorySlope {
  name: ContenderName;
  /** Steady RSS (MiB) by N. */
  points: { parents: number; mib: number }[];
  /** Least-squares slope of steady RSS over N, in MiB per 1,000 parents (`null`: under two N). */
  mibPerThousand: number | null;
}

/** Least-squares slope of `y` over `x`; `null` under two distinct `x`. */
export function slope(points: readonly { x: number; y: number }[]): number | null {
  if (new Set(points.map((p) => p.x)).size < 2) return null;
  const n = points.length;
  const mx = points.reduce((sum, p) => sum + p.x, 0) / n;
  const my = points.reduce((sum, p) => sum + p.y, 0) / n;
  let covariance = 0;
  let variance = 0;
  for (const p of points) {
    covariance += (p.x - mx) * (p.y - my);
    variance += (p.x - mx) ** 2;
  }
  return covariance / variance;
}

/** Each contender's steady RSS across the N of the memory scenario, and its slope. */
export function memorySlopes(results: readonly ScenarioResult[]): MemorySlope[] {
  const byName = new Map<ContenderName, { parents: number; mib: number }[]>();
  for (const scenario of results) {
    if (scenario.scenario !== "memory") continue;
    for (const result of scenario.contenders) {
      const steady = value(result, "steadyRssBytes");
      if (result.error || steady === null || result.name === "floor") continue;
      const points = byName.get(result.name) ?? [];
      points.push({ parents: scenario.parents, mib: steady / mib });
      byName.set(result.name, points);
    }
  }
  return [...byName].map(([name, points]) => {
    const perParent = slope(points.map((p) => ({ x: p.parents, y: p.mib })));
    return {
      name,
      points: points.sort((a, b) => a.parents - b.parents),
      mibPerThousand: perParent === null ? null : perParent * 1000,
    };
  });
}

/** Steady RSS by N and the slope, one row per contender (when memory ran at two or more N). */
export function renderSlopes(results: readonly ScenarioResult[]): string {
  const slopes = memorySlopes(results);
  const sizesSeen = sizes(results, "memory");
  if (sizesSeen.length < 2 || slopes.length === 0) return "";
  const columns = [
    "contender",
    ...sizesSeen.map((n) => `steady RSS MiB at ${n.toLocaleString("en-US")}`),
    "MiB per 1,000 parents",
  ];
  return [
    "### memory slope (steady RSS across N)",
    "",
    `| ${columns.join(" | ")} |`,
    `| ${columns.map((_, index) => (index === 0 ? "---" : "---:")).join(" | ")} |`,
    ...slopes.map(
      (s) =>
        `| ${s.name} | ${sizesSeen
          .map((n) => s.points.find((p) => p.parents === n)?.mib.toFixed(0) ?? "—")
          .join(" | ")} | ${s.mibPerThousand === null ? "—" : s.mibPerThousand.toFixed(2)} |`,
    ),
  ].join("\n");
}

/** Who ran: version, concurrency, settings changed from its defaults, background before start. */
export function renderContenders(results: readonly ScenarioResult[]): string {
  const seen = new Map<ContenderName, ContenderResult>();
  const background = new Map<ContenderName, number[]>();
  for (const scenario of results) {
    for (const result of scenario.contenders) {
      if (!seen.has(result.name) || (!seen.get(result.name)!.version && result.version)) {
        seen.set(result.name, result);
      }
      if (result.backgroundRequestsPerSecond !== undefined) {
        const list = background.get(result.name) ?? [];
        list.push(result.backgroundRequestsPerSecond);
        background.set(result.name, list);
      }
    }
  }
  if (seen.size === 0) return "";
  return [
    "### contenders",
    "",
    "| contender | version | conc. | settings changed from its defaults | background req/s before start (max) |",
    "| --- | --- | ---: | --- | ---: |",
    ...[...seen.values()].map((result) => {
      const rates = background.get(result.name);
      return `| ${result.name} | ${result.version ?? "—"} | ${concurrencyText(result.concurrency)} | ${result.settings ?? "—"} | ${rates ? Math.max(...rates).toFixed(1) : "—"} |`;
    }),
  ].join("\n");
}

/**
 * Metacontroller mode's goals, where both Metacontroller contenders ran: at most half of
 * Metacontroller's converge time and memory, no writes when idle or restarted.
 */
function metacontrollerGoals(results: readonly ScenarioResult[]): GoalCheck[] {
  const ran = (scenario: ScenarioResult) =>
    scenario.contenders.some((c) => c.name === "metacontroller") &&
    scenario.contenders.some((c) => c.name === "operon-metacontroller");
  const checks: GoalCheck[] = [];
  const half = (goal: string, a: number | null, b: number | null, unit: (v: number) => string) =>
    checks.push({
      goal,
      met: a !== null && b !== null ? a <= 0.5 * b : null,
      detail:
        a !== null && b !== null ? `${ratio(a, b)}× (${unit(a)} vs ${unit(b)})` : "not measured",
    });
  for (const scenario of results.filter(ran)) {
    const n = scenario.parents.toLocaleString("en-US");
    const mine = scenario.contenders.find((c) => c.name === "operon-metacontroller" && !c.error);
    const theirs = scenario.contenders.find((c) => c.name === "metacontroller" && !c.error);
    if (scenario.scenario === "converge" || scenario.scenario === "memory") {
      const convergeRan = results.some(
        (r) => r.scenario === "converge" && r.parents === scenario.parents && ran(r),
      );
      if (scenario.scenario === "converge" || !convergeRan) {
        half(
          `converge at N = ${n}: operon-metacontroller within half of metacontroller's time`,
          value(mine, "wallSeconds"),
          value(theirs, "wallSeconds"),
          (v) => `${v.toFixed(2)} s`,
        );
      }
      const figures =
        scenario.scenario === "memory"
          ? (["peakRssBytes", "steadyRssBytes"] as const)
          : (["peakRssBytes"] as const);
      for (const figure of figures) {
        half(
          `${scenario.scenario} at N = ${n}: operon-metacontroller ${figure === "peakRssBytes" ? "peak" : "steady"} RSS within half of metacontroller's`,
          value(mine, figure),
          value(theirs, figure),
          (v) => `${format(figure, v)} MiB`,
        );
      }
    }
    if (scenario.scenario === "idle" || scenario.scenario === "restart") {
      checks.push({
        goal: `${scenario.scenario} at N = ${n}: operon-metacontroller makes zero writes`,
        met: mine ? mine.writes === 0 : null,
        detail: mine
          ? `${mine.writes} writes (metacontroller: ${theirs?.writes ?? "—"})`
          : "not measured",
      });
    }
  }
  return checks;
}

export function renderGoals(checks: readonly GoalCheck[]): string {
  if (checks.length === 0) return "";
  const mark = (met: boolean | null) => (met === null ? "n/a" : met ? "met" : "NOT met");
  return [
    "### goals",
    "",
    "| goal | result | figures |",
    "| --- | --- | --- |",
    ...checks.map((check) => `| ${check.goal} | ${mark(check.met)} | ${check.detail} |`),
  ].join("\n");
}

/** The whole report. */
export function renderReport(results: readonly ScenarioResult[]): string {
  const parts: string[] = [];
  const contenders = renderContenders(results);
  if (contenders) parts.push(contenders);
  for (const scenario of results) {
    parts.push(renderScenario(scenario));
    const requests = renderRequests(scenario);
    if (requests) parts.push(requests);
  }
  const slopes = renderSlopes(results);
  if (slopes) parts.push(slopes);
  const goals = renderGoals(checkGoals(results));
  if (goals) parts.push(goals);
  parts.push(
    `Ratios are this row's figure divided by the same figure of ${[...references, metacontrollerReference].map((r) => `${r.short} = ${r.name}`).join(", ")} (mc where it ran), measured in the same run ("—": not measured or not applicable). "other requests" are reads (GET, LIST, WATCH) of the bench resources. Concurrency ∞: unbounded.`,
  );
  return `${parts.join("\n\n")}\n`;
}
