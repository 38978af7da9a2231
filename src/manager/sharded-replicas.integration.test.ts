/**
 * Sharding with real processes: `operon run --sharding` replicas of the Chore operator on the
 * local control plane. Every replica appends each sync's start and end to its trace; the tests
 * read the traces, the replicas' own metrics (what their informer stores hold) and the cluster.
 *
 * 1. Three replicas, 1,000 parents: each parent is assigned within about a second, reconciled by
 *    its member only, and each replica's informers hold exactly its share.
 * 2. 3 → 5 → 2 replicas while parents are created, updated and deleted, with a member and then
 *    the coordinator killed with SIGKILL: no parent is ever synced by two replicas at once, none
 *    stays without a live member longer than the bound, and the end state is a single operator's.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { clientListWatch } from "../cache/client-source.ts";
import { Informer } from "../cache/informer.ts";
import type { KubeClient } from "../client/client.ts";
import { Lease } from "../resources/coordination.ts";
import { ConfigMap } from "../resources/core.ts";
import type { KubeObject } from "../resources/object.ts";
import type { ControlPlane } from "../testkit/control-plane.ts";
import { eventually } from "../testkit/operator-harness.ts";
import { drainLabel, shardLabel } from "./sharding/labels.ts";
import { HashRing } from "./sharding/ring.ts";
import { Chore, type TraceLine } from "./testdata/chores.ts";
import { notConverged } from "./testdata/converged.ts";
import { Replica, readTrace } from "./testdata/replica.ts";
import { type ChoresTestbed, openChoresTestbed } from "./testdata/testbed.ts";

let plane: ControlPlane;
let admin: KubeClient;
let dir: string;

let testbed: ChoresTestbed | undefined;
before(async () => {
  testbed = await openChoresTestbed("operon-shards-");
  ({ plane, admin, dir } = testbed);
});
after(() => testbed?.close());

/** Samples of a replica's `/metrics`. */
async function scrape(replica: Replica): Promise<Map<string, number>> {
  const text = await (await fetch(`${await replica.metricsUrl()}/metrics`)).text();
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || line.trim() === "") continue;
    const at = line.lastIndexOf(" ");
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

/** Runs `fn` over `items`, `limit` at a time. */
async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

function choreName(i: number): string {
  return `c${String(i).padStart(4, "0")}`;
}

interface Cluster {
  namespace: string;
  operator: string;
  replicas: Map<string, Replica>;
  /** Member id of each replica. */
  members: Map<string, string>;
  start(name: string): Promise<Replica>;
  trace(name: string): TraceLine[];
  stopAll(): Promise<void>;
}

async function cluster(prefix: string, flags: string[] = [], env: Record<string, string> = {}) {
  const namespace = await plane.createNamespace(prefix);
  const operator = `chores-${randomBytes(2).toString("hex")}`;
  const replicas = new Map<string, Replica>();
  const members = new Map<string, string>();
  const tracePath = (name: string) => join(dir, `${namespace}-${name}.trace`);
  const result: Cluster = {
    namespace,
    operator,
    replicas,
    members,
    async start(name) {
      const replica = new Replica({
        name,
        kubeconfig: plane.kubeconfigPath,
        flags: ["--sharding", "--leader-election-namespace", namespace, ...flags],
        env: {
          CHORES_NAMESPACE: namespace,
          CHORES_OPERATOR: operator,
          CHORES_TRACE: tracePath(name),
          ...env,
        },
      });
      replicas.set(name, replica);
      const joined = await replica.waitForMessage("joined the shard ring", 90_000);
      members.set(name, joined.member as string);
      return replica;
    },
    trace: (name) => readTrace(tracePath(name)),
    async stopAll() {
      for (const replica of replicas.values()) replica.kill("SIGKILL");
      await Promise.all([...replicas.values()].map((replica) => replica.exited));
    },
  };
  return result;
}

