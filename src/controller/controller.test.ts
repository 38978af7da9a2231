import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { FakeSource } from "../cache/fake-source.ts";
import { Informer } from "../cache/informer.ts";
import type { LogFields, Logger } from "../logger.ts";
import type { KubeObject, ResourceType } from "../resources/object.ts";
import { Controller } from "./controller.ts";

const ConfigMap: ResourceType = {
  apiVersion: "v1",
  kind: "ConfigMap",
  plural: "configmaps",
  namespaced: true,
};

const stops: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()));
});

test("a failing handler is logged under the controller's name and the watched type", async () => {
  const logged: LogFields[] = [];
  const logger: Logger = {
    debug() {},
    info() {},
    warn() {},
    error: (fields) => logged.push(fields),
  };
  const source = new FakeSource();
  source.put({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { namespace: "default", name: "settings" },
  });
  const informer = new Informer<KubeObject>({
    client: source,
    type: ConfigMap,
    logger,
  });
  stops.push(() => informer.stop());
  const controller = new Controller({ name: "widgets", reconcile: async () => ({}) });
  stops.push(() => controller.shutdown(0));
  // The reason is computed per object, as for owned children; the mapping fails.
  controller.watchMapped(
    informer,
    () => {
      throw new Error("mapping failed");
    },
    () => "owned-changed",
  );
  const abort = new AbortController();
  stops.push(async () => abort.abort());
  informer.start(abort.signal);
  const deadline = Date.now() + 5_000;
  while (logged.length === 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.equal(logged[0]?.handler, "widgets/v1/ConfigMap");
});

test("drain lets a running key finish, then runs it no more until resumed", async () => {
  const runs: string[] = [];
  let release: () => void = () => {};
  const controller = new Controller({
    name: "widgets",
    reconcile: async (key) => {
      runs.push(`start ${key}`);
      if (key === "ns/slow") await new Promise<void>((resolve) => (release = resolve));
      runs.push(`end ${key}`);
      return key === "ns/slow" ? { requeueAfterMs: 0 } : undefined;
    },
  });
  stops.push(() => controller.shutdown(0));
  await controller.start();
  controller.enqueue("ns/slow");
  while (!runs.includes("start ns/slow")) await new Promise((resolve) => setTimeout(resolve, 1));
  // Queued again while running: without the drain it would run once more after this run.
  controller.enqueue("ns/slow");
  let drained = false;
  const drain = controller.drain("ns/slow").then(() => {
    drained = true;
  });
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(drained, false, "the drain waits for the run in progress");
  release();
  await drain;
  assert.deepEqual(runs, ["start ns/slow", "end ns/slow"]);
  assert.ok(controller.isDraining("ns/slow"));

  // Events for a drained key are ignored; other keys run as usual.
  controller.enqueue("ns/slow");
  controller.enqueueAfter("ns/slow", 1);
  controller.enqueue("ns/other");
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.deepEqual(runs, ["start ns/slow", "end ns/slow", "start ns/other", "end ns/other"]);
  // Nothing runs: the drain resolves at once.
  await controller.drain("ns/other");

  controller.resume("ns/slow");
  assert.ok(!controller.isDraining("ns/slow"));
  release = () => {};
  controller.enqueue("ns/slow");
  while (runs.filter((line) => line === "start ns/slow").length < 2)
    await new Promise((resolve) => setTimeout(resolve, 1));
  release();
});

test("a standby keeps only the latest trigger per key until its queue starts", async () => {
  const source = new FakeSource();
  const informer = new Informer<KubeObject>({ client: source, type: ConfigMap });
  stops.push(() => informer.stop());
  const seen: number[] = [];
  const controller = new Controller({
    name: "widgets",
    recordTriggers: true,
    reconcile: async (_key, context) => {
      seen.push(context.triggers?.length ?? -1);
      return undefined;
    },
  });
  stops.push(() => controller.shutdown(0));
  controller.watchPrimary(informer);
  const abort = new AbortController();
  stops.push(async () => abort.abort());
  informer.start(abort.signal);
  const deadline = Date.now() + 5_000;
  for (let version = 0; version < 5; version++) {
    source.put({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { namespace: "ns", name: "settings" },
      data: { version: String(version) },
    });
    // Each change seen on its own: five watch events, not one list.
    while (
      (informer.store.get("ns/settings") as { data?: { version?: string } } | undefined)?.data
        ?.version !== String(version)
    ) {
      assert.ok(Date.now() < deadline, `version ${version} seen`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  await controller.start();
  while (seen.length === 0 && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 5));
  assert.deepEqual(seen, [1], "five events before the start, one trigger kept");
});
