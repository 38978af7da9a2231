/**
 * Metacontroller mode's manifests: CRDs identical in structure to Metacontroller's own (checked
 * against its release manifests when its source is on this machine), least-privilege RBAC
 * derived from the controllers, and the deployment folder.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, test } from "node:test";
import { parseAllDocuments } from "yaml";
import { metacontrollerCrds } from "./crds.ts";
import {
  metacontrollerFiles,
  metacontrollerManifests,
  metacontrollerRbacRules,
} from "./manifests.ts";
import type { CompositeController, DecoratorController } from "./types.ts";

/** Metacontroller's source as the benchmarks use it (see bench/README.md). */
const peerSource =
  process.env.METACONTROLLER_SOURCE ?? "/work/shared/peers/metacontroller-175eac0.tar.gz";

function withoutDescriptions(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutDescriptions);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([key]) => key !== "description")
        .map(([key, item]) => [key, withoutDescriptions(item)]),
    );
  }
  return value;
}

describe("CRDs", () => {
  test("names, scopes and the status subresource are Metacontroller's", () => {
    const crds = metacontrollerCrds();
    assert.deepEqual(
      crds.map((crd) => [crd.metadata.name, crd.spec.scope, crd.spec.names.shortNames ?? []]),
      [
        ["compositecontrollers.metacontroller.k8s.io", "Cluster", ["cc", "cctl"]],
        ["controllerrevisions.metacontroller.k8s.io", "Namespaced", []],
        ["decoratorcontrollers.metacontroller.k8s.io", "Cluster", ["dec", "decorators"]],
      ],
    );
    for (const crd of crds) {
      assert.equal(
        crd.metadata.annotations?.["api-approved.kubernetes.io"],
        "unapproved, request not yet submitted",
      );
      assert.deepEqual(
        crd.spec.versions.map((v) => [v.name, v.served, v.storage, v.subresources]),
        [["v1alpha1", true, true, { status: {} }]],
      );
    }
  });

  test("schemas equal Metacontroller's own, field for field (descriptions aside)", (t) => {
    if (!existsSync(peerSource)) {
      t.skip(`Metacontroller's source is not at ${peerSource} (set METACONTROLLER_SOURCE)`);
      return;
    }
    const text = execFileSync(
      "tar",
      ["-xzOf", peerSource, "metacontroller/manifests/production/metacontroller-crds-v1.yaml"],
      { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 },
    );
    const theirs = parseAllDocuments(text)
      .map((document) => document.toJS())
      .filter(Boolean)
      .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
    const ours = metacontrollerCrds();
    assert.equal(ours.length, theirs.length);
    for (const [index, crd] of ours.entries()) {
      const other = theirs[index];
      assert.equal(crd.metadata.name, other.metadata.name);
      assert.deepEqual(crd.spec.names, other.spec.names);
      assert.equal(crd.spec.scope, other.spec.scope);
      assert.deepEqual(
        withoutDescriptions(crd.spec.versions[0]!.schema),
        withoutDescriptions(other.spec.versions[0].schema),
        crd.metadata.name,
      );
    }
  });
});

const catset: CompositeController = {
  apiVersion: "metacontroller.k8s.io/v1alpha1",
  kind: "CompositeController",
  metadata: { name: "catset-controller" },
  spec: {
    parentResource: { apiVersion: "ctl.enisoc.com/v1", resource: "catsets" },
    childResources: [
      { apiVersion: "v1", resource: "pods", updateStrategy: { method: "RollingRecreate" } },
      { apiVersion: "v1", resource: "persistentvolumeclaims" },
    ],
    hooks: {
      sync: {
        webhook: {
          url: "http://catset-controller.metacontroller/sync",
          authorization: { secretRef: { name: "hook-token", namespace: "hooks", key: "token" } },
        },
      },
    },
  },
};

