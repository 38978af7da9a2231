/**
 * Every example's generated CRD on the real API server, used the way a user meets it with
 * kubectl: applied and Established, stored as generated, the example's sample accepted, an
 * invalid variant refused naming the field, `kubectl explain` showing the descriptions and
 * `kubectl get` the printer columns.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { parse } from "yaml";
import { CatSet } from "../../examples/catset/catset.ts";
import { ClusterHealth } from "../../examples/cluster-health/cluster-health.ts";
import { EchoServer } from "../../examples/echo-server/echo-server.ts";
import { Foo } from "../../examples/foo/foo.ts";
import { Memcached } from "../../examples/memcached/memcached.ts";
import { MyApp } from "../../examples/myapp/myapp.ts";
import type { CustomResourceType } from "../resources/define.ts";
import type { ControlPlane } from "../testkit/control-plane.ts";
import { testControlPlane } from "../testkit/shared.ts";
import { customResourceDefinition } from "./crd.ts";
import { Kubectl } from "./testdata/kubectl.ts";
import { toYaml } from "./yaml.ts";

interface ExampleCase {
  type: CustomResourceType;
  sample: string;
  /** A change to the sample's spec that the schema refuses, and the error naming the field. */
  invalid: [Record<string, unknown>, RegExp];
  /** The kind's description, and a field with its description. */
  explain: [string, string, string];
  /** The `kubectl get` header. */
  columns: RegExp;
}

// The CronJob's CRD is its own test's (examples/cronjob), which points it at a conversion webhook.
const examples: Record<string, ExampleCase> = {
  "echo-server": {
    type: EchoServer as unknown as CustomResourceType,
    sample: "examples/echo-server/samples/hello.yaml",
    invalid: [{ message: "", port: 70000 }, /spec\.port: Invalid value: 70000/],
    explain: [
      "An HTTP server that answers every request with a fixed message.",
      "spec.message",
      "What the server answers.",
    ],
    columns: /^NAME\s+MESSAGE\s+POD\s+AGE$/,
  },
  foo: {
    type: Foo as unknown as CustomResourceType,
    sample: "examples/foo/samples/foo.yaml",
    invalid: [{ name: undefined }, /spec\.name: Required value/],
    explain: [
      "Foo is happy when a Pod with the name it names exists in its namespace.",
      "spec.name",
      "The name of the Pod this Foo looks for.",
    ],
    columns: /^NAME\s+POD\s+HAPPY\s+AGE$/,
  },
  myapp: {
    type: MyApp as unknown as CustomResourceType,
    sample: "examples/myapp/samples/myapp.yaml",
    invalid: [{ replicas: 101 }, /spec\.replicas: Invalid value: 101/],
    explain: [
      "A web application: a Deployment of `image` with `replicas` Pods behind a Service on `port`.",
      "spec.image",
      "The container image, e.g. nginx:1.27.",
    ],
    columns: /^NAME\s+IMAGE\s+DESIRED\s+READY\s+AGE$/,
  },
  "cluster-health": {
    type: ClusterHealth as unknown as CustomResourceType,
    sample: "examples/cluster-health/samples/all-nodes.yaml",
    invalid: [{ nodeSelector: "pool=a" }, /spec\.nodeSelector: Invalid value: "string"/],
    explain: [
      "Counts the healthy Nodes among those a label selector picks.",
      "spec.nodeSelector",
      "Labels a Node must have to count; empty selects every Node.",
    ],
    columns: /^NAME\s+HEALTHY\s+TOTAL\s+AGE$/,
  },
  memcached: {
    type: Memcached as unknown as CustomResourceType,
    sample: "examples/memcached/samples/memcached.yaml",
    invalid: [{ size: 4 }, /spec\.size: Invalid value: 4/],
    explain: [
      "A memcached cluster: a Deployment of `size` memcached Pods.",
      "spec.size",
      "How many memcached Pods run (1 to 3).",
    ],
    columns: /^NAME\s+SIZE\s+AVAILABLE\s+DEGRADED\s+AGE$/,
  },
  catset: {
    type: CatSet as unknown as CustomResourceType,
    sample: "examples/catset/samples/nginx-backend.yaml",
    invalid: [{ replicas: -1 }, /spec\.replicas: Invalid value: -1/],
    explain: [
      "A StatefulSet-like set of Pods <name>-0 to <name>-N-1",
      "spec.volumeClaimTemplates",
      "Claims each Pod gets",
    ],
    columns: /^NAME\s+DESIRED\s+READY\s+UPDATED\s+AGE$/,
  },
};

