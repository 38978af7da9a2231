/**
 * Sharding in-process, several managers in one test process against the real API server: the
 * coordinator assigns each parent to one member and every member caches only its share; a join
 * moves parents only after the member that held them finished its sync in progress; a member
 * that stops gracefully hands its parents over at once; children left labelled for a member that
 * is gone are handed to their parent's member.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { KubeClient } from "../client/client.ts";
import type { ClientMetrics } from "../client/request.ts";
import { silentLogger } from "../logger.ts";
import { rbacManifests } from "../manifests/rbac.ts";
import { Kubectl } from "../manifests/testdata/kubectl.ts";
import { toYaml } from "../manifests/yaml.ts";
import { ownerReferenceTo } from "../operator/ownership.ts";
import { Lease } from "../resources/coordination.ts";
import { ConfigMap } from "../resources/core.ts";
import type { ControlPlane } from "../testkit/control-plane.ts";
import { eventually } from "../testkit/operator-harness.ts";
import { microTime } from "./leader-election.ts";
import { Manager } from "./manager.ts";
import { drainLabel, memberLeaseName, ringLabel, shardLabel } from "./sharding/labels.ts";
import { Chore, choreOperator } from "./testdata/chores.ts";
import { notConverged } from "./testdata/converged.ts";
import { readTrace } from "./testdata/replica.ts";
import { type ChoresTestbed, openChoresTestbed } from "./testdata/testbed.ts";

let plane: ControlPlane;
let admin: KubeClient;
let dir: string;

let testbed: ChoresTestbed | undefined;
before(async () => {
  testbed = await openChoresTestbed("operon-sharding-");
  ({ plane, admin, dir } = testbed);
});
after(() => testbed?.close());

/** Short Lease timings, valid by client-go's rules, so a test does not wait 15 s for an expiry. */
const timings = { leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 1_000 };

interface Member {
  name: string;
  manager: Manager;
}

function shardedManager(
  namespace: string,
  memberId: string,
  kubeconfig = plane.kubeconfigPath,
): Manager {
  return new Manager({
    client: (hooks: { metrics: ClientMetrics }) =>
      KubeClient.fromKubeConfig({ kubeconfig, ...hooks }),
    logger: silentLogger,
    gracefulShutdownMs: 5_000,
    healthProbeBindAddress: "127.0.0.1:0",
    leaderElection: { namespace, ...timings },
    sharding: { memberId },
  });
}

async function member(
  name: string,
  namespace: string,
  operator: string,
  options: { delayMs?: number } = {},
): Promise<Member> {
  const manager = shardedManager(namespace, `${name}-${randomBytes(2).toString("hex")}`);
  manager.add(
    choreOperator({
      name: operator,
      namespace,
      replica: name,
      trace: join(dir, `${namespace}.trace`),
      ...(options.delayMs !== undefined ? { delayMs: options.delayMs } : {}),
    }),
  );
  await manager.start();
  return { name, manager };
}

/** A manager's metrics, by sample. */
async function samples(manager: Manager): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  for (const line of (await manager.metrics.registry.metrics()).split("\n")) {
    if (line.startsWith("#") || line.trim() === "") continue;
    const at = line.lastIndexOf(" ");
    found.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return found;
}

/** Parent keys in a member's informer cache. */
function cached(m: Member, operator: string): string[] {
  const runtime = m.manager.runtime(operator)!;
  return runtime
    .informers()
    .parents.store.list()
    .map((parent) => `${parent.metadata.namespace}/${parent.metadata.name}`)
    .sort();
}

async function createChores(namespace: string, count: number, spec: Record<string, unknown> = {}) {
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      admin.create(Chore, {
        metadata: { name: `c${String(i).padStart(3, "0")}`, namespace },
        spec: { value: `v${i}`, ...spec },
      }),
    ),
  );
}

/** The shard label of every Chore, by key. */
async function assignments(namespace: string, operator: string): Promise<Map<string, string>> {
  const chores = await admin.list(Chore, { namespace });
  return new Map(
    chores.items.map((chore) => [
      `${namespace}/${chore.metadata.name}`,
      chore.metadata.labels?.[shardLabel(operator)] ?? "",
    ]),
  );
}

