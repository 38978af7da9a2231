/**
 * Leader election with real processes: three `operon run --leader-elect` replicas of one
 * operator. The leader is killed with SIGKILL; a standby takes over once the Lease has expired
 * (not before, not much after); the next leader stops gracefully and hands over at once through
 * the released Lease. Every replica stamps each sync into its trace and into the parents' status,
 * and the test checks that no two replicas ever worked at the same time.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { KubeClient } from "../client/client.ts";
import { Lease } from "../resources/coordination.ts";
import type { ControlPlane } from "../testkit/control-plane.ts";
import { eventually } from "../testkit/operator-harness.ts";
import { Chore, type TraceLine } from "./testdata/chores.ts";
import { notConverged } from "./testdata/converged.ts";
import { type LogLine, Replica, readTrace } from "./testdata/replica.ts";
import { type ChoresTestbed, openChoresTestbed } from "./testdata/testbed.ts";

let plane: ControlPlane;
let admin: KubeClient;
let dir: string;

let testbed: ChoresTestbed | undefined;
before(async () => {
  testbed = await openChoresTestbed("operon-failover-");
  ({ plane, admin, dir } = testbed);
});
after(() => testbed?.close());

/** client-go's defaults, which `operon run` uses. */
const leaseDurationMs = 15_000;
const retryPeriodMs = 2_000;
/** Candidates wait up to 2.2 retry periods between tries (jitter factor 1.2). */
const maxRetryWaitMs = retryPeriodMs * 2.2;

const elected = "elected leader; operators running";

function time(line: LogLine): number {
  return Date.parse(line.time);
}

/** Asserts that the replicas' traces form separate, ordered stretches: `order[0]` first, etc. */
function assertNoOverlap(traces: Map<string, TraceLine[]>, order: string[]): void {
  const spans = order.map((name) => {
    const lines = traces.get(name) ?? [];
    assert.ok(lines.length > 0, `${name} worked`);
    return { name, first: lines[0]!.t, last: lines.at(-1)!.t };
  });
  for (let i = 1; i < spans.length; i++) {
    const before = spans[i - 1]!;
    const next = spans[i]!;
    assert.ok(
      before.last < next.first,
      `${before.name} worked until ${before.last}, ${next.name} from ${next.first}: they overlap`,
    );
  }
}

