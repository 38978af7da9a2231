import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ManagedFieldsEntry } from "../resources/object.ts";
import { fieldsWithin, foldCreatedFields, unionFields } from "./field-ownership.ts";

// Shapes as kube-apiserver 1.36 returned them for a ConfigMap created with {a, b} and then
// applied with {a} by the same manager.
const created: ManagedFieldsEntry = {
  manager: "op",
  operation: "Update",
  apiVersion: "v1",
  fieldsType: "FieldsV1",
  fieldsV1: {
    "f:data": { ".": {}, "f:a": {}, "f:b": {} },
    "f:metadata": { "f:labels": { ".": {}, "f:x": {} } },
  },
  time: "2026-11-22T00:05:34Z",
};
const applied: ManagedFieldsEntry = {
  manager: "op",
  operation: "Apply",
  apiVersion: "v1",
  fieldsType: "FieldsV1",
  fieldsV1: { "f:data": { "f:a": {} }, "f:metadata": { "f:labels": { "f:x": {} } } },
};
const other: ManagedFieldsEntry = {
  manager: "kubectl-edit",
  operation: "Update",
  apiVersion: "v1",
  fieldsType: "FieldsV1",
  fieldsV1: { "f:data": { "f:c": {} } },
};

describe("field ownership after a create", () => {
  it("compares field sets ignoring the containers' own entries", () => {
    assert.equal(
      fieldsWithin({ "f:data": { ".": {}, "f:a": {} } }, { "f:data": { "f:a": {} } }),
      true,
    );
    assert.equal(fieldsWithin({ "f:data": { "f:b": {} } }, { "f:data": { "f:a": {} } }), false);
    assert.equal(fieldsWithin({ "f:data": {} }, undefined), false);
    assert.equal(fieldsWithin({ ".": {} }, undefined), true);
  });

  it("unions nested field sets", () => {
    assert.deepEqual(unionFields({ "f:a": { "f:x": {} } }, { "f:a": { "f:y": {} }, "f:b": {} }), {
      "f:a": { "f:x": {}, "f:y": {} },
      "f:b": {},
    });
  });

  it("leaves the fields alone while the apply entry covers everything the create set", () => {
    const stillApplied: ManagedFieldsEntry = {
      ...applied,
      fieldsV1: { "f:data": { "f:a": {}, "f:b": {} }, "f:metadata": { "f:labels": { "f:x": {} } } },
    };
    assert.equal(foldCreatedFields([created, stillApplied], "op"), undefined);
    assert.equal(foldCreatedFields([applied], "op"), undefined);
    assert.equal(foldCreatedFields(undefined, "op"), undefined);
  });

  it("folds fields the apply dropped into the apply entry and keeps other managers' entries", () => {
    const folded = foldCreatedFields([other, created, applied], "op");
    assert.deepEqual(folded, [
      other,
      {
        manager: "op",
        operation: "Apply",
        apiVersion: "v1",
        fieldsType: "FieldsV1",
        fieldsV1: {
          "f:data": { "f:a": {}, ".": {}, "f:b": {} },
          "f:metadata": { "f:labels": { "f:x": {}, ".": {} } },
        },
      },
    ]);
  });

  it("ignores other managers and the status subresource", () => {
    assert.equal(foldCreatedFields([{ ...created, manager: "someone" }, applied], "op"), undefined);
    assert.equal(
      foldCreatedFields([{ ...created, subresource: "status" }, applied], "op"),
      undefined,
    );
  });
});