const servicePerPod: DecoratorController = {
  apiVersion: "metacontroller.k8s.io/v1alpha1",
  kind: "DecoratorController",
  metadata: { name: "service-per-pod" },
  spec: {
    resources: [{ apiVersion: "apps/v1", resource: "statefulsets" }],
    attachments: [{ apiVersion: "v1", resource: "services" }],
    hooks: {
      sync: { webhook: { url: "http://service-per-pod.metacontroller/sync" } },
      customize: { webhook: { url: "http://service-per-pod.metacontroller/customize" } },
    },
  },
};

describe("RBAC", () => {
  test("grants what the controllers' resources and hooks need, and nothing more", () => {
    const rules = metacontrollerRbacRules([catset, servicePerPod], {
      namespace: "metacontroller",
      related: [{ apiVersion: "v1", resource: "configmaps" }],
    });
    assert.deepEqual(rules, {
      "": [
        {
          apiGroups: [""],
          resources: ["configmaps", "namespaces"],
          verbs: ["get", "list", "watch"],
        },
        {
          apiGroups: [""],
          resources: ["persistentvolumeclaims", "pods", "services"],
          verbs: ["create", "delete", "get", "list", "patch", "watch"],
        },
        {
          apiGroups: ["apps"],
          resources: ["statefulsets"],
          verbs: ["get", "list", "patch", "watch"],
        },
        { apiGroups: ["apps"], resources: ["statefulsets/finalizers"], verbs: ["update"] },
        { apiGroups: ["apps"], resources: ["statefulsets/status"], verbs: ["patch"] },
        {
          apiGroups: ["ctl.enisoc.com"],
          resources: ["catsets"],
          verbs: ["get", "list", "patch", "watch"],
        },
        { apiGroups: ["ctl.enisoc.com"], resources: ["catsets/finalizers"], verbs: ["update"] },
        { apiGroups: ["ctl.enisoc.com"], resources: ["catsets/status"], verbs: ["patch"] },
        { apiGroups: ["events.k8s.io"], resources: ["events"], verbs: ["create", "patch"] },
        {
          apiGroups: ["metacontroller.k8s.io"],
          resources: ["compositecontrollers", "decoratorcontrollers"],
          verbs: ["get", "list", "watch"],
        },
        {
          apiGroups: ["metacontroller.k8s.io"],
          resources: ["controllerrevisions"],
          verbs: ["create", "delete", "get", "list", "patch", "watch"],
        },
      ],
      hooks: [
        { apiGroups: [""], resources: ["secrets"], resourceNames: ["hook-token"], verbs: ["get"] },
      ],
      metacontroller: [
        {
          apiGroups: ["coordination.k8s.io"],
          resources: ["leases"],
          verbs: ["create", "get", "update"],
        },
      ],
    });
  });

  test("the folder holds the CRDs, the RBAC, the manager and its Dockerfile", () => {
    const files = metacontrollerFiles([catset], { image: "registry/mc:1" });
    assert.deepEqual(
      files.map((file) => file.path),
      [
        "kustomization.yaml",
        "namespace.yaml",
        "crds/compositecontrollers.metacontroller.k8s.io.yaml",
        "crds/controllerrevisions.metacontroller.k8s.io.yaml",
        "crds/decoratorcontrollers.metacontroller.k8s.io.yaml",
        "rbac.yaml",
        "manager.yaml",
        "Dockerfile",
      ],
    );
    const deployment = metacontrollerManifests([catset], { image: "registry/mc:1" }).find(
      (object) => object.kind === "Deployment",
    ) as
      | { spec: { template: { spec: { containers: Array<{ image: string; args: string[] }> } } } }
      | undefined;
    const container = deployment!.spec.template.spec.containers[0]!;
    assert.equal(container.image, "registry/mc:1");
    assert.deepEqual(container.args, [
      "--leader-elect",
      "--metrics-bind-address=:8080",
      "--health-probe-bind-address=:8081",
    ]);
    const dockerfile = files.find((file) => file.path === "Dockerfile")!.content;
    assert.match(dockerfile, /"metacontroller","run"\]/);
  });
});
