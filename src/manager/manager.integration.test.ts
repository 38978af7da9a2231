/**
 * The manager in-process against the real API server: `/metrics` after real reconciles, the
 * probes' answers (not ready before the caches sync, not live when a sync is stuck), leader
 * election between two managers in one process, and what losing the Lease does.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { KubeClient } from "../client/client.ts";
import type { ClientMetrics } from "../client/request.ts";
import { silentLogger } from "../logger.ts";
import { Lease } from "../resources/coordination.ts";
import type { ControlPlane } from "../testkit/control-plane.ts";
import { eventually } from "../testkit/operator-harness.ts";
import { microTime } from "./leader-election.ts";
import { LeaderElectionLostError, Manager, type ManagerOptions } from "./manager.ts";
import { Chore, choreOperator } from "./testdata/chores.ts";
import { notConverged } from "./testdata/converged.ts";
import { readTrace } from "./testdata/replica.ts";
import { type ChoresTestbed, openChoresTestbed } from "./testdata/testbed.ts";

let plane: ControlPlane;
let admin: KubeClient;
let dir: string;

let testbed: ChoresTestbed | undefined;
before(async () => {
  testbed = await openChoresTestbed("operon-manager-");
  ({ plane, admin, dir } = testbed);
});
after(() => testbed?.close());

function suffix(): string {
  return randomBytes(3).toString("hex");
}

/** A manager on the test control plane whose client reports to the manager's metrics. */
function manager(options: ManagerOptions = {}, kubeconfig = plane.kubeconfigPath): Manager {
  return new Manager({
    client: (hooks: { metrics: ClientMetrics }) =>
      KubeClient.fromKubeConfig({ kubeconfig, ...hooks }),
    logger: silentLogger,
    gracefulShutdownMs: 5_000,
    ...options,
  });
}

/** Samples of a Prometheus text page: `sample('x_total{a="b"}')`, or the sum over a prefix. */
async function scrape(url: string) {
  const response = await fetch(`${url}/metrics`);
  assert.equal(response.status, 200);
  const text = await response.text();
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || line.trim() === "") continue;
    const at = line.lastIndexOf(" ");
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return {
    text,
    get: (sample: string) => samples.get(sample),
    sum: (prefix: string) =>
      [...samples].filter(([name]) => name.startsWith(prefix)).reduce((t, [, v]) => t + v, 0),
  };
}

async function probe(url: string, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`${url}${path}`);
  return { status: response.status, body: await response.text() };
}

