import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { formatSelector, groupVersionPath, queryString, resourcePath } from "./paths.ts";

const configmaps = { group: "", version: "v1", plural: "configmaps", namespaced: true };
const nodes = { group: "", version: "v1", plural: "nodes", namespaced: false };
const deployments = { group: "apps", version: "v1", plural: "deployments", namespaced: true };
const crds = {
  group: "apiextensions.k8s.io",
  version: "v1",
  plural: "customresourcedefinitions",
  namespaced: false,
};

describe("resourcePath", () => {
  test("group-version prefixes", () => {
    assert.equal(groupVersionPath("", "v1"), "/api/v1");
    assert.equal(groupVersionPath("apps", "v1"), "/apis/apps/v1");
  });

  test("namespaced core resource: collection, all namespaces, object, subresource", () => {
    assert.equal(resourcePath(configmaps, { namespace: "ns" }), "/api/v1/namespaces/ns/configmaps");
    assert.equal(resourcePath(configmaps, {}), "/api/v1/configmaps");
    assert.equal(
      resourcePath(configmaps, { namespace: "ns", name: "a" }),
      "/api/v1/namespaces/ns/configmaps/a",
    );
    assert.equal(
      resourcePath(configmaps, { namespace: "ns", name: "a", subresource: "status" }),
      "/api/v1/namespaces/ns/configmaps/a/status",
    );
  });

  test("namespaced named-group resource", () => {
    assert.equal(
      resourcePath(deployments, { namespace: "prod" }),
      "/apis/apps/v1/namespaces/prod/deployments",
    );
    assert.equal(resourcePath(deployments), "/apis/apps/v1/deployments");
    assert.equal(
      resourcePath(deployments, { namespace: "prod", name: "web", subresource: "scale" }),
      "/apis/apps/v1/namespaces/prod/deployments/web/scale",
    );
  });

  test("cluster-scoped resources ignore the namespace", () => {
    assert.equal(resourcePath(nodes, { namespace: "ignored", name: "n1" }), "/api/v1/nodes/n1");
    assert.equal(
      resourcePath(nodes, { name: "n1", subresource: "status" }),
      "/api/v1/nodes/n1/status",
    );
    assert.equal(resourcePath(crds, {}), "/apis/apiextensions.k8s.io/v1/customresourcedefinitions");
    assert.equal(
      resourcePath(crds, { name: "widgets.example.com" }),
      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com",
    );
  });

  test("names are escaped and dot segments refused", () => {
    assert.equal(resourcePath(nodes, { name: "a/b c" }), "/api/v1/nodes/a%2Fb%20c");
    assert.throws(() => resourcePath(nodes, { name: ".." }), /invalid name/);
    assert.throws(
      () => resourcePath(configmaps, { namespace: ".", name: "a" }),
      /invalid namespace/,
    );
  });

  test("an object of a namespaced resource needs a namespace", () => {
    assert.throws(() => resourcePath(configmaps, { name: "a" }), /configmaps "a" is namespaced/);
    assert.throws(
      () => resourcePath(configmaps, { namespace: "ns", subresource: "status" }),
      /needs an object name/,
    );
  });
});

describe("queryString", () => {
  test("skips undefined, encodes values, repeats arrays", () => {
    assert.equal(queryString(undefined), "");
    assert.equal(queryString({ a: undefined }), "");
    assert.equal(
      queryString({
        labelSelector: "app=web,tier in (a,b)",
        limit: 500,
        watch: true,
        dryRun: ["All"],
        x: undefined,
      }),
      "?labelSelector=app%3Dweb%2Ctier%20in%20(a%2Cb)&limit=500&watch=true&dryRun=All",
    );
  });
});

describe("formatSelector", () => {
  test("string, map and LabelSelector forms", () => {
    assert.equal(formatSelector("a=b"), "a=b");
    assert.equal(formatSelector({ app: "web", tier: "db" }), "app=web,tier=db");
    assert.equal(
      formatSelector({
        matchLabels: { app: "web" },
        matchExpressions: [
          { key: "tier", operator: "In", values: ["b", "a"] },
          { key: "env", operator: "NotIn", values: ["dev"] },
          { key: "owner", operator: "Exists" },
          { key: "legacy", operator: "DoesNotExist" },
        ],
      }),
      "app=web,tier in (a,b),env notin (dev),owner,!legacy",
    );
    // A label literally named matchLabels is still a plain map.
    assert.equal(formatSelector({ matchLabels: "x" }), "matchLabels=x");
  });
});
