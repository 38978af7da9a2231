/**
 * A leader that loses its Lease, as real `operon run --leader-elect` processes: it stops and
 * exits 1, before another replica may start. Two ways to lose it: someone else's name appears
 * in the Lease, and the leader cannot reach the API server (a proxy between them stops
 * forwarding) while a standby can.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { KubeClient } from "../client/client.ts";
import { Lease } from "../resources/coordination.ts";
import type { ControlPlane } from "../testkit/control-plane.ts";
import { eventually } from "../testkit/operator-harness.ts";
import { microTime } from "./leader-election.ts";
import { Chore } from "./testdata/chores.ts";
import { notConverged } from "./testdata/converged.ts";
import { Replica, readTrace } from "./testdata/replica.ts";
import { type ChoresTestbed, openChoresTestbed } from "./testdata/testbed.ts";

let plane: ControlPlane;
let admin: KubeClient;
let dir: string;

let testbed: ChoresTestbed | undefined;
before(async () => {
  testbed = await openChoresTestbed("operon-lease-loss-");
  ({ plane, admin, dir } = testbed);
});
after(() => testbed?.close());

const renewDeadlineMs = 10_000;
const retryPeriodMs = 2_000;
const leaseDurationMs = 15_000;

function replica(name: string, namespace: string, lease: string, kubeconfig: string): Replica {
  return new Replica({
    name,
    kubeconfig,
    flags: [
      "--leader-elect",
      "--leader-election-namespace",
      namespace,
      "--leader-election-id",
      lease,
    ],
    env: {
      CHORES_NAMESPACE: namespace,
      CHORES_TRACE: join(dir, `${namespace}-${name}.trace`),
      CHORES_REQUEUE_MS: "500",
      CHORES_STAMP: "1",
    },
  });
}

test("another holder written into the Lease: the leader stops at its next renewal and exits 1", async () => {
  const namespace = await plane.createNamespace("stolen");
  const lease = `chores-${randomBytes(3).toString("hex")}`;
  await admin.create(Chore, { metadata: { name: "one", namespace }, spec: { value: "1" } });
  const a = replica("a", namespace, lease, plane.kubeconfigPath);
  try {
    await a.waitForMessage("elected leader; operators running");
    await eventually(() => notConverged(admin, namespace).then((missing) => !missing));
    const current = await admin.get(Lease, lease, { namespace });
    await admin.update(Lease, {
      ...current,
      spec: { ...current.spec, holderIdentity: "intruder", renewTime: microTime(Date.now()) },
    });
    const stolen = Date.now();
    const exit = await a.exited;
    assert.equal(exit.code, 1, `exit code; last lines:\n${a.tail()}`);
    assert.ok(
      exit.at - stolen < retryPeriodMs + renewDeadlineMs,
      `exited ${exit.at - stolen} ms after the Lease changed hands`,
    );
    const lost = a.logged("leader election lost; stopped writing");
    assert.ok(lost, "logged why");
    assert.match(String(lost.reason), /held by intruder/);
    const lostAt = Date.parse(lost.time);
    const starts = readTrace(join(dir, `${namespace}-a.trace`)).filter((l) => l.e === "start");
    assert.ok(
      starts.every((line) => line.t <= lostAt),
      "no sync started once the loss was known",
    );
    const after = await admin.get(Lease, lease, { namespace });
    assert.equal(after.spec?.holderIdentity, "intruder", "the loser wrote nothing over it");
  } finally {
    a.kill("SIGKILL");
  }
});

/** A TCP proxy to the API server that can stop forwarding without closing anything. */
class TcpProxy {
  readonly server: Server;
  readonly #sockets = new Set<Socket>();
  #blackhole = false;

  constructor(target: URL) {
    this.server = createServer((client) => {
      this.#sockets.add(client);
      client.on("close", () => this.#sockets.delete(client));
      client.on("error", () => {});
      if (this.#blackhole) return; // accepted, never answered
      const upstream = connect(Number(target.port), target.hostname);
      this.#sockets.add(upstream);
      upstream.on("close", () => this.#sockets.delete(upstream));
      upstream.on("error", () => client.destroy());
      client.on("error", () => upstream.destroy());
      client.on("data", (data) => {
        if (!this.#blackhole) upstream.write(data);
      });
      upstream.on("data", (data) => {
        if (!this.#blackhole) client.write(data);
      });
      client.on("end", () => upstream.end());
      upstream.on("end", () => client.end());
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return (this.server.address() as { port: number }).port;
  }

  /** From now on bytes go nowhere: requests hang, as across a network partition. */
  partition(): void {
    this.#blackhole = true;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

test("a leader cut off from the API server gives up at the renew deadline, before a standby takes over", async (t) => {
  const namespace = await plane.createNamespace("partition");
  const lease = `chores-${randomBytes(3).toString("hex")}`;
  const proxy = new TcpProxy(new URL(plane.server));
  const port = await proxy.listen();
  const proxied = join(dir, `${namespace}.kubeconfig`);
  const serverPort = new URL(plane.server).port;
  writeFileSync(
    proxied,
    readFileSync(plane.kubeconfigPath, "utf8").replaceAll(
      `127.0.0.1:${serverPort}`,
      `127.0.0.1:${port}`,
    ),
  );
  await admin.create(Chore, { metadata: { name: "one", namespace }, spec: { value: "1" } });
  const a = replica("a", namespace, lease, proxied);
  let b: Replica | undefined;
  try {
    await a.waitForMessage("elected leader; operators running");
    b = replica("b", namespace, lease, plane.kubeconfigPath);
    await b.identity();
    await eventually(() => notConverged(admin, namespace).then((missing) => !missing));
    await eventually(() => readTrace(join(dir, `${namespace}-a.trace`)).length > 4);

    proxy.partition();
    const cut = Date.now();
    const exit = await a.exited;
    assert.equal(exit.code, 1, `exit code; last lines:\n${a.tail()}`);
    const lost = a.logged("leader election lost; stopped writing");
    assert.match(String(lost?.reason), /could not renew the lease within the renew deadline/);
    // The renewal cycle under way when the link went starts at most one retry period later
    // and ends at the deadline.
    assert.ok(
      exit.at - cut <= retryPeriodMs + renewDeadlineMs + 3_000,
      `exited ${exit.at - cut} ms after the cut`,
    );
    t.diagnostic(`the cut-off leader exited ${exit.at - cut} ms after the cut`);

    const elected = await b.waitForMessage("elected leader; operators running", 60_000);
    const electedAt = Date.parse(elected.time);
    t.diagnostic(`the standby took over ${electedAt - cut} ms after the cut`);
    assert.ok(exit.at < electedAt, "the old leader was gone before the new one started");
    assert.ok(electedAt - cut <= leaseDurationMs + retryPeriodMs * 2.2 + 3_000);
    const traceA = readTrace(join(dir, `${namespace}-a.trace`));
    await eventually(() => readTrace(join(dir, `${namespace}-b.trace`)).length > 0);
    const traceB = readTrace(join(dir, `${namespace}-b.trace`));
    assert.ok(traceA.at(-1)!.t < traceB[0]!.t, "a's last sync came before b's first: no overlap");
    await eventually(async () => {
      const chore = await admin.get(Chore, "one", { namespace });
      return (chore.status as { writer?: string }).writer === "b";
    });
  } finally {
    a.kill("SIGKILL");
    b?.kill("SIGKILL");
    await proxy.close();
  }
});