describe("metrics", () => {
  test("/metrics counts real reconciles, queue work, API requests and cached objects", async () => {
    const namespace = await plane.createNamespace("metrics");
    const name = `chores-${suffix()}`;
    const m = manager({ metricsBindAddress: "127.0.0.1:0" });
    m.add(choreOperator({ name, namespace, concurrency: 3 }));
    await m.start();
    try {
      assert.ok(m.metricsUrl);
      assert.equal(m.healthProbeUrl, undefined, "probes are off unless asked for");
      const create = (chore: string, spec: Record<string, unknown>) =>
        admin.create(Chore, { metadata: { name: chore, namespace }, spec: spec as never });
      await create("ok-1", { value: "1" });
      await create("ok-2", { value: "2" });
      await create("failing", { value: "3", fail: true });
      await create("later", { value: "4", requeueAfterMs: 600_000 });

      const total = (result: string) =>
        `controller_runtime_reconcile_total{controller="${name}",result="${result}"}`;
      const page = await eventually(async () => {
        const page = await scrape(m.metricsUrl!);
        return (page.get(total("success")) ?? 0) >= 2 &&
          (page.get(total("error")) ?? 0) >= 2 &&
          (page.get(total("requeue_after")) ?? 0) >= 1
          ? page
          : undefined;
      });
      const reconciles =
        page.get(total("success"))! +
        page.get(total("error"))! +
        page.get(total("requeue_after"))! +
        page.get(total("requeue"))!;
      assert.equal(page.get(total("requeue")), 0, "the series exists before any such result");
      assert.equal(
        page.get(`controller_runtime_reconcile_errors_total{controller="${name}"}`),
        page.get(total("error")),
      );
      assert.equal(
        page.get(`controller_runtime_reconcile_time_seconds_count{controller="${name}"}`),
        reconciles,
      );
      assert.equal(
        page.get(`controller_runtime_max_concurrent_reconciles{controller="${name}"}`),
        3,
      );
      const active = page.get(`controller_runtime_active_workers{controller="${name}"}`);
      assert.ok(active !== undefined && active >= 0 && active <= 3, `active workers ${active}`);

      const queue = (metric: string) => page.get(`${metric}{name="${name}"}`) ?? 0;
      assert.ok(queue("workqueue_adds_total") >= 4, "every chore was queued");
      assert.ok(queue("workqueue_retries_total") >= 1, "the failing chore was retried");
      assert.ok(queue("workqueue_work_duration_seconds_count") >= reconciles - 3);
      assert.ok(queue("workqueue_queue_duration_seconds_count") >= 4);
      assert.notEqual(page.get(`workqueue_depth{name="${name}"}`), undefined);
      assert.notEqual(
        page.get(`workqueue_longest_running_processor_seconds{name="${name}"}`),
        undefined,
      );
      assert.notEqual(page.get(`workqueue_unfinished_work_seconds{name="${name}"}`), undefined);

      assert.ok(page.sum('rest_client_requests_total{code="200",method="GET"') > 0);
      assert.ok(page.sum('rest_client_requests_total{code="201",method="POST"') >= 3, "creates");
      assert.ok(page.sum('rest_client_request_duration_seconds_count{verb="POST"') >= 3);
      assert.ok(page.sum('rest_client_request_duration_seconds_count{verb="PATCH"') >= 3);
      assert.ok(
        (page.get('operon_api_requests_total{verb="create",resource="configmaps",code="201"}') ??
          0) >= 3,
        "three ConfigMaps created",
      );
      assert.ok(
        (page.get(
          'operon_api_requests_total{verb="apply",resource="chores.manager.test.operon.dev/status",code="200"}',
        ) ?? 0) >= 3,
        "status writes",
      );
      await eventually(async () => {
        const now = await scrape(m.metricsUrl!);
        return (
          now.get('operon_cache_objects{resource="manager.test.operon.dev/v1/Chore"}') === 4 &&
          now.get('operon_cache_objects{resource="v1/ConfigMap"}') === 3
        );
      });
      assert.match(page.text, /^process_cpu_seconds_total /m, "Node process metrics");
      assert.match(page.text, /^nodejs_heap_size_used_bytes /m);
      assert.doesNotMatch(page.text, /leader_election_master_status\{/, "no election, no gauge");
    } finally {
      await m.stop();
    }
    await assert.rejects(fetch(`${m.metricsUrl}/metrics`), "the server is closed");
  });

  test("two managers in one process keep separate registries", async () => {
    const namespace = await plane.createNamespace("registries");
    const name = `chores-${suffix()}`;
    const a = manager({ metricsBindAddress: "127.0.0.1:0" });
    const b = manager({ metricsBindAddress: "127.0.0.1:0" });
    a.add(choreOperator({ name, namespace }));
    b.add(choreOperator({ name: `${name}-other`, namespace: `${namespace}-none` }));
    await Promise.all([a.start(), b.start()]);
    try {
      await admin.create(Chore, { metadata: { name: "one", namespace }, spec: { value: "1" } });
      await eventually(async () =>
        (await scrape(a.metricsUrl!)).get(
          `controller_runtime_reconcile_total{controller="${name}",result="success"}`,
        ),
      );
      const pageB = await scrape(b.metricsUrl!);
      assert.equal(
        pageB.get(`controller_runtime_reconcile_total{controller="${name}",result="success"}`),
        undefined,
      );
      assert.equal(
        pageB.get(
          `controller_runtime_reconcile_total{controller="${name}-other",result="success"}`,
        ),
        0,
      );
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

describe("probes", () => {
  test("/readyz fails until the caches sync; stopping while starting ends cleanly", async () => {
    const namespace = await plane.createNamespace("not-ready");
    // An identity with no permissions: its lists are refused, so the caches never sync.
    const nobody = await plane.kubeconfigFor({ user: `nobody-${suffix()}` });
    const m = manager({ healthProbeBindAddress: "127.0.0.1:0" }, nobody.path);
    m.add(choreOperator({ name: `chores-${suffix()}`, namespace }));
    const starting = m.start();
    const url = await eventually(() => m.healthProbeUrl);
    const ready = await probe(url, "/readyz");
    assert.equal(ready.status, 500);
    assert.match(ready.body, /\[-\]informers failed: the caches are not synced yet/);
    assert.equal((await probe(url, "/healthz")).status, 200, "alive while it waits");
    assert.equal(m.ready, false);
    await m.stop();
    await assert.rejects(starting, /stopped/);
    await m.wait();
    await assert.rejects(fetch(`${url}/readyz`));
  });

  test("/healthz fails when a sync is stuck past the limit; /readyz stays ready", async () => {
    const namespace = await plane.createNamespace("stuck");
    const trace = join(dir, `${namespace}.trace`);
    const m = manager({
      healthProbeBindAddress: "127.0.0.1:0",
      stuckSyncMs: 1_500,
      gracefulShutdownMs: 500,
    });
    m.add(choreOperator({ name: `chores-${suffix()}`, namespace, trace }));
    await m.start();
    const url = m.healthProbeUrl!;
    try {
      assert.equal((await probe(url, "/readyz")).status, 200);
      assert.equal((await probe(url, "/healthz")).status, 200);
      assert.equal(
        (await probe(url, "/readyz?verbose")).body,
        "[+]informers ok\nreadyz check passed\n",
      );
      await admin.create(Chore, {
        metadata: { name: "stuck", namespace },
        spec: { value: "x", hang: true },
      });
      const failing = await eventually(async () => {
        const answer = await probe(url, "/healthz");
        return answer.status === 500 ? answer : undefined;
      });
      assert.match(
        failing.body,
        new RegExp(
          `\\[-\\]workers failed: .*: the sync of ${namespace}/stuck has been running for \\d+ s \\(limit 2 s\\)`,
        ),
      );
      assert.equal((await probe(url, "/healthz/workers")).status, 500);
      assert.equal((await probe(url, "/readyz")).status, 200, "stuck is not unready");
    } finally {
      await m.stop();
    }
    assert.deepEqual(
      readTrace(trace).map((line) => line.e),
      ["start", "aborted"],
      "the stuck sync was aborted at the shutdown timeout",
    );
  });
});

describe("leader election in one process", () => {
  const timings = { leaseDurationMs: 6_000, renewDeadlineMs: 4_000, retryPeriodMs: 500 };

  test("only the leader reconciles; on stop it releases the Lease and the standby takes over at once", async () => {
    const namespace = await plane.createNamespace("election");
    const id = `lease-${suffix()}`;
    const name = `chores-${suffix()}`;
    const synced = { a: 0, b: 0 };
    const replica = (identity: "a" | "b") => {
      const m = manager({
        metricsBindAddress: "127.0.0.1:0",
        healthProbeBindAddress: "127.0.0.1:0",
        leaderElection: { namespace, id, identity, ...timings },
        onOutcome: () => synced[identity]++,
      });
      m.add(choreOperator({ name, namespace, replica: identity }));
      return m;
    };
    const a = replica("a");
    const b = replica("b");
    await a.start();
    await a.elected;
    await b.start();
    try {
      for (const chore of ["one", "two"])
        await admin.create(Chore, { metadata: { name: chore, namespace }, spec: { value: chore } });
      await eventually(() => notConverged(admin, namespace).then((missing) => !missing));
      assert.equal(a.isLeader, true);
      assert.equal(b.isLeader, false);
      assert.equal(b.ready, true, "a standby with synced caches is ready");
      assert.equal((await probe(b.healthProbeUrl!, "/readyz")).status, 200);
      assert.equal((await probe(b.healthProbeUrl!, "/healthz")).status, 200);
      assert.equal(synced.b, 0, "the standby did not reconcile");
      const chores = (await admin.list(Chore, { namespace })).items;
      assert.deepEqual(
        chores.map((c) => (c.status as { writer?: string }).writer),
        ["a", "a"],
      );
      assert.equal(
        (await scrape(a.metricsUrl!)).get(`leader_election_master_status{name="${id}"}`),
        1,
      );
      assert.equal(
        (await scrape(b.metricsUrl!)).get(`leader_election_master_status{name="${id}"}`),
        0,
      );
      const lease = await admin.get(Lease, id, { namespace });
      assert.equal(lease.spec?.holderIdentity, "a");
      assert.equal(lease.spec?.leaseDurationSeconds, 6);
      assert.equal(lease.spec?.leaseTransitions, 0);
      assert.match(lease.spec?.renewTime ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);

      const stopped = Date.now();
      await a.stop();
      const released = await admin.get(Lease, id, { namespace });
      assert.ok(
        !released.spec?.holderIdentity || released.spec.holderIdentity === "b",
        "a released the Lease",
      );
      await b.elected;
      const takeover = Date.now() - stopped;
      assert.ok(
        takeover < timings.leaseDurationMs,
        `b took over after ${takeover} ms, sooner than the lease duration`,
      );
      const afterStop = synced.a;
      await admin.patch(Chore, "one", { spec: { value: "changed" } }, { namespace });
      await eventually(() => notConverged(admin, namespace).then((missing) => !missing));
      const one = await admin.get(Chore, "one", { namespace });
      assert.equal((one.status as { writer?: string }).writer, "b");
      assert.equal(synced.a, afterStop, "the old leader reconciled nothing after its stop");
      const taken = await admin.get(Lease, id, { namespace });
      assert.equal(taken.spec?.holderIdentity, "b");
      assert.equal(taken.spec?.leaseTransitions, 1);
    } finally {
      await a.stop();
      await b.stop();
    }
    const last = await admin.get(Lease, id, { namespace });
    assert.equal(last.spec?.holderIdentity, "", "b released it too");
  });

  test("a Lease taken over by another holder: syncs are aborted, wait() rejects, liveness fails", async () => {
    const namespace = await plane.createNamespace("election-lost");
    const id = `lease-${suffix()}`;
    const trace = join(dir, `${namespace}.trace`);
    const m = manager({
      healthProbeBindAddress: "127.0.0.1:0",
      leaderElection: { namespace, id, identity: "a", ...timings },
    });
    m.add(choreOperator({ name: `chores-${suffix()}`, namespace, trace }));
    await m.start();
    await m.elected;
    try {
      await admin.create(Chore, {
        metadata: { name: "long", namespace },
        spec: { value: "x", hang: true },
      });
      await eventually(() => readTrace(trace).some((line) => line.e === "start"));
      const lease = await admin.get(Lease, id, { namespace });
      await admin.update(Lease, {
        ...lease,
        spec: { ...lease.spec, holderIdentity: "intruder", renewTime: microTime(Date.now()) },
      });
      const taken = Date.now();
      const error = await m.wait().then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(error instanceof LeaderElectionLostError, String(error));
      assert.match(error.message, /the lease is now held by intruder/);
      assert.ok(Date.now() - taken < timings.renewDeadlineMs, "noticed at the next renewal");
      assert.equal(m.isLeader, false);
      await eventually(() => readTrace(trace).some((line) => line.e === "aborted"), {
        message: "the running sync saw its signal abort",
        timeoutMs: 5_000,
      });
      const health = await probe(m.healthProbeUrl!, "/healthz");
      assert.equal(health.status, 500);
      assert.match(health.body, /\[-\]leader-election failed: leader election lost/);
      assert.equal((await probe(m.healthProbeUrl!, "/readyz")).status, 500);
      const after = await admin.get(Lease, id, { namespace });
      assert.equal(after.spec?.holderIdentity, "intruder", "the loser wrote nothing over it");
    } finally {
      await m.stop();
    }
    const final = await admin.get(Lease, id, { namespace });
    assert.equal(final.spec?.holderIdentity, "intruder", "stop does not release a Lease it lost");
  });
});
