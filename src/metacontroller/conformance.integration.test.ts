/**
 * Byte for byte: the same CompositeController, parent and children, synced once by Metacontroller
 * itself and once by Operon, send the hook the same request body. The only difference allowed is
 * `managedFields`, which Metacontroller sends and Operon leaves out (as `kubectl get -o json`
 * does, the shape Metacontroller's documentation describes).
 *
 * Needs Metacontroller's binary, which the benchmarks build
 * (`npm run bench -- --contenders metacontroller --scenario converge --parents 100`), or
 * `$METACONTROLLER_BINARY`; skipped without it.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { KubeClient } from "../client/client.ts";
import { ConfigMap } from "../resources/core.ts";
import type { KubeObject } from "../resources/object.ts";
import type { ControlPlane } from "../testkit/control-plane.ts";
import { eventually } from "../testkit/operator-harness.ts";
import { testControlPlane } from "../testkit/shared.ts";
import { installMetacontrollerCrds } from "./install.ts";
import {
  createKind,
  type NodeHooks,
  type RunningMetacontroller,
  runMetacontroller,
  startNodeHooks,
  suffix,
} from "./testdata/harness.ts";
import { CompositeControllerType } from "./types.ts";

function metacontrollerBinary(): string | undefined {
  if (process.env.METACONTROLLER_BINARY) return process.env.METACONTROLLER_BINARY;
  const cache = join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "operon", "bench");
  if (!existsSync(cache)) return undefined;
  for (const entry of readdirSync(cache)) {
    const binary = join(cache, entry, "metacontroller");
    if (/^metacontroller-[0-9a-f]{16}$/.test(entry) && existsSync(binary)) return binary;
  }
  return undefined;
}

/** Cuts every `"managedFields":[...]` member out of a JSON text, keeping everything else as is. */
export function withoutManagedFields(text: string): string {
  const key = '"managedFields":';
  let out = "";
  let index = 0;
  for (;;) {
    const at = text.indexOf(key, index);
    if (at < 0) return out + text.slice(index);
    // The member and the comma that joins it to its neighbour.
    let start = at;
    let end = at + key.length;
    let depth = 0;
    let inString = false;
    for (; end < text.length; end++) {
      const c = text[end];
      if (inString) {
        if (c === "\\") end++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === "[" || c === "{") depth++;
      else if (c === "]" || c === "}") {
        depth--;
        if (depth === 0) {
          end++;
          break;
        }
      }
    }
    if (text[start - 1] === ",") start--;
    else if (text[end] === ",") end++;
    out += text.slice(index, start);
    index = end;
  }
}

let plane: ControlPlane;
let admin: KubeClient;
let mc: RunningMetacontroller | undefined;
let hooks: NodeHooks | undefined;

before(async () => {
  plane = await testControlPlane();
  admin = await KubeClient.fromKubeConfig({
    kubeconfig: plane.kubeconfigPath,
    fieldManager: "test",
  });
  await installMetacontrollerCrds(admin);
});

after(async () => {
  await mc?.stop();
  await hooks?.stop();
  await admin?.close();
});

test("Operon sends the hook the bytes Metacontroller sends", async (t) => {
  const binary = metacontrollerBinary();
  if (!binary) {
    t.skip("Metacontroller's binary is not built (see this file's header)");
    return;
  }
  const kind = await createKind(admin, `Cf${suffix()}`);
  const namespace = await plane.createNamespace();
  hooks = await startNodeHooks((_path, body) => {
    const parent = body.parent as KubeObject & { spec: { selector: { matchLabels: object } } };
    return {
      status: {
        seen: Object.keys((body.children as Record<string, object>)["ConfigMap.v1"] ?? {}),
      },
      children: [
        {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: {
            name: `${parent.metadata.name}-child`,
            labels: parent.spec.selector.matchLabels,
          },
          data: { note: "a<b & c>d \u2028 é" },
        },
      ],
    };
  });
  // One controller, run by Metacontroller first, then by Operon: both select it by this label.
  const name = `cf-${suffix()}`;
  await admin.create(CompositeControllerType, {
    apiVersion: "metacontroller.k8s.io/v1alpha1",
    kind: "CompositeController",
    metadata: { name, labels: { conformance: name } },
    spec: {
      parentResource: { apiVersion: kind.apiVersion, resource: kind.plural },
      childResources: [
        { apiVersion: "v1", resource: "configmaps", updateStrategy: { method: "InPlace" } },
      ],
      resyncPeriodSeconds: 1,
      hooks: { sync: { webhook: { url: `${hooks.url}/sync`, timeout: "10s" } } },
    },
  } as never);
  await admin.create(kind.type, {
    apiVersion: kind.apiVersion,
    kind: kind.kind,
    metadata: { name: "cf", namespace, labels: { b: "2", a: "1" }, annotations: { "x/y": "<&>" } },
    spec: { selector: { matchLabels: { app: "cf" } }, nested: { z: [3, 1.5, true, null], a: "ü" } },
  } as never);

  const settled = async () => {
    // A steady state: the child exists, the status reports it, and two requests in a row agree.
    await eventually(async () => {
      const last = hooks!.requests.at(-1);
      const previous = hooks!.requests.at(-2);
      if (!last || !previous || last.raw !== previous.raw) return false;
      const parent = last.body.parent as KubeObject;
      return (parent.status as { seen?: string[] } | undefined)?.seen?.length === 1;
    });
    return hooks!.requests.at(-1)!.raw;
  };

  const child = spawn(
    binary,
    [
      "--metrics-address=0",
      "--health-probe-bind-address=0",
      `--target-label-selector=conformance=${name}`,
    ],
    { env: { ...process.env, KUBECONFIG: plane.kubeconfigPath }, stdio: "ignore" },
  );
  let theirs: string;
  try {
    theirs = await settled();
  } finally {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }
  // Metacontroller created the child with its client-side apply annotation; Operon leaves the
  // child as it is (nothing about it is to change), so both requests carry it.
  const created = await admin.get(ConfigMap, "cf-child", { namespace });
  assert.ok(created.metadata.annotations?.["metacontroller.k8s.io/last-applied-configuration"]);

  hooks.requests.length = 0;
  mc = await runMetacontroller(plane, { targetLabelSelector: `conformance=${name}` });
  const ours = await settled();
  assert.ok(theirs.includes('"managedFields":'), "Metacontroller sends managedFields");
  assert.ok(!ours.includes('"managedFields":'));
  assert.equal(ours, withoutManagedFields(theirs));
});
