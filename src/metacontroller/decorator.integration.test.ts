/**
 * DecoratorControllers on the real API server with the Python hook server: labels, annotations
 * and attachments added and removed (null removes), label and annotation selectors, the finalize
 * hook when an object stops matching, and customize.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ConfigMap } from "../resources/core.ts";
import type { ControlPlane } from "../testkit/control-plane.ts";
import { eventually, getOrUndefined } from "../testkit/operator-harness.ts";
import { testControlPlane } from "../testkit/shared.ts";
import { decoratorControllerAnnotation } from "./decorator.ts";
import {
  createKind,
  type PythonHooks,
  type RunningMetacontroller,
  runMetacontroller,
  startNodeHooks,
  startPythonHooks,
  suffix,
} from "./testdata/harness.ts";

let plane: ControlPlane;
let mc: RunningMetacontroller;
let python: PythonHooks;

before(async () => {
  plane = await testControlPlane();
  [mc, python] = await Promise.all([runMetacontroller(plane), startPythonHooks()]);
});

after(async () => {
  await mc?.stop();
  await python?.stop();
});

describe("DecoratorController with a Python hook", () => {
  test("adds labels, annotations and attachments, and removes them with null", async () => {
    const kind = await createKind(mc.admin, `De${suffix()}`);
    const namespace = await plane.createNamespace();
    const name = `de-${suffix()}`;
    await mc.createDecorator(name, {
      resources: [
        {
          apiVersion: kind.apiVersion,
          resource: kind.plural,
          annotationSelector: {
            matchExpressions: [{ key: "hooks.test/labels", operator: "Exists" }],
          },
        },
      ],
      attachments: [
        { apiVersion: "v1", resource: "configmaps", updateStrategy: { method: "InPlace" } },
      ],
      hooks: { sync: { webhook: { url: `${python.url}/decorate` } } },
    });
    const annotate = (labels: unknown, annotations: unknown, attach: string[]) => ({
      "hooks.test/labels": JSON.stringify(labels),
      "hooks.test/annotations": JSON.stringify(annotations),
      "hooks.test/attach": JSON.stringify(attach),
    });
    const target = await mc.admin.create(kind.type, {
      apiVersion: kind.apiVersion,
      kind: kind.kind,
      metadata: {
        name: "target",
        namespace,
        labels: { keep: "me", drop: "me" },
        annotations: annotate({ added: "yes" }, { note: "hi" }, ["att-1", "att-2"]),
      },
      spec: {},
    } as never);
    // Not matching the annotation selector: left alone.
    await mc.admin.create(kind.type, {
      apiVersion: kind.apiVersion,
      kind: kind.kind,
      metadata: { name: "ignored", namespace, annotations: { "hooks.test/attach": '["att-x"]' } },
      spec: {},
    } as never);

    await eventually(async () => {
      const live = await mc.admin.get(kind.type, "target", { namespace });
      assert.equal(live.metadata.labels?.added, "yes");
      assert.equal(live.metadata.labels?.keep, "me");
      assert.equal(live.metadata.annotations?.note, "hi");
      for (const attachment of ["att-1", "att-2"]) {
        const cm = await mc.admin.get(ConfigMap, attachment, { namespace });
        assert.equal(cm.metadata.annotations?.[decoratorControllerAnnotation], name);
        assert.equal(cm.metadata.ownerReferences?.[0]?.uid, target.metadata.uid);
        assert.deepEqual(cm.data, { decorated: "target" });
      }
      return true;
    });
    assert.equal(await getOrUndefined(mc.admin, ConfigMap, "att-x", namespace), undefined);

    // null removes a label and an annotation; an attachment left out is deleted.
    await mc.admin.patch(
      kind.type,
      "target",
      {
        metadata: {
          annotations: annotate({ drop: null, added: "yes" }, { note: null }, ["att-1"]),
        },
      },
      { namespace },
    );
    await eventually(async () => {
      const live = await mc.admin.get(kind.type, "target", { namespace });
      assert.equal(live.metadata.labels?.drop, undefined);
      assert.equal(live.metadata.labels?.keep, "me");
      assert.equal(live.metadata.annotations?.note, undefined);
      assert.equal(await getOrUndefined(mc.admin, ConfigMap, "att-2", namespace), undefined);
      assert.ok(await getOrUndefined(mc.admin, ConfigMap, "att-1", namespace));
      // status: null leaves the status alone (there is none).
      assert.equal(live.status, undefined);
      return true;
    });
  });
});

describe("DecoratorController with Node hooks", () => {
  test("the finalize hook runs when the object stops matching, then the finalizer goes", async () => {
    const kind = await createKind(mc.admin, `Df${suffix()}`);
    const namespace = await plane.createNamespace();
    const name = `df-${suffix()}`;
    const finalizing: string[] = [];
    const hooks = await startNodeHooks((path, body) => {
      const object = body.object as { metadata: { name: string } };
      const attachments =
        (body.attachments as Record<string, Record<string, unknown>>)["ConfigMap.v1"] ?? {};
      if (path === "/finalize") {
        finalizing.push(object.metadata.name);
        // Clean up the attachment; done once it is gone.
        return {
          attachments: [],
          finalized: Object.keys(attachments).length === 0,
          labels: { decorated: null },
        };
      }
      return {
        labels: { decorated: "true" },
        attachments: [
          {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: `${object.metadata.name}-extra` },
          },
        ],
      };
    });
    try {
      await mc.createDecorator(name, {
        resources: [
          {
            apiVersion: kind.apiVersion,
            resource: kind.plural,
            labelSelector: { matchLabels: { decorate: "yes" } },
          },
        ],
        attachments: [{ apiVersion: "v1", resource: "configmaps" }],
        hooks: {
          sync: { webhook: { url: `${hooks.url}/sync` } },
          finalize: { webhook: { url: `${hooks.url}/finalize` } },
        },
      });
      await mc.admin.create(kind.type, {
        apiVersion: kind.apiVersion,
        kind: kind.kind,
        metadata: { name: "opt", namespace, labels: { decorate: "yes" } },
        spec: {},
      } as never);
      await eventually(async () => {
        const live = await mc.admin.get(kind.type, "opt", { namespace });
        assert.deepEqual(live.metadata.finalizers, [
          `metacontroller.io/decoratorcontroller-${name}`,
        ]);
        assert.equal(live.metadata.labels?.decorated, "true");
        assert.ok(await getOrUndefined(mc.admin, ConfigMap, "opt-extra", namespace));
        return true;
      });
      // Opting out: finalize cleans up, then the finalizer is removed (the object stays).
      await mc.admin.patch(
        kind.type,
        "opt",
        { metadata: { labels: { decorate: "no" } } },
        { namespace },
      );
      await eventually(async () => {
        const live = await mc.admin.get(kind.type, "opt", { namespace });
        assert.equal(live.metadata.finalizers, undefined);
        assert.equal(live.metadata.labels?.decorated, undefined);
        assert.equal(await getOrUndefined(mc.admin, ConfigMap, "opt-extra", namespace), undefined);
        return true;
      });
      assert.ok(finalizing.includes("opt"));
    } finally {
      await hooks.stop();
    }
  });

  test("customize: the related object by name reaches the hook (Metacontroller's own test)", async () => {
    const parentKind = await createKind(mc.admin, `Dc${suffix()}`);
    const childKind = await createKind(mc.admin, `Dk${suffix()}`);
    const namespace = await plane.createNamespace();
    await mc.admin.create(ConfigMap, {
      metadata: { name: "related-config-map", namespace },
      data: {},
    });
    const hooks = await startNodeHooks((path, body) => {
      if (path === "/customize") {
        const parent = body.parent as { metadata: { namespace: string } };
        return {
          relatedResources: [
            {
              apiVersion: "v1",
              resource: "configmaps",
              namespace: parent.metadata.namespace,
              names: ["related-config-map"],
            },
          ],
        };
      }
      const object = body.object as { metadata: { name: string } };
      const related = Object.values(
        (body.related as Record<string, Record<string, { metadata: { name: string } }>>) ?? {},
      ).flatMap((group) => Object.values(group));
      return {
        attachments: related.map((r) => ({
          apiVersion: childKind.apiVersion,
          kind: childKind.kind,
          metadata: { name: `${object.metadata.name}-${r.metadata.name}` },
          spec: {},
        })),
      };
    });
    try {
      await mc.createDecorator(`dc-${suffix()}`, {
        resources: [{ apiVersion: parentKind.apiVersion, resource: parentKind.plural }],
        attachments: [{ apiVersion: childKind.apiVersion, resource: childKind.plural }],
        hooks: {
          sync: { webhook: { url: `${hooks.url}/sync` } },
          customize: { webhook: { url: `${hooks.url}/customize` } },
        },
      });
      await mc.admin.create(parentKind.type, {
        apiVersion: parentKind.apiVersion,
        kind: parentKind.kind,
        metadata: { name: "test-customize-webhook", namespace },
        spec: {},
      } as never);
      await eventually(() =>
        getOrUndefined(
          mc.admin,
          childKind.type,
          "test-customize-webhook-related-config-map",
          namespace,
        ),
      );
    } finally {
      await hooks.stop();
    }
  });
});
