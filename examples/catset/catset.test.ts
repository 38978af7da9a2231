/** CatSet's `sync` step by step, with no server: ordered start, scale-down, rolling update. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { PersistentVolumeClaim, Pod } from "kube-operon";
import { callSync } from "kube-operon/testkit";
import catSetOperator, { type CatSet, revisionLabel, revisionOf, setLabel } from "./catset.ts";

const template = {
  metadata: { labels: { app: "nginx" } },
  spec: { containers: [{ name: "nginx", image: "nginx:1.27" }] },
};

function catSet(spec: Partial<CatSet["spec"]> = {}): CatSet {
  return {
    apiVersion: "ctl.enisoc.com/v1",
    kind: "CatSet",
    metadata: { name: "web", namespace: "default", uid: "u-1" },
    spec: {
      replicas: 3,
      template,
      volumeClaimTemplates: [
        {
          metadata: { name: "www" },
          spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
        },
      ],
      ...spec,
    },
  };
}

/** A Pod of the set, Ready or not, made from `revision` (default: the current template's). */
function pod(ordinal: number, ready = true, revision = revisionOf(template)): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: `web-${ordinal}`,
      namespace: "default",
      labels: { [setLabel]: "web", [revisionLabel]: revision },
    },
    spec: { containers: [{ name: "nginx", image: "nginx:1.27" }] },
    status: {
      phase: "Running",
      conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
    },
  };
}

function claim(ordinal: number): PersistentVolumeClaim {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name: `www-web-${ordinal}`, namespace: "default" },
    spec: { accessModes: ["ReadWriteOnce"] },
  };
}

async function sync(
  pods: Pod[],
  spec: Partial<CatSet["spec"]> = {},
  claims = pods.map((p) => claim(Number(p.metadata.name!.slice(4)))),
) {
  const result = await callSync(catSetOperator, {
    parent: catSet(spec),
    children: { pods, claims },
  });
  const children = result.children ?? [];
  return {
    result,
    pods: children.filter((c) => c.kind === "Pod").map((c) => c.metadata.name),
    claims: children
      .filter((c) => c.kind === "PersistentVolumeClaim")
      .map((c) => c.metadata.name)
      .sort(),
    children,
  };
}

describe("ordered start", () => {
  test("a new set: the headless Service, the first Pod and its claim", async () => {
    const { pods, claims, children, result } = await sync([]);
    assert.deepEqual(pods, ["web-0"]);
    assert.deepEqual(claims, ["www-web-0"]);
    const service = children.find((c) => c.kind === "Service");
    assert.equal(service?.kind === "Service" && service.spec?.clusterIP, "None");
    assert.deepEqual(service?.kind === "Service" && service.spec?.selector, { [setLabel]: "web" });
    const first = children.find((c) => c.kind === "Pod");
    assert.ok(first?.kind === "Pod");
    assert.equal(first.spec?.hostname, "web-0");
    assert.equal(first.spec?.subdomain, "web");
    assert.deepEqual(first.spec?.volumes, [
      { name: "www", persistentVolumeClaim: { claimName: "www-web-0" } },
    ]);
    assert.equal(first.metadata.labels?.app, "nginx");
    assert.deepEqual(result.status, {
      replicas: 0,
      readyReplicas: 0,
      updatedReplicas: 0,
      updateRevision: revisionOf(template),
    });
  });

  test("the next Pod only once every Pod below it is Ready", async () => {
    assert.deepEqual((await sync([pod(0, false)])).pods, ["web-0"]);
    assert.deepEqual((await sync([pod(0)])).pods, ["web-0", "web-1"]);
    assert.deepEqual((await sync([pod(0), pod(1)])).pods, ["web-0", "web-1", "web-2"]);
    assert.deepEqual((await sync([pod(0), pod(1), pod(2)])).pods, ["web-0", "web-1", "web-2"]);
    // A lost Pod in the middle comes back first; those above it stay.
    assert.deepEqual((await sync([pod(0), pod(2)])).pods, ["web-0", "web-1", "web-2"]);
    assert.deepEqual((await sync([pod(1), pod(2)])).pods, ["web-0", "web-1", "web-2"]);
  });
});

describe("scale-down", () => {
  test("the highest Pod goes first, one at a time; every claim is kept", async () => {
    const down = await sync([pod(0), pod(1), pod(2)], { replicas: 1 });
    assert.deepEqual(down.pods, ["web-0", "web-1"]);
    assert.deepEqual(down.claims, ["www-web-0", "www-web-1", "www-web-2"]);
    const next = await sync([pod(0), pod(1)], { replicas: 1 }, [claim(0), claim(1), claim(2)]);
    assert.deepEqual(next.pods, ["web-0"]);
    assert.deepEqual(next.claims, ["www-web-0", "www-web-1", "www-web-2"]);
  });

  test("no Pod goes while another is not Ready", async () => {
    assert.deepEqual((await sync([pod(0, false), pod(1), pod(2)], { replicas: 1 })).pods, [
      "web-0",
      "web-1",
      "web-2",
    ]);
  });
});

describe("rolling update", () => {
  const old = "0ld";

  test("from the highest ordinal down, each once all the others are Ready", async () => {
    assert.deepEqual((await sync([pod(0, true, old), pod(1, true, old), pod(2, true, old)])).pods, [
      "web-0",
      "web-1",
    ]);
    // web-2 came back from the new template and is not Ready yet: wait.
    assert.deepEqual((await sync([pod(0, true, old), pod(1, true, old), pod(2, false)])).pods, [
      "web-0",
      "web-1",
      "web-2",
    ]);
    assert.deepEqual((await sync([pod(0, true, old), pod(1, true, old), pod(2)])).pods, [
      "web-0",
      "web-2",
    ]);
    assert.deepEqual((await sync([pod(0, true, old), pod(1), pod(2)])).pods, ["web-1", "web-2"]);
    const done = await sync([pod(0), pod(1), pod(2)]);
    assert.deepEqual(done.pods, ["web-0", "web-1", "web-2"]);
    assert.equal(done.result.status?.updatedReplicas, 3);
  });

  test("a returned Pod is built from the new template", async () => {
    const changed = { ...template, spec: { containers: [{ name: "nginx", image: "nginx:1.28" }] } };
    const { children } = await sync([pod(0), pod(1)], { template: changed });
    const created = children.find((c) => c.kind === "Pod" && c.metadata.name === "web-2");
    assert.ok(created?.kind === "Pod");
    assert.equal(created.spec?.containers[0]?.image, "nginx:1.28");
    assert.equal(created.metadata.labels?.[revisionLabel], revisionOf(changed));
  });
});

test("a claim template without a name is refused", async () => {
  await assert.rejects(
    callSync(catSetOperator, {
      parent: catSet({ volumeClaimTemplates: [{ spec: {} }] }),
    }),
    /volumeClaimTemplates\[0\] needs metadata.name/,
  );
});
