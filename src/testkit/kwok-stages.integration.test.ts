/**
 * The simulated nodes on the real control plane: what Pods and Job Pods do by default, and what
 * each `operon.dev/simulate` value and `operon.dev/simulate-after` make of them.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { KubeClient } from "../client/client.ts";
import { Job } from "../resources/batch.ts";
import { Pod, type PodSpec } from "../resources/core.ts";
import { simulatePod } from "./kwok-stages.ts";
import { eventually } from "./operator-harness.ts";
import { testControlPlane } from "./shared.ts";

let client: KubeClient;
let namespace: string;

const container = { name: "app", image: "registry.example.com/app:1" };

function condition(pod: Pod | undefined, type: string): string | undefined {
  return pod?.status?.conditions?.find((c) => c.type === type)?.status;
}

async function pod(
  name: string,
  annotations: Record<string, string> = {},
  spec: Partial<PodSpec> = {},
) {
  return client.create(Pod, {
    metadata: { name, namespace, annotations },
    spec: { containers: [container], terminationGracePeriodSeconds: 0, ...spec },
  });
}

async function job(name: string, annotations: Record<string, string> = {}) {
  return client.create(Job, {
    metadata: { name, namespace },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { annotations },
        spec: { restartPolicy: "Never", containers: [container] },
      },
    },
  });
}

const read = (name: string) => client.get(Pod, name, { namespace });
const readJob = (name: string) => client.get(Job, name, { namespace });
const jobCondition = async (name: string, type: string) =>
  (await readJob(name)).status?.conditions?.find((c) => c.type === type)?.status === "True";

describe("simulated nodes", { timeout: 5 * 60_000 }, () => {
  before(async () => {
    const plane = await testControlPlane();
    namespace = await plane.createNamespace("kwok");
    client = await KubeClient.fromKubeConfig({ kubeconfig: plane.kubeconfigPath });
  });
  after(() => client?.close());

  test("by default a Pod becomes Running and Ready", async () => {
    await pod("plain");
    const ready = await eventually(async () => {
      const current = await read("plain");
      return condition(current, "Ready") === "True" ? current : undefined;
    });
    assert.equal(ready.status?.phase, "Running");
    assert.ok(ready.status?.podIP, "it has an IP");
    assert.equal(ready.status?.containerStatuses?.[0]?.ready, true);
  });

  test("pending, running and fail-by-crash-loop hold their state", async () => {
    await pod("stays-pending", simulatePod("pending"));
    await pod("never-ready", simulatePod("running"));
    await pod("crash-loop", simulatePod("fail"));
    await pod("witness");
    // Once a Pod created after them is Ready, kwok has had its turn at them all.
    await eventually(async () => condition(await read("witness"), "Ready") === "True");
    const crashing = await eventually(async () => {
      const current = await read("crash-loop");
      return current.status?.containerStatuses?.[0]?.state?.waiting ? current : undefined;
    });
    await new Promise((resolve) => setTimeout(resolve, 5_000));

    const pending = await read("stays-pending");
    assert.equal(pending.status?.phase, "Pending");
    assert.ok(pending.spec?.nodeName, "it is bound to a node");

    const running = await read("never-ready");
    assert.equal(running.status?.phase, "Running");
    assert.equal(condition(running, "Ready"), "False");
    assert.ok(running.status?.containerStatuses?.[0]?.state?.running, "its container runs");

    const crashLoop = await read("crash-loop");
    assert.equal(crashLoop.status?.phase, "Running", "restartPolicy Always: not Failed");
    assert.equal(condition(crashLoop, "Ready"), "False");
    const status = crashLoop.status?.containerStatuses?.[0];
    assert.equal(status?.state?.waiting?.reason, "CrashLoopBackOff");
    assert.equal(status?.lastState?.terminated?.exitCode, 1);
    assert.equal(status?.restartCount, 1);
    assert.equal(crashLoop.metadata.resourceVersion, crashing.metadata.resourceVersion, "stable");
  });

  test("fail with restartPolicy Never: the Pod is Failed, exit code 1", async () => {
    await pod("fails", simulatePod("fail"), { restartPolicy: "Never" });
    const failed = await eventually(async () => {
      const current = await read("fails");
      return current.status?.phase === "Failed" ? current : undefined;
    });
    assert.equal(failed.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 1);
  });

  test("succeed: any Pod runs to completion", async () => {
    await pod("completes", simulatePod("succeed"), { restartPolicy: "Never" });
    const done = await eventually(async () => {
      const current = await read("completes");
      return current.status?.phase === "Succeeded" ? current : undefined;
    });
    assert.equal(done.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 0);
  });

  test("simulate-after delays readiness: Running and not Ready until then", async () => {
    const created = Date.now();
    await pod("slow", simulatePod("ready", { after: "6s" }));
    const started = await eventually(async () => {
      const current = await read("slow");
      return current.status?.phase === "Running" ? current : undefined;
    });
    const startedAt = Date.now();
    assert.equal(condition(started, "Ready"), "False", "running, not ready yet");
    await eventually(async () => condition(await read("slow"), "Ready") === "True", {
      timeoutMs: 60_000,
    });
    const readyAfterMs = Date.now() - created;
    // Generous bounds for a loaded machine: not before the delay, and the delay did apply.
    assert.ok(readyAfterMs >= 5_000, `ready after ${readyAfterMs} ms`);
    assert.ok(Date.now() - startedAt >= 3_000, "it was Running and not Ready for a while");
  });

  test("simulate-after delays a failure and a completion as well", async () => {
    const created = Date.now();
    await pod("fails-later", simulatePod("fail", { after: "4s" }), { restartPolicy: "Never" });
    await pod("completes-later", simulatePod("succeed", { after: "4s" }), {
      restartPolicy: "Never",
    });
    const running = await eventually(async () => {
      const current = await read("fails-later");
      return current.status?.phase === "Running" ? current : undefined;
    });
    assert.equal(condition(running, "Ready"), "False");
    await eventually(async () => (await read("fails-later")).status?.phase === "Failed");
    await eventually(async () => (await read("completes-later")).status?.phase === "Succeeded");
    assert.ok(Date.now() - created >= 3_500, `finished after ${Date.now() - created} ms`);
  });

  test("a Job's Pod succeeds by default: the Job completes", async () => {
    await job("completes");
    await eventually(() => jobCondition("completes", "Complete"), { timeoutMs: 90_000 });
    assert.equal((await readJob("completes")).status?.succeeded, 1);
  });

  test("a Job whose Pod fails (restartPolicy Never, backoffLimit 0) fails", async () => {
    await job("fails", simulatePod("fail"));
    await eventually(() => jobCondition("fails", "Failed"), { timeoutMs: 90_000 });
    const failed = await readJob("fails");
    assert.equal(failed.status?.failed, 1);
    assert.equal(
      failed.status?.conditions?.find((c) => c.type === "Failed")?.reason,
      "BackoffLimitExceeded",
    );
  });

  test("a Job's Pod marked ready keeps running: the Job stays active", async () => {
    await job("long-running", simulatePod("ready"));
    await eventually(async () => (await readJob("long-running")).status?.ready === 1, {
      timeoutMs: 90_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const active = await readJob("long-running");
    assert.equal(active.status?.active, 1);
    assert.equal(active.status?.succeeded ?? 0, 0);
    assert.equal(active.status?.completionTime, undefined);
  });
});