test("each parent is assigned to one member; each member caches its share and its children", async () => {
  const namespace = await plane.createNamespace("shards");
  const operator = `chores-${randomBytes(2).toString("hex")}`;
  const members: Member[] = [];
  try {
    members.push(await member("a", namespace, operator));
    members.push(await member("b", namespace, operator));
    await createChores(namespace, 30);
    await eventually(() => notConverged(admin, namespace).then((missing) => !missing), {
      message: "converged",
    });
    const ids = members.map((m) => m.manager.shardMember!);
    const assigned = await assignments(namespace, operator);
    assert.equal(assigned.size, 30);
    for (const [key, shard] of assigned) assert.ok(ids.includes(shard), `${key} is assigned`);
    // Every member caches exactly the parents assigned to it; together, all of them.
    await eventually(() =>
      members.every((m, i) => {
        const mine = [...assigned].filter(([, s]) => s === ids[i]).map(([k]) => k);
        return JSON.stringify(cached(m, operator)) === JSON.stringify(mine.sort());
      }),
    );
    for (const m of members) assert.ok(cached(m, operator).length > 0, `${m.name} holds some`);
    // Children carry their parent's shard, and only the member's own children are cached.
    const configMaps = await admin.list(ConfigMap, {
      namespace,
      labelSelector: `app.kubernetes.io/managed-by=${operator}`,
    });
    assert.equal(configMaps.items.length, 30);
    for (const cm of configMaps.items) {
      assert.equal(
        cm.metadata.labels?.[shardLabel(operator)],
        assigned.get(`${namespace}/${cm.metadata.name}`),
      );
    }
    for (const m of members) {
      const children = m.manager.runtime(operator)!.informers().children.get("configMaps")!;
      assert.equal(children.informer.store.list().length, cached(m, operator).length);
    }
    // Each sync ran on the parent's member only.
    const trace = readTrace(join(dir, `${namespace}.trace`));
    for (const line of trace) {
      const shard = assigned.get(line.k);
      const index = members.findIndex((m) => m.name === line.r);
      assert.equal(ids[index], shard, `${line.k} synced by ${line.r}`);
    }
    // The member Leases name their members and carry the ring label.
    const leases = await admin.list(Lease, {
      namespace,
      labelSelector: `${ringLabel}=${operator}`,
    });
    assert.deepEqual(leases.items.map((l) => l.spec?.holderIdentity).sort(), [...ids].sort());
  } finally {
    await Promise.all(members.map((m) => m.manager.stop()));
  }
});

