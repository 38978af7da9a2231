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
