/** callSync and callFinalize build the requests the reconciler would, from plain objects. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { child, defineOperator } from "../operator/declaration.ts";
import { Bundle } from "../operator/testdata/bundle.ts";
import { ConfigMap, Job, type ObjectOf } from "../resources/index.ts";
import { callFinalize, callSync } from "./sync-request.ts";

const parent: ObjectOf<typeof Bundle> = {
  apiVersion: "test.operon.dev/v1",
  kind: "Bundle",
  metadata: { name: "p", namespace: "ns", deletionTimestamp: "2030-01-01T00:00:00Z" },
  spec: {},
};

const operator = defineOperator({
  name: "finalize-test",
  parent: Bundle,
  children: { configMaps: ConfigMap, jobs: child(Job) },
  sync: (_request) => ({}),
  finalize({ parent, children, now, attempt }) {
    const left = children.configMaps.list().map((configMap) => configMap.metadata.name);
    return {
      finalized: left.length === 0 && children.jobs.size === 0,
      retryAfterMs: 1_000,
      events: [
        {
          reason: "Seen",
          message: `${parent.metadata.name} ${now.toISOString()} ${attempt} ${left.join()}`,
        },
      ],
    };
  },
});

test("callFinalize passes the parent, its children by declared name, the time and the attempt", async () => {
  const now = new Date("2030-01-01T00:00:05Z");
  const waiting = await callFinalize(operator, {
    parent,
    children: {
      configMaps: [
        { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a", namespace: "ns" } },
      ],
    },
    now,
    attempt: 2,
  });
  assert.equal(waiting.finalized, false);
  assert.equal(waiting.events?.[0]?.message, "p 2030-01-01T00:00:05.000Z 2 a");
  const done = await callFinalize(operator, { parent, now });
  assert.equal(done.finalized, true, "no children given: none");
});

test("callFinalize without a finalize function, or a client, says what is missing", async () => {
  await assert.rejects(
    callFinalize(defineOperator({ ...operator, finalize: undefined }), { parent }),
    /operator "finalize-test" has no finalize function/,
  );
  const reading = defineOperator({
    ...operator,
    async finalize({ client }) {
      await client.get(ConfigMap, "x");
      return { finalized: true };
    },
  });
  await assert.rejects(callFinalize(reading, { parent }), /callFinalize was given no client/);
  await assert.rejects(
    callSync(
      defineOperator({
        ...operator,
        async sync({ client }) {
          await client.close();
          return {};
        },
      }),
      {
        parent,
      },
    ),
    /callSync was given no client/,
  );
});
