/**
 * Graceful shutdown with real processes: `operon run` gets SIGTERM while syncs run, finishes
 * them (or aborts them past the timeout), exits 0, and a second instance converges every parent,
 * so no work is lost, whether it was running, interrupted or not started yet.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { KubeClient } from "../client/client.ts";
import type { ControlPlane } from "../testkit/control-plane.ts";
import { eventually } from "../testkit/operator-harness.ts";
import { Chore } from "./testdata/chores.ts";
import { notConverged } from "./testdata/converged.ts";
import { Replica, readTrace } from "./testdata/replica.ts";
import { type ChoresTestbed, openChoresTestbed } from "./testdata/testbed.ts";

let plane: ControlPlane;
let admin: KubeClient;
let dir: string;

let testbed: ChoresTestbed | undefined;
before(async () => {
  testbed = await openChoresTestbed("operon-shutdown-");
  ({ plane, admin, dir } = testbed);
});
after(() => testbed?.close());

async function createChores(namespace: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await admin.create(Chore, {
      metadata: { name: `chore-${i}`, namespace },
      spec: { value: `value-${i}` },
    });
  }
}

function settings(namespace: string, extra: Record<string, string> = {}) {
  return {
    CHORES_NAMESPACE: namespace,
    CHORES_OPERATOR: `chores-${randomBytes(3).toString("hex")}`,
    CHORES_TRACE: join(dir, `${namespace}.trace`),
    ...extra,
  };
}

test("SIGTERM mid-sync: running syncs finish, the process exits 0, the next instance converges the rest", async () => {
  const namespace = await plane.createNamespace("shutdown");
  const env = settings(namespace, { CHORES_CONCURRENCY: "2" });
  await createChores(namespace, 5);
  const first = new Replica({
    name: "first",
    kubeconfig: plane.kubeconfigPath,
    env: { ...env, CHORES_DELAY_MS: "4000" },
  });
  try {
    await eventually(() => readTrace(env.CHORES_TRACE).filter((l) => l.e === "start").length >= 2, {
      message: "the first instance started two syncs",
    });
    first.kill("SIGTERM");
    const exit = await first.exited;
    assert.equal(exit.code, 0, `exit code; last lines:\n${first.tail()}`);

    const trace = readTrace(env.CHORES_TRACE);
    const started = trace.filter((l) => l.e === "start").map((l) => l.k);
    const ended = trace.filter((l) => l.e === "end").map((l) => l.k);
    assert.ok(started.length >= 2 && started.length < 5, `started ${started.length} of 5`);
    assert.deepEqual(ended.sort(), started.sort(), "every sync running at SIGTERM finished");
    assert.ok(first.logged("shutting down"), "logged the signal");
    assert.ok(first.logged("stopped"), "logged the end of the shutdown");
    const created = first.logs.find((line) => line.msg.startsWith("created ConfigMap"));
    assert.ok(created, "child creates are logged at info");
    assert.equal(created.level, 30);
    assert.deepEqual(created.created, [created.msg.slice("created ".length)], "one line per sync");
    assert.equal(created.operator, env.CHORES_OPERATOR);
    assert.match(String(created.parent), new RegExp(`^${namespace}/chore-\\d$`));
    assert.match(String(created.reconcileId), /^[0-9a-f-]{36}$/);
    const shutdownAt = Date.parse(first.logged("shutting down")!.time);
    assert.ok(
      trace.filter((l) => l.e === "start").every((l) => l.t <= shutdownAt),
      "no sync started after the signal",
    );
  } finally {
    first.kill("SIGKILL");
  }

  const second = new Replica({
    name: "second",
    kubeconfig: plane.kubeconfigPath,
    env: { ...env, CHORES_DELAY_MS: "100" },
  });
  try {
    await eventually(
      () => notConverged(admin, namespace).then((missing) => missing === undefined),
      {
        message: "every chore converged",
      },
    );
    second.kill("SIGTERM");
    assert.equal((await second.exited).code, 0);
  } finally {
    second.kill("SIGKILL");
  }
  assert.equal(await notConverged(admin, namespace), undefined);
});

test("past the graceful timeout running syncs are aborted, and the next instance redoes them", async () => {
  const namespace = await plane.createNamespace("shutdown-timeout");
  const env = settings(namespace, { CHORES_CONCURRENCY: "2" });
  await createChores(namespace, 3);
  const first = new Replica({
    name: "first",
    kubeconfig: plane.kubeconfigPath,
    flags: ["--graceful-shutdown-timeout", "1s"],
    env: { ...env, CHORES_DELAY_MS: "600000" },
  });
  try {
    await eventually(() => readTrace(env.CHORES_TRACE).filter((l) => l.e === "start").length >= 2, {
      message: "the first instance started two syncs",
    });
    const signalled = Date.now();
    first.kill("SIGTERM");
    const exit = await first.exited;
    assert.equal(exit.code, 0, `exit code; last lines:\n${first.tail()}`);
    assert.ok(exit.at - signalled < 20_000, `exited ${exit.at - signalled} ms after SIGTERM`);
    const trace = readTrace(env.CHORES_TRACE);
    const started = trace.filter((l) => l.e === "start").map((l) => l.k);
    const aborted = trace.filter((l) => l.e === "aborted").map((l) => l.k);
    assert.deepEqual(aborted.sort(), started.sort(), "the running syncs saw their signal abort");
    assert.equal(trace.filter((l) => l.e === "end").length, 0);
    assert.ok(
      first.logged("some syncs did not finish before the shutdown timeout; aborted them"),
      "logged the timeout",
    );
  } finally {
    first.kill("SIGKILL");
  }
  assert.notEqual(await notConverged(admin, namespace), undefined, "nothing converged yet");

  const second = new Replica({
    name: "second",
    kubeconfig: plane.kubeconfigPath,
    env: { ...env, CHORES_DELAY_MS: "100" },
  });
  try {
    await eventually(
      () => notConverged(admin, namespace).then((missing) => missing === undefined),
      {
        message: "every chore converged",
      },
    );
    second.kill("SIGTERM");
    assert.equal((await second.exited).code, 0);
  } finally {
    second.kill("SIGKILL");
  }
});

test("a second signal during the shutdown exits at once with code 1", async () => {
  const namespace = await plane.createNamespace("shutdown-twice");
  const env = settings(namespace);
  await createChores(namespace, 1);
  const replica = new Replica({
    name: "impatient",
    kubeconfig: plane.kubeconfigPath,
    env: { ...env, CHORES_DELAY_MS: "600000" },
  });
  try {
    await eventually(() => readTrace(env.CHORES_TRACE).some((l) => l.e === "start"));
    replica.kill("SIGTERM");
    await replica.waitForMessage("shutting down");
    const second = Date.now();
    replica.kill("SIGTERM");
    const exit = await replica.exited;
    assert.equal(exit.code, 1);
    assert.ok(exit.at - second < 10_000, "did not wait for the 30 s graceful timeout");
    assert.ok(replica.logged("second signal during shutdown; exiting now"));
  } finally {
    replica.kill("SIGKILL");
  }
});
