/**
 * Kubernetes Events under a failure storm, against the real API server: a parent whose sync
 * fails in a tight loop costs a handful of Event writes (one Event, its series patched at most
 * once per interval), while the Event's series count keeps rising with the failures.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { KubeClient } from "../client/client.ts";
import type { RequestMetric } from "../client/request.ts";
import { silentLogger } from "../logger.ts";
import { Event } from "../resources/events.ts";
import type { ControlPlane } from "../testkit/control-plane.ts";
import { eventually } from "../testkit/operator-harness.ts";
import { testControlPlane } from "../testkit/shared.ts";
import { installCustomResources } from "./install.ts";
import { Manager } from "./manager.ts";
import { Chore, choreOperator } from "./testdata/chores.ts";

let plane: ControlPlane;
let admin: KubeClient;

before(async () => {
  plane = await testControlPlane();
  admin = await KubeClient.fromKubeConfig({
    kubeconfig: plane.kubeconfigPath,
    fieldManager: "test-admin",
  });
  await installCustomResources(admin, [Chore]);
});

after(async () => {
  await admin?.close();
});

test("a parent failing in a tight loop: a handful of Event writes, a rising series count", async (t) => {
  const namespace = await plane.createNamespace("event-storm");
  const name = `chores-${randomBytes(3).toString("hex")}`;
  const seriesIntervalMs = 2_000;
  const eventWrites: RequestMetric[] = [];
  let failures = 0;
  const manager = new Manager({
    client: ({ metrics }) =>
      KubeClient.fromKubeConfig({
        kubeconfig: plane.kubeconfigPath,
        metrics: {
          request(metric) {
            metrics.request?.(metric);
            if (metric.resource === "events" && metric.verb !== "get" && metric.verb !== "list")
              eventWrites.push(metric);
          },
        },
      }),
    logger: silentLogger,
    events: { seriesIntervalMs },
    onOutcome: (_operator, _key, outcome) => {
      if (outcome.error) failures++;
    },
  });
  manager.add(choreOperator({ name, namespace }));
  await manager.start();
  const seriesCount = async () => {
    const events = (await admin.list(Event, { namespace })).items.filter(
      (event) => event.regarding?.name === "broken" && event.reason === "SyncFailed",
    );
    assert.equal(events.length, 1, "one Event for all the repeats");
    return events[0]!.series?.count ?? 1;
  };
  const counts: number[] = [];
  try {
    await admin.create(Chore, {
      metadata: { name: "broken", namespace },
      spec: { value: "x", fail: true },
    });
    // A change of the parent's annotations queues it at once, whatever its backoff: a tight
    // loop of failing syncs for as long as the test pokes it.
    const started = Date.now();
    for (let poke = 0; Date.now() - started < 4 * seriesIntervalMs; poke++) {
      await admin.patch(
        Chore,
        "broken",
        { metadata: { annotations: { poke: String(poke) } } },
        { namespace },
      );
      await sleep(40);
      if (poke % 25 === 24) counts.push(await seriesCount().catch(() => 0));
    }
    await manager.runtime(name)!.recorder.flush();
    counts.push(await seriesCount());
    const elapsed = Date.now() - started;

    t.diagnostic(
      `${failures} failed syncs in ${elapsed} ms: ${eventWrites.length} Event writes, series counts ${counts.join(", ")}`,
    );
    assert.ok(failures >= 25, `only ${failures} failed syncs: not a tight loop`);
    const creates = eventWrites.filter((m) => m.verb === "create");
    const patches = eventWrites.filter((m) => m.verb === "patch");
    assert.equal(creates.length, 1, "one Event created");
    assert.ok(
      patches.length <= Math.ceil(elapsed / seriesIntervalMs) + 1,
      `${patches.length} series patches in ${elapsed} ms`,
    );
    assert.ok(eventWrites.length <= 7, `${eventWrites.length} Event writes is not a handful`);
    assert.ok(eventWrites.length * 3 < failures, "writes grow with time, not with failures");
    assert.ok(
      eventWrites.every((m) => m.code >= 200 && m.code < 300),
      "every Event write succeeded",
    );
    const rising = counts.filter((count) => count > 0);
    assert.ok(rising.length >= 2, `series counts seen: ${counts.join(", ")}`);
    for (let i = 1; i < rising.length; i++)
      assert.ok(rising[i]! >= rising[i - 1]!, `series count went down: ${counts.join(", ")}`);
    assert.ok(rising.at(-1)! > rising[0]!, `series count did not rise: ${counts.join(", ")}`);
    assert.ok(rising.at(-1)! >= 10, `series count ${rising.at(-1)} for ${failures} failures`);
  } finally {
    await manager.stop();
  }
  await eventually(async () => (await seriesCount()) > 0);
});