let plane: ControlPlane;
let kubectl: Kubectl;
const root = new URL("../../", import.meta.url);

before(async () => {
  plane = await testControlPlane();
  kubectl = await Kubectl.create(plane.kubeconfigPath);
});
after(() => kubectl?.dispose());

describe("the examples' generated CRDs", () => {
  for (const [name, example] of Object.entries(examples)) {
    test(`${name}: Established, sample accepted, invalid refused, explain and columns`, async () => {
      const crd = customResourceDefinition(example.type);
      const crdName = crd.metadata.name!;
      // The same field manager as installCustomResources, which the examples' tests use.
      await kubectl.ok(
        ["apply", "--server-side", "--field-manager=operon", "--force-conflicts", "-f", "-"],
        toYaml(crd),
      );
      await kubectl.ok(["wait", "--for=condition=Established", "--timeout=60s", `crd/${crdName}`]);
      const stored = JSON.parse(await kubectl.ok(["get", "crd", crdName, "-o", "json"]));
      assert.deepEqual(stored.spec.versions, crd.spec.versions, "stored as generated");

      const namespaced = example.type.namespaced;
      const namespace = namespaced ? await plane.createNamespace(`crd-${name}`) : undefined;
      const where = namespace ? ["-n", namespace] : [];
      const sample = parse(await readFile(new URL(example.sample, root), "utf8"));
      const objectName = `${sample.metadata.name}-${randomBytes(3).toString("hex")}`;
      sample.metadata = {
        ...sample.metadata,
        name: objectName,
        ...(namespace ? { namespace } : {}),
      };

      const [change, error] = example.invalid;
      const invalid = structuredClone(sample);
      for (const [key, value] of Object.entries(change)) {
        if (value === undefined) delete invalid.spec[key];
        else invalid.spec[key] = value;
      }
      const refused = await kubectl.run(
        ["create", "--dry-run=server", "-f", "-"],
        JSON.stringify(invalid),
      );
      assert.notEqual(refused.code, 0, "the invalid sample is refused");
      assert.match(refused.stderr, error);

      await kubectl.ok(["create", "-f", "-"], toYaml(sample));
      try {
        const table = await kubectl.ok(["get", crdName, objectName, ...where]);
        const [header, row] = table.trim().split("\n");
        assert.match(header!, example.columns);
        assert.match(row!, new RegExp(`^${objectName}\\s`));

        const [kindDescription, field, fieldDescription] = example.explain;
        // kubectl wraps long descriptions: compare with single spaces.
        const flat = (text: string) => text.replace(/\s+/g, " ");
        // By plural and API version: `cronjobs.batch.tutorial...` would name batch/v1's CronJob.
        const { plural } = crd.spec.names;
        const apiVersion = `--api-version=${crd.spec.group}/${crd.spec.versions[0]!.name}`;
        const explained = flat(await kubectl.ok(["explain", plural, apiVersion]));
        assert.ok(explained.includes(kindDescription), explained);
        const explainedField = flat(
          await kubectl.ok(["explain", `${plural}.${field}`, apiVersion]),
        );
        assert.ok(explainedField.includes(fieldDescription), explainedField);
      } finally {
        await kubectl.run(["delete", crdName, objectName, ...where, "--wait=false"]);
      }
    });
  }
});
