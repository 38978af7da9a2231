/** docs/deployment.md's RBAC table says what the generated RBAC grants, verb for verb. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { rbacRules } from "../src/manifests/rbac.ts";
import { metricsRbac, webhookManifests } from "../src/manifests/webhooks.ts";
import type { PolicyRule } from "../src/resources/rbac.ts";
import { volumeConversion } from "./samples/conversion.ts";
import greeter from "./samples/greeting.ts";
import team from "./samples/related.ts";
import { defaultGreeting, validateGreeting } from "./samples/webhooks.ts";

/** The table's rows: resource cell → verbs, with `<plural>` standing for the given plurals. */
function documentedRows(): { label: string; resource: string; verbs: string[] }[] {
  const text = readFileSync(new URL("./deployment.md", import.meta.url), "utf8");
  const section = text.slice(text.indexOf("## The RBAC"));
  let label = "";
  const rows = [];
  for (const line of section.split("\n")) {
    const cells = line.split("|").map((cell) => cell.trim());
    if (cells.length < 5 || !cells[3]?.startsWith("`")) continue;
    label = cells[1] || label;
    const verbs = [...(cells[3] ?? "").matchAll(/`([a-z]+)`/g)].map((match) => match[1]!);
    rows.push({ label, resource: cells[2]!, verbs });
  }
  return rows;
}

/** Verbs granted on a resource (`group resource` or `resource`) by the generated rules. */
function granted(
  rules: { apiGroups?: string[]; resources?: string[]; verbs: string[] }[],
  group: string,
  resource: string,
): string[] {
  const verbs = rules
    .filter((rule) => rule.apiGroups?.includes(group) && rule.resources?.includes(resource))
    .flatMap((rule) => rule.verbs);
  return [...new Set(verbs)].sort();
}

test("the RBAC table matches what rbacRules generates", () => {
  const rows = documentedRows();
  assert.ok(rows.length >= 7, "the table lists parent, status, finalizers, children, ...");
  const greeterRules = rbacRules(greeter, { namespace: "greeter-system" });
  const cluster = greeterRules.cluster;
  const leases = greeterRules.namespaces["greeter-system"] ?? [];
  const teamRules = rbacRules(team, { namespace: "team-system" }).cluster;
  const names = { name: "greeter", namespace: "greeter-system", serviceAccountName: "greeter" };
  const metrics = metricsRbac({ ...names, labels: {} }).authRole.rules ?? [];
  const webhookRules = webhookManifests({
    ...names,
    webhooks: [validateGreeting, defaultGreeting],
    conversions: [volumeConversion],
    labels: {},
    selector: {},
  }).rbac.flatMap((object) => ("rules" in object ? (object.rules ?? []) : []));
  /** Every `group` `resource` pair a cell names (`resource` alone for the core group). */
  const pairs = (cell: string) => {
    const words = [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1]!);
    const group = words[0]?.includes(".") ? words.shift()! : "";
    return words.map((resource) => [group, resource] as const);
  };
  const matches = (rules: PolicyRule[], row: { resource: string }, verbs: string[]) => {
    for (const [group, resource] of pairs(row.resource)) {
      assert.deepEqual(granted(rules, group, resource), verbs, row.resource);
    }
  };
  for (const row of rows) {
    const verbs = [...row.verbs].sort();
    const plural = (name: string) => row.resource.replaceAll("`", "").replace("<plural>", name);
    if (row.label === "the parent") {
      assert.deepEqual(granted(cluster, "example.com", plural("greetings")), verbs, row.resource);
    } else if (row.label === "each child type") {
      assert.deepEqual(granted(cluster, "", plural("configmaps")), verbs, row.resource);
    } else if (row.label === "each related type") {
      assert.deepEqual(granted(teamRules, "", plural("pods")), verbs, row.resource);
    } else if (row.label === "secure metrics") {
      matches(metrics, row, verbs);
    } else if (row.label === "webhook certificates") {
      matches(webhookRules, row, verbs);
    } else if (row.label === "Events") {
      assert.deepEqual(granted(cluster, "events.k8s.io", "events"), verbs);
    } else if (row.label === "leader election") {
      assert.deepEqual(granted(leases, "coordination.k8s.io", "leases"), verbs);
    } else if (row.label === "sharding") {
      const sharded = rbacRules(greeter, { namespace: "greeter-system", sharding: true });
      const memberLeases = sharded.namespaces["greeter-system"] ?? [];
      assert.deepEqual(granted(memberLeases, "coordination.k8s.io", "leases"), verbs);
    } else {
      assert.fail(`a row the test does not know: ${row.label}`);
    }
  }
});
