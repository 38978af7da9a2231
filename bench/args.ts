/** The harness's command line. */
import { parseArgs } from "node:util";
import {
  type ContenderName,
  contenderNames,
  defaultContenders,
  type ScenarioName,
  scenarioNames,
} from "./types.ts";

export interface BenchOptions {
  /** The scenarios that compare contenders. */
  scenarios: ScenarioName[];
  /** Run the `shards` scenario (Operon alone: 1 replica, 3 sharded, a join; bench/shards.ts). */
  shards: boolean;
  contenders: ContenderName[];
  /** Parent counts (every chosen scenario runs once per count). */
  parents: number[];
  /** Length of the idle window. */
  idleSeconds: number;
  /** Share of parents whose spec churn changes. */
  churnFraction: number;
  /** Requests the floor keeps in flight. */
  floorConcurrency: number;
  /**
   * The most requests per second (any resource, watches aside) the API server may be serving
   * when a contender starts; the harness waits for it, and refuses the figures after ten minutes.
   */
  maxBackgroundRps: number;
  /** Where the JSON goes. */
  out: string;
  /** Use the control plane another process started in this directory (debugging the harness). */
  attach?: string;
  /** Extra Node flags for the Operon contenders, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`. */
  operonNodeFlags: string[];
  /** Metacontroller's source (a `.tar.gz` of its repository), for the `metacontroller` contender. */
  metacontrollerSource?: string;
}

export const defaults = {
  parents: [1_000],
  idleSeconds: 60,
  churnFraction: 0.1,
  floorConcurrency: 64,
  maxBackgroundRps: 5,
  out: "bench/results/latest.json",
} as const;

export const usage = `Usage: node --conditions=operon-source bench/run.ts [options]

  --scenario LIST      ${scenarioNames.join(", ")}, shards (default: all but shards;
                       shards runs Operon alone: 1 replica, then 3 sharded and a join)
  --contenders LIST    ${contenderNames.join(", ")}
                       (default: ${defaultContenders.join(", ")})
  --parents LIST       parents per run, e.g. 1000 or 1000,10000 (default ${defaults.parents.join(",")})
  --idle-seconds S     length of the idle window (default ${defaults.idleSeconds})
  --churn-fraction F   share of parents churn changes (default ${defaults.churnFraction})
  --floor-concurrency C  requests the floor keeps in flight (default ${defaults.floorConcurrency})
  --max-background-rps R  most requests/s the API server may serve when a contender starts
                       (default ${defaults.maxBackgroundRps}); figures over more are refused
  --out FILE           results JSON (default ${defaults.out})
  --operon-node-flags=FLAGS  extra node flags for the Operon processes, for profiling, e.g.
                       --operon-node-flags="--cpu-prof --cpu-prof-dir=/tmp/prof"
  --metacontroller-source FILE  Metacontroller's source as a .tar.gz (default: $METACONTROLLER_SOURCE,
                       else shared/peers/metacontroller-*.tar.gz above the repository)
  --attach DIR         use the local control plane another process started in DIR instead of
                       starting one (for working on the harness; figures are then less clean)
  -h, --help
`;

export class UsageError extends Error {}

function list(values: string[] | undefined): string[] {
  return (values ?? [])
    .flatMap((value) => value.split(","))
    .map((value) => value.trim())
    .filter(Boolean);
}

function names<T extends string>(what: string, values: string[], known: readonly T[]): T[] {
  for (const value of values) {
    if (!(known as readonly string[]).includes(value)) {
      throw new UsageError(`unknown ${what} "${value}"; choose from ${known.join(", ")}`);
    }
  }
  // In the canonical order, each once.
  return known.filter((name) => values.includes(name));
}

function counts(values: string[]): number[] {
  return values.map((value) => {
    const count = Number(value.replace(/_/g, ""));
    if (!Number.isInteger(count) || count < 1) {
      throw new UsageError(`--parents takes positive integers, not "${value}"`);
    }
    return count;
  });
}

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0)
    throw new UsageError(`--${name} must be a positive number`);
  return number;
}

/** Parses the arguments; `undefined` when help was asked for. */
export function parseBenchArgs(argv: string[]): BenchOptions | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      scenario: { type: "string", multiple: true },
      scenarios: { type: "string", multiple: true },
      contenders: { type: "string", multiple: true },
      contender: { type: "string", multiple: true },
      parents: { type: "string", multiple: true },
      "idle-seconds": { type: "string" },
      "churn-fraction": { type: "string" },
      "floor-concurrency": { type: "string" },
      "max-background-rps": { type: "string" },
      out: { type: "string" },
      attach: { type: "string" },
      "operon-node-flags": { type: "string" },
      "metacontroller-source": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: false,
  });
  if (values.help) return undefined;
  const scenarioList = list([...(values.scenario ?? []), ...(values.scenarios ?? [])]);
  const contenderList = list([...(values.contenders ?? []), ...(values.contender ?? [])]);
  const parentList = counts(list(values.parents));
  const churnFraction = positive(
    "churn-fraction",
    values["churn-fraction"],
    defaults.churnFraction,
  );
  if (churnFraction > 1) throw new UsageError("--churn-fraction must be at most 1");
  const chosen =
    scenarioList.length > 0
      ? names("scenario", scenarioList, [...scenarioNames, "shards"] as const)
      : [...scenarioNames];
  return {
    scenarios: chosen.filter((name): name is ScenarioName => name !== "shards"),
    shards: chosen.includes("shards"),
    contenders:
      contenderList.length > 0
        ? names("contender", contenderList, contenderNames)
        : [...defaultContenders],
    parents: parentList.length > 0 ? parentList : [...defaults.parents],
    idleSeconds: positive("idle-seconds", values["idle-seconds"], defaults.idleSeconds),
    churnFraction,
    floorConcurrency: Math.round(
      positive("floor-concurrency", values["floor-concurrency"], defaults.floorConcurrency),
    ),
    maxBackgroundRps: positive(
      "max-background-rps",
      values["max-background-rps"],
      defaults.maxBackgroundRps,
    ),
    out: values.out ?? defaults.out,
    ...(values.attach ? { attach: values.attach } : {}),
    operonNodeFlags: (values["operon-node-flags"] ?? "").split(/\s+/).filter(Boolean),
    ...(values["metacontroller-source"]
      ? { metacontrollerSource: values["metacontroller-source"] }
      : {}),
  };
}