test("3 replicas, 1,000 parents: each is assigned at once, synced by its member only, cached by it alone", async (t) => {
  const c = await cluster("shards-1k");
  const { namespace, operator } = c;
  const parentCount = 1_000;
  const informer = new Informer({ client: clientListWatch(admin), type: Chore, namespace });
  const abort = new AbortController();
  const created = new Map<string, number>();
  const assignedAt = new Map<string, number>();
  informer.addHandler({
    add: (chore) => {
      if (chore.metadata.labels?.[shardLabel(operator)])
        assignedAt.set(chore.metadata.name!, Date.now());
    },
    update: (_old, chore) => {
      const name = chore.metadata.name!;
      if (!assignedAt.has(name) && chore.metadata.labels?.[shardLabel(operator)])
        assignedAt.set(name, Date.now());
    },
  });
  try {
    for (const name of ["a", "b", "c"]) await c.start(name);
    const replicas = [...c.replicas.values()];
    // Every replica sees the three members before the parents come.
    await eventually(async () => {
      for (const replica of replicas) {
        const samples = await scrape(replica);
        if (samples.get(`operon_shard_ring_members{operator="${operator}"}`) !== 3) return false;
      }
      return true;
    });
    informer.start(abort.signal);
    await informer.waitForSync(abort.signal);

    const started = Date.now();
    await mapLimit(
      Array.from({ length: parentCount }, (_, i) => i),
      24,
      async (i) => {
        const before = Date.now();
        await admin.create(Chore, {
          metadata: { name: choreName(i), namespace },
          spec: { value: `v${i}` },
        });
        created.set(choreName(i), before);
      },
    );
    t.diagnostic(`created ${parentCount} parents in ${Date.now() - started} ms`);
    await eventually(() => notConverged(admin, namespace).then((missing) => !missing), {
      timeoutMs: 300_000,
      intervalMs: 2_000,
      message: "every parent converged",
    });
    t.diagnostic(`converged ${Date.now() - started} ms after the first create`);

    // A thousand parents at once queue up behind each other (and behind the syncs): all are
    // assigned, within seconds.
    const delays = (names: Iterable<string>) =>
      [...names]
        .map((name) => (assignedAt.get(name) ?? Number.POSITIVE_INFINITY) - created.get(name)!)
        .sort((x, y) => x - y);
    const bulk = delays(created.keys());
    t.diagnostic(
      `assignment of the bulk: median ${bulk[bulk.length >> 1]} ms, max ${bulk.at(-1)} ms after the create`,
    );
    assert.ok(bulk.at(-1)! <= 30_000, `slowest assignment in the bulk: ${bulk.at(-1)} ms`);
    // A parent created on its own is assigned within a second.
    const single: string[] = [];
    for (let i = parentCount; i < parentCount + 10; i++) {
      created.set(choreName(i), Date.now());
      await admin.create(Chore, {
        metadata: { name: choreName(i), namespace },
        spec: { value: `v${i}` },
      });
      single.push(choreName(i));
      await eventually(() => assignedAt.has(choreName(i)), { timeoutMs: 10_000, intervalMs: 20 });
    }
    const alone = delays(single);
    t.diagnostic(`assignment of single parents: ${alone.join(", ")} ms after the create`);
    assert.ok(alone[alone.length >> 1]! <= 1_000, `median ${alone[alone.length >> 1]} ms`);
    assert.ok(alone.at(-1)! <= 2_000, `slowest ${alone.at(-1)} ms`);
    await Promise.all(single.map((name) => admin.delete(Chore, name, { namespace })));
    await eventually(
      async () => (await admin.list(Chore, { namespace })).items.length === parentCount,
    );

    // Every parent and child carries the shard of one of the three members.
    const memberOf = new Map([...c.members].map(([name, member]) => [member, name]));
    const chores = (await admin.list(Chore, { namespace })).items;
    const shardOf = new Map<string, string>();
    for (const chore of chores) {
      const shard = chore.metadata.labels?.[shardLabel(operator)];
      assert.ok(shard && memberOf.has(shard), `${chore.metadata.name} assigned to ${shard}`);
      assert.equal(chore.metadata.labels?.[drainLabel(operator)], undefined);
      shardOf.set(`${namespace}/${chore.metadata.name}`, shard);
    }
    // The deleted parents' children are kube-controller-manager's to collect (its garbage
    // collector resolves a new CRD's kind only after its next discovery): count the live ones.
    const children = await childrenOfLive(namespace, operator, chores);
    assert.equal(children.length, parentCount);
    for (const child of children)
      assert.equal(
        child.metadata.labels?.[shardLabel(operator)],
        shardOf.get(`${namespace}/${child.metadata.name}`),
        `${child.metadata.name} is with its parent's shard`,
      );

    // Each replica's informers hold its share, and only it: the stores, as the replicas' own
    // metrics count them.
    let total = 0;
    // Children of the deleted single parents not collected yet still carry their member's label.
    const labelled = (await admin.list(ConfigMap, { namespace })).items.filter(
      (cm) => cm.metadata.labels?.["app.kubernetes.io/managed-by"] === operator,
    );
    for (const [name, replica] of c.replicas) {
      const member = c.members.get(name)!;
      const share = [...shardOf.values()].filter((shard) => shard === member).length;
      const samples = await scrape(replica);
      const parents = samples.get(
        `operon_cache_objects{resource="manager.test.operon.dev/v1/Chore"}`,
      );
      const configMaps = samples.get(`operon_cache_objects{resource="v1/ConfigMap"}`);
      t.diagnostic(
        `${name}: ${share} parents assigned; caches ${parents} parents, ${configMaps} ConfigMaps`,
      );
      assert.equal(parents, share, `${name}'s parent store holds its share`);
      const shardChildren = labelled.filter(
        (cm) => cm.metadata.labels?.[shardLabel(operator)] === member,
      ).length;
      assert.equal(configMaps, shardChildren, `${name}'s child store holds its share's children`);
      assert.ok(share <= 0.4 * parentCount, `${name} holds ${share} of ${parentCount}`);
      total += share;
    }
    assert.equal(total, parentCount);

    // Each parent was synced by its member and no other replica, ever.
    const syncedBy = new Map<string, Set<string>>();
    for (const name of c.replicas.keys()) {
      for (const line of c.trace(name)) {
        const set = syncedBy.get(line.k) ?? new Set<string>();
        syncedBy.set(line.k, set);
        set.add(name);
      }
    }
    for (const [key, names] of syncedBy) {
      if (!shardOf.has(key)) continue; // one of the single parents, deleted since
      assert.deepEqual(
        [...names],
        [memberOf.get(shardOf.get(key)!)],
        `${key} synced by ${[...names]}`,
      );
    }
  } finally {
    abort.abort();
    await informer.stop();
    await c.stopAll();
  }
});

