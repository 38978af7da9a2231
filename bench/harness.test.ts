/**
 * The harness's pure parts: reading the API server's request counters, diffing and filtering
 * them, the command line, /proc parsing and the report. The benchmark itself does not run here.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseBenchArgs, UsageError } from "./args.ts";
import {
  addCounts,
  countWrites,
  diffRequests,
  filterVerbs,
  parseLabels,
  parseRequestTotals,
  requestKey,
  subtractCounts,
} from "./metrics.ts";
import { cpuSecondsFromStat, statusBytes } from "./proc.ts";
import { checkGoals, ratio, renderReport, renderScenario } from "./report.ts";
import type { ContenderResult, ScenarioResult } from "./types.ts";

const scrape = (lines: string[]) =>
  [
    "# HELP apiserver_request_total [STABLE] Counter of apiserver requests broken out for each verb.",
    "# TYPE apiserver_request_total counter",
    ...lines,
    'apiserver_request_duration_seconds_bucket{verb="GET",le="0.1"} 5',
    'apiserver_request_total_other{verb="GET"} 9',
  ].join("\n");

const line = (labels: Record<string, string>, value: number) =>
  `apiserver_request_total{${Object.entries({
    code: "200",
    component: "apiserver",
    dry_run: "",
    group: "",
    scope: "resource",
    subresource: "",
    version: "v1",
    ...labels,
  })
    .map(([k, v]) => `${k}="${v}"`)
    .join(",")}} ${value}`;

describe("apiserver_request_total", () => {
  test("labels with escapes and commas parse", () => {
    assert.deepEqual(parseLabels('a="1",b="x,y",c="q\\"uote",d=""'), {
      a: "1",
      b: "x,y",
      c: 'q"uote',
      d: "",
    });
  });

  test("only the counter's samples are read, other metrics sharing the prefix are not", () => {
    const samples = parseRequestTotals(
      scrape([line({ verb: "POST", resource: "configmaps", code: "201" }, 3)]),
    );
    assert.equal(samples.length, 1);
    assert.equal(samples[0]!.verb, "POST");
    assert.equal(samples[0]!.resource, "configmaps");
    assert.equal(samples[0]!.code, "201");
    assert.equal(samples[0]!.value, 3);
  });

  test("diffs by series, keeps the bench resources, keys by verb and resource", () => {
    const before = parseRequestTotals(
      scrape([
        line({ verb: "APPLY", resource: "benchparents", subresource: "status" }, 10),
        line({ verb: "DELETE", resource: "secrets" }, 4),
        line({ verb: "DELETE", resource: "secrets", scope: "namespace" }, 1),
        line({ verb: "GET", resource: "pods" }, 100),
      ]),
    );
    const after = parseRequestTotals(
      scrape([
        line({ verb: "APPLY", resource: "benchparents", subresource: "status" }, 15),
        line({ verb: "DELETE", resource: "secrets" }, 4),
        line({ verb: "DELETE", resource: "secrets", scope: "namespace" }, 2),
        line({ verb: "GET", resource: "pods" }, 150),
        line({ verb: "GET", resource: "configmaps", code: "404" }, 7),
        line({ verb: "POST", resource: "events", group: "events.k8s.io", code: "201" }, 2),
      ]),
    );
    assert.deepEqual(diffRequests(before, after), {
      "APPLY benchparents/status": 5,
      "DELETECOLLECTION secrets": 1,
      "GET configmaps": 7,
      "POST events": 2,
    });
    assert.deepEqual(
      diffRequests(before, after, { code: (code) => !code.startsWith("2") }),
      { "GET configmaps": 7 },
      "failed requests only",
    );
  });

  test("a counter that went down (an API server restart) counts from zero", () => {
    const before = parseRequestTotals(scrape([line({ verb: "PUT", resource: "secrets" }, 50)]));
    const after = parseRequestTotals(scrape([line({ verb: "PUT", resource: "secrets" }, 3)]));
    assert.deepEqual(diffRequests(before, after), { "PUT secrets": 3 });
  });

  test("writes are POST, PUT, PATCH, APPLY and deletes", () => {
    const counts = {
      "APPLY configmaps": 2,
      "DELETE secrets": 1,
      "DELETECOLLECTION secrets": 1,
      "GET configmaps": 9,
      "LIST benchparents": 1,
      "PATCH benchparents/status": 3,
      "POST events": 4,
      "PUT secrets": 5,
      "WATCH secrets": 2,
    };
    assert.equal(countWrites(counts), 16);
    assert.deepEqual(Object.keys(filterVerbs(counts, (verb) => verb === "WATCH")), [
      "WATCH secrets",
    ]);
  });

  test("counts add and subtract key by key, never below zero", () => {
    assert.deepEqual(addCounts({ "GET a": 1 }, { "GET a": 2, "PUT b": 1 }), {
      "GET a": 3,
      "PUT b": 1,
    });
    assert.deepEqual(
      subtractCounts({ "WATCH a": 3, "PATCH b": 5 }, { "WATCH a": 3, "PATCH b": 7 }),
      {},
    );
    assert.deepEqual(subtractCounts({ "WATCH a": 3 }, { "WATCH a": 1 }), { "WATCH a": 2 });
  });

  test("request keys name the subresource", () => {
    assert.equal(
      requestKey({ verb: "APPLY", resource: "benchparents", subresource: "status" }),
      "APPLY benchparents/status",
    );
    assert.equal(
      requestKey({ verb: "DELETE", resource: "x", subresource: "", scope: "cluster" }),
      "DELETECOLLECTION x",
    );
  });
});

describe("/proc", () => {
  test("CPU seconds come from utime + stime, also for a command with spaces", () => {
    const stat =
      "1234 (node (main) x) S 1 1234 1234 0 -1 4194560 5000 0 0 0 250 75 0 0 20 0 11 0 100 0 0";
    assert.equal(cpuSecondsFromStat(stat, 100), 3.25);
  });

  test("VmRSS and VmHWM are read in bytes", () => {
    const status = "Name:\tnode\nVmHWM:\t  207148 kB\nVmRSS:\t  150000 kB\n";
    assert.equal(statusBytes(status, "VmHWM"), 207148 * 1024);
    assert.equal(statusBytes(status, "VmRSS"), 150000 * 1024);
  });
});

describe("command line", () => {
  test("defaults: every scenario and contender at 1,000 parents", () => {
    const options = parseBenchArgs([])!;
    assert.deepEqual(options.scenarios, ["converge", "idle", "churn", "restart", "memory"]);
    assert.deepEqual(options.contenders, [
      "operon",
      "operon-matched",
      "controller-runtime",
      "controller-runtime-matched",
      "floor",
    ]);
    assert.deepEqual(options.parents, [1000]);
    assert.equal(options.idleSeconds, 60);
  });

  test("lists by comma or repetition, in the canonical order", () => {
    const options = parseBenchArgs([
      "--parents",
      "1000,10_000",
      "--scenario",
      "memory,converge",
      "--contenders",
      "floor",
      "--contenders",
      "operon",
    ])!;
    assert.deepEqual(options.parents, [1000, 10000]);
    assert.deepEqual(options.scenarios, ["converge", "memory"]);
    assert.deepEqual(options.contenders, ["operon", "floor"]);
  });

  test("unknown names and bad counts are usage errors; --help returns nothing", () => {
    assert.throws(() => parseBenchArgs(["--scenario", "warp"]), UsageError);
    assert.throws(() => parseBenchArgs(["--contenders", "kopf"]), UsageError);
    assert.throws(() => parseBenchArgs(["--parents", "0"]), UsageError);
    assert.equal(parseBenchArgs(["--help"]), undefined);
  });
});

function contender(
  name: ContenderResult["name"],
  figures: Partial<ContenderResult> = {},
): ContenderResult {
  return {
    name,
    wallSeconds: 10,
    peakRssBytes: 100 * 1048576,
    cpuSeconds: 2,
    writes: 3000,
    requests: { "POST configmaps": 1000, "POST secrets": 1000, "PUT benchparents/status": 1000 },
    ...figures,
  };
}

describe("report", () => {
  const converge: ScenarioResult = {
    scenario: "converge",
    parents: 1000,
    contenders: [
      contender("operon", { wallSeconds: 11, concurrency: 8 }),
      contender("controller-runtime", { wallSeconds: 20, peakRssBytes: 50 * 1048576 }),
      contender("controller-runtime-matched", { wallSeconds: 12.5 }),
      contender("floor", { wallSeconds: 10, peakRssBytes: 20 * 1048576, cpuSeconds: 1 }),
    ],
  };

  test("ratios divide by the reference and show a dash when it is missing", () => {
    assert.equal(ratio(11, 10), "1.10");
    assert.equal(ratio(null, 10), "—");
    assert.equal(ratio(1, 0), "—");
  });

  test("every figure carries its ratios to the floor and both controller-runtime runs", () => {
    const table = renderScenario(converge);
    const operon = table.split("\n").find((row) => row.startsWith("| operon |"))!;
    assert.equal(
      operon,
      "| operon | 8 | 11.0 | 1.10 / 0.55 / 0.88 | 100 | 5.00 / 2.00 / 1.00 | 2.00 | 2.00 / 1.00 / 1.00 | 3000 | 0 |",
    );
    const floor = table.split("\n").find((row) => row.startsWith("| floor |"))!;
    assert.match(floor, /\| 10\.0 \| 1 \/ 0\.50 \/ 0\.80 \|/);
    assert.match(table, /^### converge from cold, 1,000 parents/);
  });

  test("idle shows no wall time; a failed contender says why", () => {
    const table = renderScenario({
      scenario: "idle",
      parents: 1000,
      contenders: [
        contender("operon", { wallSeconds: null, writes: 0, requests: {} }),
        { ...contender("controller-runtime"), error: "exited | early" },
      ],
    });
    assert.doesNotMatch(table, /converge s/);
    assert.match(table, /failed: exited \\\| early/);
  });

  test("goals are checked against the floor and the peer at the same concurrency", () => {
    const goals = checkGoals([
      converge,
      {
        scenario: "converge",
        parents: 1000,
        contenders: [],
      },
      {
        scenario: "idle",
        parents: 1000,
        contenders: [
          contender("operon", { writes: 0 }),
          contender("operon-matched", { writes: 2 }),
        ],
      },
    ]);
    const byGoal = new Map(goals.map((g) => [g.goal, g.met]));
    assert.equal(byGoal.get("converge at N = 1,000 within 1.2× the floor"), true);
    assert.equal(
      byGoal.get(
        "converge at N = 1,000: operon faster than controller-runtime-matched (same concurrency)",
      ),
      true,
    );
    assert.equal(
      byGoal.get(
        "converge at N = 1,000: operon-matched faster than controller-runtime (same concurrency)",
      ),
      null,
    );
    assert.equal(byGoal.get("idle at N = 1,000: operon makes zero writes"), true);
    assert.equal(byGoal.get("idle at N = 1,000: operon-matched makes zero writes"), false);
  });

  test("the whole report lists the requests behind each scenario", () => {
    const report = renderReport([converge]);
    assert.match(
      report,
      /<summary>requests and control-plane CPU, converge, 1000 parents<\/summary>/,
    );
    assert.match(report, /\| PUT benchparents\/status \| 1000 \| 1000 \| 1000 \| 1000 \|/);
    assert.match(report, /### goals/);
  });
});
