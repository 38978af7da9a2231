/**
 * The harness's pure parts: reading the API server's request counters, diffing and filtering
 * them, the command line, /proc parsing and the report. The benchmark itself does not run here.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parseBenchArgs, UsageError } from "./args.ts";
import { renderChart } from "./charts.ts";
import { backgroundRate } from "./harness.ts";
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
import { sourceHash } from "./peer-build.ts";
import { cpuSecondsFromStat, statusBytes } from "./proc.ts";
import {
  checkGoals,
  memorySlopes,
  ratio,
  renderContenders,
  renderReport,
  renderScenario,
  slope,
} from "./report.ts";
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

describe("peer builds", () => {
  test("a Cargo package's hash covers its sources and lock file, not its target directory", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bench-hash-"));
    try {
      const cargo = /\.rs$|^Cargo\.(toml|lock)$/;
      await mkdir(join(dir, "src"));
      await mkdir(join(dir, "target", "release"), { recursive: true });
      await writeFile(join(dir, "Cargo.toml"), '[package]\nname = "x"\n');
      await writeFile(join(dir, "Cargo.lock"), "version = 4\n");
      await writeFile(join(dir, "src", "main.rs"), "fn main() {}\n");
      const first = await sourceHash(dir, "cargo 1.95.0", cargo);
      await writeFile(join(dir, "target", "release", "x.rs"), "// build output\n");
      await writeFile(join(dir, "README.md"), "not a source\n");
      assert.equal(await sourceHash(dir, "cargo 1.95.0", cargo), first);
      assert.notEqual(await sourceHash(dir, "cargo 1.96.0", cargo), first, "toolchain");
      await writeFile(join(dir, "Cargo.lock"), "version = 4\n# kube 5.0.1\n");
      assert.notEqual(await sourceHash(dir, "cargo 1.95.0", cargo), first, "lock file");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("background traffic", () => {
  test("the rate counts every resource's requests but watches, per second of the window", () => {
    const at = (gets: number, leases: number, watches: number) =>
      parseRequestTotals(
        scrape([
          line({ verb: "GET", resource: "configmaps", code: "404" }, gets),
          line({ verb: "PUT", resource: "leases", group: "coordination.k8s.io" }, leases),
          line({ verb: "WATCH", resource: "secrets" }, watches),
          line({ verb: "GET", resource: "" }, gets * 10),
        ]),
      );
    const samples = [at(100, 5, 1), at(130, 5, 3), at(160, 6, 9), at(190, 6, 9)];
    assert.equal(backgroundRate(samples), (90 + 1) / 3);
    assert.equal(backgroundRate([at(1, 1, 1), at(1, 1, 50)]), 0, "watches ending are not traffic");
    assert.equal(backgroundRate(samples.slice(0, 1)), 0);
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
      "kube-rs",
      "kube-rs-matched",
      "client-node",
      "client-node-matched",
      "floor",
    ]);
    assert.deepEqual(options.parents, [1000]);
    assert.equal(options.maxBackgroundRps, 5);
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

  test("shards is asked for by name only: not part of the default set", () => {
    assert.equal(parseBenchArgs([])!.shards, false);
    const options = parseBenchArgs(["--scenario", "shards", "--parents", "10000"])!;
    assert.equal(options.shards, true);
    assert.deepEqual(options.scenarios, []);
    assert.deepEqual(parseBenchArgs(["--scenario", "shards,memory"])!.scenarios, ["memory"]);
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

  test("goals compare Operon with every peer at the same concurrency", () => {
    const goals = checkGoals([
      {
        scenario: "churn",
        parents: 1000,
        contenders: [
          contender("operon", { wallSeconds: 1 }),
          contender("kube-rs-matched", { wallSeconds: 0.5 }),
          contender("client-node-matched", { wallSeconds: 3 }),
        ],
      },
    ]);
    const byGoal = new Map(goals.map((g) => [g.goal, g.met]));
    assert.equal(
      byGoal.get("churn at N = 1,000: operon faster than kube-rs-matched (same concurrency)"),
      false,
    );
    assert.equal(
      byGoal.get("churn at N = 1,000: operon faster than client-node-matched (same concurrency)"),
      true,
    );
    assert.equal(
      byGoal.has(
        "churn at N = 1,000: operon-matched faster than controller-runtime (same concurrency)",
      ),
      false,
      "a peer that did not run is not a goal",
    );
  });

  const memoryAt = (parents: number, operonMib: number, kubeRsMib: number): ScenarioResult => ({
    scenario: "memory",
    parents,
    contenders: [
      contender("operon", { steadyRssBytes: operonMib * 1048576 }),
      contender("kube-rs", { steadyRssBytes: kubeRsMib * 1048576 }),
      contender("floor"),
    ],
  });

  test("the memory slope is MiB per 1,000 parents across N, by least squares", () => {
    assert.equal(slope([{ x: 1, y: 1 }]), null);
    assert.equal(
      slope([
        { x: 0, y: 1 },
        { x: 1, y: 3 },
        { x: 2, y: 5 },
      ]),
      2,
    );
    const results = [memoryAt(1000, 100, 20), memoryAt(10_000, 190, 38), memoryAt(30_000, 390, 78)];
    const slopes = memorySlopes(results);
    assert.deepEqual(
      slopes.map((s) => s.name),
      ["operon", "kube-rs"],
      "the floor keeps no cache",
    );
    assert.ok(Math.abs(slopes[0]!.mibPerThousand! - 10) < 0.01);
    assert.ok(Math.abs(slopes[1]!.mibPerThousand! - 2) < 0.01);
    const goals = new Map(checkGoals(results).map((g) => [g.goal, g.met]));
    assert.equal(
      goals.get("memory: operon's RSS per 1,000 parents (slope) below kube-rs's"),
      false,
    );
    assert.match(
      renderReport(results),
      /### memory slope[\s\S]*\| operon \| 100 \| 190 \| 390 \| 10\.00 \|/,
    );
  });

  test("the contenders table states version, concurrency, settings and background", () => {
    const table = renderContenders([
      {
        scenario: "converge",
        parents: 1000,
        contenders: [
          contender("kube-rs", {
            concurrency: 0,
            version: "kube 5.0.0",
            settings: "defaults (concurrency unbounded)",
            backgroundRequestsPerSecond: 0.3,
          }),
        ],
      },
    ]);
    assert.match(
      table,
      /\| kube-rs \| kube 5\.0\.0 \| ∞ \| defaults \(concurrency unbounded\) \| 0\.3 \|/,
    );
  });

  test("a chart names the machine, the date and the command, and draws one bar per contender", () => {
    const svg = renderChart("converge", [converge], {
      machine: "a <small> machine",
      date: "2026-12-01T10:00:00Z",
      command: "node bench/run.ts --parents 1000",
    })!;
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(svg, /2026-12-01T10:00:00Z · a &lt;small&gt; machine/);
    assert.match(svg, /\$ node bench\/run\.ts --parents 1000/);
    assert.equal(svg.match(/<rect x="200"/g)?.length, converge.contenders.length);
    assert.match(svg, /11\.0 s \(1\.10× floor\)/);
    assert.equal(
      renderChart("churn", [converge], { machine: "", date: "", command: "" }),
      undefined,
    );
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