test("a join moves parents only after their member finished the sync in progress; a graceful leave hands over at once", async () => {
  const namespace = await plane.createNamespace("handover");
  const operator = `chores-${randomBytes(2).toString("hex")}`;
  const tracePath = join(dir, `${namespace}.trace`);
  const members: Member[] = [];
  try {
    // Every sync takes 1.5 s: a drain always finds syncs in progress.
    members.push(await member("a", namespace, operator, { delayMs: 1_500 }));
    await createChores(namespace, 12);
    await eventually(() => notConverged(admin, namespace).then((missing) => !missing), {
      timeoutMs: 90_000,
    });
    // Make every parent busy again, then let b join.
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        admin.patch(
          Chore,
          `c${String(i).padStart(3, "0")}`,
          { spec: { value: `w${i}` } },
          { namespace, type: "merge" },
        ),
      ),
    );
    await eventually(() => readTrace(tracePath).filter((l) => l.e === "start").length > 12);
    members.push(await member("b", namespace, operator, { delayMs: 1_500 }));
    const b = members[1]!.manager.shardMember!;
    await eventually(
      async () => [...(await assignments(namespace, operator)).values()].includes(b),
      { message: "some parents moved to b" },
    );
    await eventually(() => notConverged(admin, namespace).then((missing) => !missing), {
      timeoutMs: 90_000,
    });
    const assigned = await assignments(namespace, operator);
    const moved = [...assigned].filter(([, s]) => s === b).map(([k]) => k);
    assert.ok(moved.length > 0 && moved.length < 12, `${moved.length} of 12 moved to b`);
    // For each moved parent: a's syncs all ended before b's first began.
    const trace = readTrace(tracePath);
    for (const key of moved) {
      const lines = trace.filter((l) => l.k === key);
      const lastOfA = Math.max(...lines.filter((l) => l.r === "a").map((l) => l.t));
      const firstOfB = Math.min(...lines.filter((l) => l.r === "b").map((l) => l.t));
      assert.ok(lastOfA <= firstOfB, `${key}: a until ${lastOfA}, b from ${firstOfB}`);
      const ends = lines.filter((l) => l.r === "a");
      assert.equal(ends.at(-1)?.e, "end", `${key}: a's last sync finished, not aborted`);
    }
    // No drain label is left behind.
    const chores = await admin.list(Chore, { namespace });
    for (const chore of chores.items)
      assert.equal(chore.metadata.labels?.[drainLabel(operator)], undefined);
    // The coordinator (a, elected first) counted the moves and their drains; a handed them over.
    const ids = members.map((m) => m.manager.shardMember!);
    const ofA = await samples(members[0]!.manager);
    const ofB = await samples(members[1]!.manager);
    const op = `operator="${operator}"`;
    assert.equal(ofA.get(`operon_shard_moves_total{${op},reason="rebalance"}`), moved.length);
    assert.equal(ofA.get(`operon_shard_drain_seconds_count{${op}}`), moved.length);
    assert.equal(ofA.get(`operon_shard_handovers_total{${op}}`), moved.length);
    assert.equal(ofA.get(`operon_shard_parents{${op},shard="${ids[1]}"}`), moved.length);
    assert.equal(ofA.get(`operon_shard_parents{${op},shard="${ids[0]}"}`), 12 - moved.length);
    assert.equal(
      ofB.get(`operon_shard_parents{${op},shard="${ids[1]}"}`),
      undefined,
      "b does not coordinate",
    );
    for (const metrics of [ofA, ofB])
      assert.equal(metrics.get(`operon_shard_ring_members{${op}}`), 2);
    assert.equal(ofA.get(`operon_shard_membership{${op},member="${ids[0]}"}`), 1);

    // b stops gracefully: its Lease is deleted and its parents go back to a well within a
    // Lease duration.
    const stopped = Date.now();
    await members[1]!.manager.stop();
    members.pop();
    const a = members[0]!.manager.shardMember!;
    await eventually(
      async () => [...(await assignments(namespace, operator)).values()].every((s) => s === a),
      { message: "every parent back with a", timeoutMs: 20_000, intervalMs: 50 },
    );
    const handedBack = Date.now() - stopped;
    assert.ok(handedBack < timings.leaseDurationMs + 5_000, `handed back after ${handedBack} ms`);
    await assert.rejects(
      admin.get(Lease, memberLeaseName(operator, b), { namespace }),
      /not found/,
      "b's member Lease was deleted",
    );
    await eventually(() => notConverged(admin, namespace).then((missing) => !missing), {
      timeoutMs: 60_000,
    });
  } finally {
    await Promise.all(members.map((m) => m.manager.stop()));
  }
});

test("a child left labelled for a departed member goes to its parent's member, which prunes it", async () => {
  const namespace = await plane.createNamespace("stray");
  const operator = `chores-${randomBytes(2).toString("hex")}`;
  const members: Member[] = [];
  try {
    members.push(await member("a", namespace, operator));
    await createChores(namespace, 1);
    await eventually(() => notConverged(admin, namespace).then((missing) => !missing));
    const parent = await admin.get(Chore, "c000", { namespace });
    // A child no sync wants any more, still labelled for a member that has left.
    await admin.create(ConfigMap, {
      metadata: {
        name: "c000-leftover",
        namespace,
        labels: {
          "app.kubernetes.io/managed-by": operator,
          [shardLabel(operator)]: "departed-0a1b2c",
        },
        ownerReferences: [ownerReferenceTo(parent)],
      },
      data: { stale: "yes" },
    });
    // A member joining (and leaving) makes the coordinator look for such children.
    const b = await member("b", namespace, operator);
    await b.manager.stop();
    await eventually(
      () =>
        admin
          .get(ConfigMap, "c000-leftover", { namespace })
          .then(() => false)
          .catch(() => true),
      { message: "the leftover child was pruned", timeoutMs: 30_000 },
    );
  } finally {
    await Promise.all(members.map((m) => m.manager.stop()));
  }
});