test("SIGKILL the leader: a standby takes over after the lease duration; no two replicas write at once", async (t) => {
  const namespace = await plane.createNamespace("failover");
  const lease = `chores-${randomBytes(3).toString("hex")}`;
  const trace = (name: string) => join(dir, `${namespace}-${name}.trace`);
  const start = (name: string) =>
    new Replica({
      name,
      kubeconfig: plane.kubeconfigPath,
      flags: [
        "--leader-elect",
        "--leader-election-namespace",
        namespace,
        "--leader-election-id",
        lease,
      ],
      env: {
        CHORES_NAMESPACE: namespace,
        CHORES_OPERATOR: "chores",
        CHORES_TRACE: trace(name),
        // Every parent syncs twice a second and writes its status each time: constant writes.
        CHORES_REQUEUE_MS: "500",
        CHORES_STAMP: "1",
      },
    });

  // The server's view: each status write names its writer; poll them all along.
  const writes: { writer: string; tick: number }[] = [];
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const chores = await admin.list(Chore, { namespace }).catch(() => undefined);
      for (const chore of chores?.items ?? []) {
        const status = chore.status as { writer?: string; tick?: number } | undefined;
        if (status?.writer && status.tick && !writes.some((w) => w.tick === status.tick))
          writes.push({ writer: status.writer, tick: status.tick });
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();

  for (const name of ["one", "two", "three"])
    await admin.create(Chore, { metadata: { name, namespace }, spec: { value: name } });
  const replicas = new Map<string, Replica>();
  try {
    const a = start("a");
    replicas.set("a", a);
    await a.waitForMessage(elected);
    for (const name of ["b", "c"]) replicas.set(name, start(name));
    const identities = new Map<string, string>();
    for (const [name, replica] of replicas) identities.set(await replica.identity(), name);
    await eventually(() => notConverged(admin, namespace).then((missing) => !missing));

    // Everyone is ready (the standbys' caches are synced); only a is the leader.
    for (const [name, replica] of replicas) {
      const url = await replica.healthUrl();
      assert.equal((await fetch(`${url}/readyz`)).status, 200, `${name} is ready`);
      assert.equal((await fetch(`${url}/healthz`)).status, 200, `${name} is alive`);
      const metrics = await (await fetch(`${await replica.metricsUrl()}/metrics`)).text();
      assert.match(
        metrics,
        new RegExp(
          `^leader_election_master_status\\{name="${lease}"\\} ${name === "a" ? 1 : 0}$`,
          "m",
        ),
      );
    }
    const held = await admin.get(Lease, lease, { namespace });
    assert.equal(identities.get(held.spec?.holderIdentity ?? ""), "a");
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    assert.deepEqual(readTrace(trace("b")), [], "standby b did not sync");
    assert.deepEqual(readTrace(trace("c")), [], "standby c did not sync");

    // SIGKILL: no release, the Lease must expire.
    const killed = Date.now();
    a.kill("SIGKILL");
    await a.exited;
    const next = await Promise.any(
      ["b", "c"].map((name) =>
        replicas
          .get(name)!
          .waitForMessage(elected, 60_000)
          .then((line) => ({ name, line })),
      ),
    );
    const takeover = time(next.line) - killed;
    assert.ok(
      takeover <= leaseDurationMs + maxRetryWaitMs + 3_000,
      `took over ${takeover} ms after the kill`,
    );
    // a renewed about one retry period (plus a request) before it died at the latest; the Lease
    // counts for its full duration from then, so nobody may take it sooner.
    assert.ok(
      takeover >= leaseDurationMs - retryPeriodMs - 1_500,
      `took over after only ${takeover} ms`,
    );
    t.diagnostic(`${next.name} took over ${takeover} ms after the leader was killed`);
    const third = next.name === "b" ? "c" : "b";
    await eventually(() => readTrace(trace(next.name)).some((line) => line.e === "end"));

    // Graceful stop of the second leader: it releases the Lease, the third takes over at once.
    const replica = replicas.get(next.name)!;
    const signalled = Date.now();
    replica.kill("SIGTERM");
    const exit = await replica.exited;
    assert.equal(exit.code, 0, `graceful exit; last lines:\n${replica.tail()}`);
    assert.ok(replica.logged("released the lease"), "released the Lease");
    const last = await replicas.get(third)!.waitForMessage(elected, 60_000);
    const handover = time(last) - signalled;
    assert.ok(
      handover < leaseDurationMs,
      `handed over ${handover} ms after SIGTERM: the release spared the lease duration`,
    );
    t.diagnostic(`${third} took over ${handover} ms after the leader got SIGTERM`);
    await eventually(() => readTrace(trace(third)).some((line) => line.e === "end"));
    const finalLease = await admin.get(Lease, lease, { namespace });
    assert.equal(identities.get(finalLease.spec?.holderIdentity ?? ""), third);
    assert.equal(finalLease.spec?.leaseTransitions, 2);

    await eventually(() => writes.some((w) => w.writer === third), {
      message: "the poller saw the third leader's writes",
    });
    polling = false;
    await poller;
    const traces = new Map(
      ["a", "b", "c"].map((name) => [name, readTrace(trace(name))] as [string, TraceLine[]]),
    );
    assertNoOverlap(traces, ["a", next.name, third]);
    assert.ok(
      traces.get("a")!.at(-1)!.t <= killed,
      "nothing from a after its kill (sanity check of the clock)",
    );
    // The server saw the same: writers in stretches a, then the second, then the third.
    writes.sort((x, y) => x.tick - y.tick);
    const sequence = writes
      .map((w) => w.writer)
      .filter((writer, i, all) => i === 0 || all[i - 1] !== writer);
    assert.deepEqual(sequence, ["a", next.name, third], "writers never interleaved");
  } finally {
    polling = false;
    await poller;
    for (const replica of replicas.values()) replica.kill("SIGKILL");
    await Promise.all([...replicas.values()].map((replica) => replica.exited));
  }
});