/** Lease timings of the scale test: short, so a SIGKILL costs seconds, within client-go's rules. */
const leaseDurationMs = 8_000;
const retryPeriodMs = 1_000;
/** How long a parent may go without a live member: the Lease (plus a leader's takeover) and a few seconds. */
const unownedBoundMs = leaseDurationMs + 2.2 * retryPeriodMs + 5_000;

interface Interval {
  replica: string;
  start: number;
  end: number;
}

/** Each replica's syncs of each parent as intervals; a sync cut by SIGKILL ends at the kill. */
function syncIntervals(c: Cluster, killedAt: Map<string, number>): Map<string, Interval[]> {
  const byKey = new Map<string, Interval[]>();
  const add = (key: string, interval: Interval) => {
    const list = byKey.get(key) ?? [];
    byKey.set(key, list);
    list.push(interval);
  };
  for (const name of c.replicas.keys()) {
    const open = new Map<string, number>();
    for (const line of c.trace(name)) {
      if (line.e === "start") {
        open.set(line.k, line.t);
        continue;
      }
      const start = open.get(line.k);
      if (start === undefined) continue;
      open.delete(line.k);
      add(line.k, { replica: name, start, end: line.t });
    }
    for (const [key, start] of open)
      add(key, { replica: name, start, end: killedAt.get(name) ?? Number.POSITIVE_INFINITY });
  }
  return byKey;
}

