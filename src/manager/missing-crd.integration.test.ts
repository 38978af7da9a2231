/**
 * An operator started before its CRD is installed: it says once that the CRD is missing and how
 * to install it, keeps waiting, and starts working as soon as the CRD appears, without a restart.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { KubeClient } from "../client/client.ts";
import type { LogFields, Logger } from "../logger.ts";
import { defineOperator } from "../operator/declaration.ts";
import { CustomResourceDefinition } from "../resources/apiextensions.ts";
import { ConfigMap } from "../resources/core.ts";
import { defineResource } from "../resources/define.ts";
import { Type } from "../resources/index.ts";
import { eventually } from "../testkit/operator-harness.ts";
import { testControlPlane } from "../testkit/shared.ts";
import { installCustomResources } from "./install.ts";
import { Manager } from "./manager.ts";

const group = `late-${randomBytes(3).toString("hex")}.operon.example.com`;
const Latecomer = defineResource({
  group,
  version: "v1",
  kind: "Latecomer",
  plural: "latecomers",
  scope: "Namespaced",
  spec: Type.Object({ message: Type.String() }),
});

const operator = defineOperator({
  name: "latecomer",
  parent: Latecomer,
  children: { configMaps: ConfigMap },
  sync: ({ parent }) => ({
    children: [
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: parent.metadata.name! },
        data: { message: parent.spec.message },
      },
    ],
  }),
});

test("an operator started before its CRD waits for it, says so once, then converges", {
  timeout: 5 * 60_000,
}, async () => {
  const plane = await testControlPlane();
  const namespace = await plane.createNamespace("late");
  const client = await KubeClient.fromKubeConfig({
    kubeconfig: plane.kubeconfigPath,
    fieldManager: "test",
  });
  const lines: { level: string; message: string; fields: LogFields }[] = [];
  const record =
    (level: string) =>
    (fields: LogFields, message: string): void => {
      lines.push({ level, message, fields });
    };
  const logger: Logger = {
    debug: record("debug"),
    info: record("info"),
    warn: record("warn"),
    error: record("error"),
  };
  const manager = new Manager({ kubeconfig: plane.kubeconfigPath, logger });
  manager.add(operator);
  const started = manager.start();
  try {
    const missing = () =>
      lines.filter((line) => line.level === "warn" && line.message.includes("does not serve"));
    await eventually(() => missing().length > 0, { message: "the missing CRD is reported" });
    assert.match(
      missing()[0]!.message,
      new RegExp(
        `does not serve Latecomer \\(latecomers\\.${group.replaceAll(".", "\\.")} v1\\): its CustomResourceDefinition is not installed\\. \`operon install <module>\` installs`,
      ),
    );
    // Still waiting some retries later, and said only once.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    assert.equal(missing().length, 1, JSON.stringify(missing()));

    await installCustomResources(client, [Latecomer]);
    await client.create(Latecomer, {
      metadata: { name: "hello", namespace },
      spec: { message: "better late than never" },
    });
    await started;
    const configMap = await eventually(
      () => client.get(ConfigMap, "hello", { namespace }).catch(() => undefined),
      { timeoutMs: 60_000, message: "the parent converges once the CRD is there" },
    );
    assert.equal(configMap.data?.message, "better late than never");
    assert.ok(lines.some((line) => line.message === "the resource type is served now; listed it"));
  } finally {
    await manager.stop();
    await started.catch(() => {});
    await client.delete(CustomResourceDefinition, `latecomers.${group}`).catch(() => {});
    await client.close();
  }
});
