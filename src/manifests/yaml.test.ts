import assert from "node:assert/strict";
import { test } from "node:test";
import { parseAllDocuments } from "yaml";
import { toYaml } from "./yaml.ts";

test("several objects become a multi-document stream that parses back", () => {
  const objects = [
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a" }, data: { x: "1" } },
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "b" } },
  ];
  const text = toYaml(objects);
  assert.match(text, /^apiVersion: v1\nkind: ConfigMap\n/);
  assert.equal(text.split("\n---\n").length, 2);
  assert.ok(text.endsWith("\n"));
  assert.deepEqual(
    parseAllDocuments(text).map((doc) => doc.toJS()),
    objects,
  );
  assert.equal(toYaml(objects[0]), toYaml([objects[0]]));
});

test("strings YAML 1.1 readers would misread are quoted", () => {
  const values = [
    "on",
    "off",
    "yes",
    "no",
    "y",
    "N",
    "True",
    "NULL",
    "~",
    "0755",
    "1e3",
    "12",
    "0x1F",
    "1_000",
    "2024-01-01",
  ];
  const text = toYaml({ values });
  for (const value of values) {
    assert.ok(
      text.includes(`"${value}"`) || text.includes(`'${value}'`),
      `${value} is quoted in\n${text}`,
    );
  }
  // YAML 1.1 (what kubectl reads) gives back the same strings.
  assert.deepEqual(parseAllDocuments(text, { version: "1.1" })[0]?.toJS(), { values });
});

test("shared objects are written out, not as anchors", () => {
  const shared = { type: "string" };
  const text = toYaml({ a: shared, b: shared });
  assert.doesNotMatch(text, /[&*]a1/);
  assert.equal(text.match(/type: string/g)?.length, 2);
});

test("long strings are not folded", () => {
  const description = "word ".repeat(60).trim();
  assert.ok(toYaml({ description }).includes(description));
});