test("3 → 5 → 2 replicas with churn, a member and the coordinator killed: never two at once, never unowned for long, a single operator's end state", async (t) => {
  const c = await cluster(
    "shards-scale",
    [
      "--leader-elect-lease-duration",
      `${leaseDurationMs / 1000}s`,
      "--leader-elect-renew-deadline",
      "5s",
      "--leader-elect-retry-period",
      `${retryPeriodMs / 1000}s`,
    ],
    // Syncs take a while, so drains find syncs in progress.
    { CHORES_DELAY_MS: "150" },
  );
  const { namespace, operator } = c;
  const killedAt = new Map<string, number>();
  const running = (name: string) =>
    !killedAt.has(name) && c.replicas.get(name)?.process.exitCode === null;
  const liveMembers = () =>
    [...c.members].filter(([name]) => running(name)).map(([, member]) => member);

  // The parents, changing all along while `churning`.
  let next = 0;
  const names = new Set<string>();
  const create = async () => {
    const name = choreName(next++);
    await admin.create(Chore, { metadata: { name, namespace }, spec: { value: `v${next}` } });
    names.add(name);
  };
  await mapLimit(Array.from({ length: 150 }), 16, create);
  let churning = false;
  let stop = false;
  const churn = (async () => {
    let round = 0;
    while (!stop) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      if (!churning) continue;
      round++;
      const list = [...names];
      const pick = list[Math.floor(Math.random() * list.length)]!;
      try {
        if (round % 5 === 0) await create();
        else if (round % 7 === 0) {
          names.delete(pick);
          await admin.delete(Chore, pick, { namespace });
        } else {
          await admin.patch(
            Chore,
            pick,
            { spec: { value: `r${round}` } },
            { namespace, type: "merge" },
          );
        }
      } catch {
        // A parent deleted meanwhile: the next round picks another.
      }
    }
  })();

  // The server's view every 250 ms: how long each parent went without a live member.
  const unownedSince = new Map<string, number>();
  let longestUnowned = { ms: 0, key: "" };
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const chores = await admin.list(Chore, { namespace }).catch(() => undefined);
      const now = Date.now();
      const live = new Set(liveMembers());
      const seen = new Set<string>();
      for (const chore of chores?.items ?? []) {
        const key = chore.metadata.name!;
        seen.add(key);
        const shard = chore.metadata.labels?.[shardLabel(operator)];
        if (shard && live.has(shard)) {
          unownedSince.delete(key);
          continue;
        }
        const since = unownedSince.get(key) ?? now;
        unownedSince.set(key, since);
        if (now - since > longestUnowned.ms) longestUnowned = { ms: now - since, key };
      }
      for (const key of unownedSince.keys()) if (!seen.has(key)) unownedSince.delete(key);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();

  /** Churns while `change` happens, until every parent is where the ring of live members says. */
  const phase = async (what: string, change: () => Promise<void>) => {
    const started = Date.now();
    churning = true;
    await change();
    const settled = await eventually(
      async () => {
        const ring = new HashRing(liveMembers());
        const chores = (await admin.list(Chore, { namespace })).items;
        const misplaced = chores.filter((chore) => {
          const labels = chore.metadata.labels ?? {};
          const key = `${namespace}/${chore.metadata.name}`;
          return labels[shardLabel(operator)] !== ring.owner(key) || labels[drainLabel(operator)];
        });
        return misplaced.length === 0 ? Date.now() : undefined;
      },
      {
        timeoutMs: 120_000,
        intervalMs: 500,
        message: `${what}: every parent with its ring member`,
      },
    );
    churning = false;
    await eventually(() => notConverged(admin, namespace).then((missing) => !missing), {
      timeoutMs: 120_000,
      intervalMs: 1_000,
      message: `${what}: converged`,
    });
    t.diagnostic(`${what}: parents with their members after ${settled - started} ms`);
  };
  const coordinator = async () => {
    const lease = await admin.get(Lease, `${operator}-leader`, { namespace });
    for (const [name, replica] of c.replicas) {
      if (running(name) && (await replica.identity()) === lease.spec?.holderIdentity) return name;
    }
    return undefined;
  };
  const kill = async (name: string) => {
    killedAt.set(name, Date.now());
    c.replicas.get(name)!.kill("SIGKILL");
    await c.replicas.get(name)!.exited;
  };

  try {
    await phase("3 replicas", async () => {
      for (const name of ["a", "b", "c"]) await c.start(name);
    });
    await phase("3 → 5", async () => {
      await Promise.all(["d", "e"].map((name) => c.start(name)));
    });
    const leader = await eventually(coordinator);
    const member = ["b", "c", "d", "e"].find((name) => name !== leader)!;
    await phase(`SIGKILL member ${member}`, () => kill(member));
    await phase(`SIGKILL the coordinator ${leader}`, async () => {
      await kill(leader);
      // Assignment continues: a parent created now gets a member from the new coordinator.
      await create();
    });
    const newLeader = await eventually(coordinator, { message: "a new coordinator" });
    assert.notEqual(newLeader, leader);
    const leaving = [...c.replicas.keys()]
      .filter((name) => running(name) && name !== newLeader)
      .slice(0, 1);
    await phase("→ 2 (SIGTERM)", async () => {
      for (const name of leaving) {
        const replica = c.replicas.get(name)!;
        replica.kill("SIGTERM");
        const exit = await replica.exited;
        assert.equal(exit.code, 0, `${name} stopped cleanly; last lines:\n${replica.tail()}`);
        assert.ok(replica.logged("left the shard ring"), `${name} left the ring`);
      }
    });
    assert.equal(liveMembers().length, 2);
    stop = true;
    await churn;
    polling = false;
    await poller;

    // Never two replicas syncing one parent at once.
    const intervals = syncIntervals(c, killedAt);
    let compared = 0;
    for (const [key, list] of intervals) {
      list.sort((x, y) => x.start - y.start);
      for (let i = 1; i < list.length; i++) {
        const earlier = list.slice(0, i).filter((other) => other.replica !== list[i]!.replica);
        for (const other of earlier) {
          compared++;
          assert.ok(
            other.end <= list[i]!.start,
            `${key}: ${other.replica} synced ${other.start}–${other.end}, ${list[i]!.replica} from ${list[i]!.start}`,
          );
        }
      }
    }
    const movedParents = [...intervals.values()].filter(
      (list) => new Set(list.map((i) => i.replica)).size > 1,
    ).length;
    t.diagnostic(
      `${movedParents} parents were synced by more than one replica over time, never at once (${compared} pairs compared)`,
    );
    assert.ok(movedParents > 0, "parents did move");

    // Never without a live member for longer than the bound.
    t.diagnostic(`longest without a live member: ${longestUnowned.ms} ms (${longestUnowned.key})`);
    assert.ok(
      longestUnowned.ms <= unownedBoundMs,
      `${longestUnowned.key} had no live member for ${longestUnowned.ms} ms`,
    );

    // The end state is a single operator's: converged (checked by the last phase), every child
    // with its parent's member, no drain label, and the departed members' Leases removed.
    const chores = (await admin.list(Chore, { namespace })).items;
    const live = new Set(liveMembers());
    for (const chore of chores) {
      assert.ok(live.has(chore.metadata.labels?.[shardLabel(operator)] ?? ""));
      assert.equal(chore.metadata.labels?.[drainLabel(operator)], undefined);
    }
    const byName = new Map(chores.map((chore) => [chore.metadata.name!, chore]));
    const children = await childrenOfLive(namespace, operator, chores);
    assert.equal(children.length, chores.length);
    for (const child of children)
      assert.equal(
        child.metadata.labels?.[shardLabel(operator)],
        byName.get(child.metadata.name!)?.metadata.labels?.[shardLabel(operator)],
      );
    await eventually(
      async () => {
        const leases = await admin.list(Lease, {
          namespace,
          labelSelector: `operon.dev/shard-ring=${operator}`,
        });
        const holders = leases.items.map((lease) => lease.spec?.holderIdentity).sort();
        return JSON.stringify(holders) === JSON.stringify([...live].sort());
      },
      { timeoutMs: 4 * leaseDurationMs, message: "only the live members' Leases are left" },
    );
  } finally {
    stop = true;
    polling = false;
    await churn;
    await poller;
    await c.stopAll();
  }
});

/** The ConfigMaps `operator` manages in `namespace` whose owner is one of `parents`. */
async function childrenOfLive(namespace: string, operator: string, parents: KubeObject[]) {
  const live = new Set(parents.map((parent) => parent.metadata.uid));
  return (await admin.list(ConfigMap, { namespace })).items.filter(
    (cm) =>
      cm.metadata.labels?.["app.kubernetes.io/managed-by"] === operator &&
      cm.metadata.ownerReferences?.some((owner) => owner.controller && live.has(owner.uid)),
  );
}