test("/readyz fails until the replica holds its ring membership", async () => {
  const namespace = await plane.createNamespace("ready");
  const operator = `chores-${randomBytes(2).toString("hex")}`;
  // Someone else holds the member Lease this replica wants: it must wait for it to run out.
  await admin.create(Lease, {
    metadata: {
      name: memberLeaseName(operator, "blocked"),
      namespace,
      labels: { [ringLabel]: operator },
    },
    spec: {
      holderIdentity: "someone-else",
      leaseDurationSeconds: 4,
      renewTime: microTime(Date.now()),
      acquireTime: microTime(Date.now()),
    },
  });
  const manager = shardedManager(namespace, "blocked");
  manager.add(choreOperator({ name: operator, namespace }));
  const starting = manager.start();
  try {
    const url = await eventually(() => manager.healthProbeUrl);
    const body = await eventually(async () => {
      const response = await fetch(`${url}/readyz?verbose`);
      const text = await response.text();
      return response.status === 500 && text.includes("[-]shard-membership") ? text : undefined;
    });
    assert.match(body, /\[\+\]informers/);
    await starting;
    const ready = await fetch(`${url}/readyz?verbose`);
    assert.equal(ready.status, 200);
    assert.match(await ready.text(), /\[\+\]shard-membership/);
  } finally {
    await starting.catch(() => {});
    await manager.stop();
  }
});

test("under the generated RBAC: members, the coordinator and handovers are refused nothing", async () => {
  const namespace = await plane.createNamespace("shard-rbac");
  const operator = choreOperator({ name: `chores-${randomBytes(2).toString("hex")}`, namespace });
  const rbac = rbacManifests({ ...operator, sharding: true }, { namespace });
  const kubectl = await Kubectl.create(plane.kubeconfigPath);
  const managers: Manager[] = [];
  try {
    await kubectl.ok(["apply", "-f", "-"], toYaml(rbac.objects));
    const identity = await plane.kubeconfigFor({
      serviceAccount: { namespace, name: rbac.serviceAccount.metadata.name! },
      create: false,
    });
    await eventually(() =>
      kubectl.as(identity.path).canI("watch", "leases.coordination.k8s.io", namespace),
    );
    // A member that died long ago: the coordinator deletes its Lease.
    const ghost = memberLeaseName(operator.name, "ghost");
    await admin.create(Lease, {
      metadata: { name: ghost, namespace, labels: { [ringLabel]: operator.name } },
      spec: { holderIdentity: "ghost", leaseDurationSeconds: 1, renewTime: microTime(Date.now()) },
    });
    for (const name of ["a", "b"]) {
      const manager = shardedManager(namespace, name, identity.path);
      manager.add(operator);
      await manager.start();
      managers.push(manager);
    }
    await createChores(namespace, 10);
    await eventually(() => notConverged(admin, namespace).then((missing) => !missing));
    const before = await assignments(namespace, operator.name);
    assert.ok(new Set(before.values()).size === 2, "both members hold parents");
    await managers.pop()!.stop();
    await eventually(async () =>
      [...(await assignments(namespace, operator.name)).values()].every((shard) => shard === "a"),
    );
    await eventually(
      () =>
        admin
          .get(Lease, ghost, { namespace })
          .then(() => false)
          .catch(() => true),
      { message: "the departed member's Lease was deleted", timeoutMs: 30_000 },
    );
    for (const manager of managers) {
      const refused = [...(await samples(manager))].filter(
        ([sample]) =>
          sample.startsWith("rest_client_requests_total") && /code="40[13]"/.test(sample),
      );
      assert.deepEqual(refused, [], "no request was refused");
    }
  } finally {
    await Promise.all(managers.map((manager) => manager.stop()));
    await kubectl.dispose();
  }
});
