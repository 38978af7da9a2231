import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Type } from "@sinclair/typebox";
import { defineResource } from "../resources/define.ts";
import type { KubeObject } from "../resources/object.ts";
import {
  ConversionError,
  convertReview,
  decodeConversionReview,
  defineConversion,
  InvalidConversionReview,
  isConversion,
} from "./conversion.ts";

const Widget = defineResource({
  group: "example.com",
  kind: "Widget",
  plural: "widgets",
  scope: "Namespaced",
  versions: {
    v1alpha1: { spec: Type.Object({ size: Type.String() }) },
    v1: { spec: Type.Object({ size: Type.Integer() }), storage: true },
    v2: { spec: Type.Object({ dimensions: Type.Object({ size: Type.Integer() }) }) },
  },
});

const conversion = defineConversion(Widget, {
  hub: "v1",
  spokes: {
    v1alpha1: {
      toHub: ({ spec }) => {
        const size = Number.parseInt(spec.size, 10);
        if (Number.isNaN(size)) throw new Error(`size "${spec.size}" is not a number`);
        return { spec: { size } };
      },
      fromHub: ({ spec }) => ({ spec: { size: String(spec.size) } }),
    },
    v2: {
      toHub: ({ spec, metadata }) => ({
        spec: { size: spec.dimensions.size },
        metadata: { annotations: { ...metadata.annotations, "example.com/from": "v2" } },
      }),
      fromHub: ({ spec }) => ({ spec: { dimensions: { size: spec.size } } }),
    },
  },
});

const widget = (apiVersion: string, spec: unknown, extra: Record<string, unknown> = {}) =>
  ({
    apiVersion,
    kind: "Widget",
    metadata: {
      name: "w",
      namespace: "ns",
      uid: "u-1",
      resourceVersion: "7",
      labels: { app: "w" },
      ...extra,
    },
    spec,
  }) as KubeObject;

describe("defineConversion", () => {
  test("converts spoke to hub, hub to spoke and spoke to spoke through the hub", () => {
    const hub = conversion.convert(widget("example.com/v1alpha1", { size: "3" }), "v1");
    assert.deepEqual(hub, widget("example.com/v1", { size: 3 }));
    const back = conversion.convert(hub, "v1alpha1");
    assert.deepEqual(back, widget("example.com/v1alpha1", { size: "3" }));
    const v2 = conversion.convert(widget("example.com/v1alpha1", { size: "5" }), "v2");
    assert.deepEqual(v2, widget("example.com/v2", { dimensions: { size: 5 } }));
    const same = widget("example.com/v2", { dimensions: { size: 1 } });
    assert.equal(conversion.convert(same, "v2"), same, "no conversion to the same version");
  });

  test("keeps the metadata, taking labels and annotations from the result when given", () => {
    const hub = conversion.convert(widget("example.com/v2", { dimensions: { size: 2 } }), "v1");
    assert.deepEqual(hub.metadata, {
      name: "w",
      namespace: "ns",
      uid: "u-1",
      resourceVersion: "7",
      labels: { app: "w" },
      annotations: { "example.com/from": "v2" },
    });
  });

  test("the function's error names what failed; the source object is not changed", () => {
    const source = widget("example.com/v1alpha1", { size: "big" });
    const copy = structuredClone(source);
    assert.throws(() => conversion.convert(source, "v2"), {
      name: "ConversionError",
      message: 'size "big" is not a number',
    });
    assert.deepEqual(source, copy);
    assert.throws(() => conversion.convert(widget("example.com/v9", {}), "v1"), ConversionError);
    assert.throws(
      () => conversion.convert({ ...widget("other.com/v1", {}), kind: "Gadget" }, "v1"),
      /this conversion is for Widget\.example\.com/,
    );
  });

  test("refuses declarations that miss a version or name an unknown one", () => {
    assert.throws(
      () =>
        defineConversion(Widget, {
          hub: "v1",
          spokes: { v1alpha1: conversion as never } as never,
        }),
      /version v1alpha1 needs toHub and fromHub|version v2 needs/,
    );
    assert.throws(
      () => defineConversion(Widget, { hub: "v3" as never, spokes: {} as never }),
      /hub v3 is not a version of Widget/,
    );
    const single = defineResource({
      group: "example.com",
      version: "v1",
      kind: "Single",
      plural: "singles",
      scope: "Cluster",
      spec: Type.Object({}),
    });
    assert.throws(() => defineConversion(single, { hub: "v1", spokes: {} }), /nothing to convert/);
    assert.ok(isConversion(conversion));
    assert.ok(!isConversion({ webhook: "conversion" }));
  });
});

describe("ConversionReview", () => {
  const review = (desiredAPIVersion: string, objects: unknown[]) => ({
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "ConversionReview",
    request: { uid: "r-1", desiredAPIVersion, objects },
  });

  test("converts every object and answers Success", () => {
    const request = decodeConversionReview(
      review("example.com/v2", [
        widget("example.com/v1", { size: 1 }),
        widget("example.com/v1alpha1", { size: "2" }),
      ]),
    );
    const { review: answer, failure } = convertReview([conversion], request);
    assert.equal(failure, undefined);
    assert.equal(answer.response?.uid, "r-1");
    assert.deepEqual(answer.response?.result, { status: "Success" });
    assert.deepEqual(
      answer.response?.convertedObjects.map((o) => (o as { spec: unknown }).spec),
      [{ dimensions: { size: 1 } }, { dimensions: { size: 2 } }],
    );
  });

  test("one object that fails fails the review, naming the object and the versions", () => {
    const request = decodeConversionReview(
      review("example.com/v1", [
        widget("example.com/v1alpha1", { size: "1" }),
        widget("example.com/v1alpha1", { size: "x" }),
      ]),
    );
    const { review: answer, failure } = convertReview([conversion], request);
    assert.equal(failure, "handler_error");
    assert.deepEqual(answer.response?.convertedObjects, []);
    assert.deepEqual(answer.response?.result, {
      status: "Failure",
      message: 'converting Widget ns/w from v1alpha1 to v1: size "x" is not a number',
    });
  });

  test("a kind without a conversion is a failure naming it", () => {
    const request = decodeConversionReview(
      review("example.com/v1", [{ ...widget("example.com/v1", {}), kind: "Gadget" }]),
    );
    const { review: answer, failure } = convertReview([conversion], request);
    assert.equal(failure, "unknown_kind");
    assert.match(
      answer.response?.result.message ?? "",
      /no conversion is declared for Gadget\.example\.com/,
    );
  });

  test("malformed reviews are refused with what is wrong", () => {
    for (const [body, message] of [
      [[], /not a JSON object/],
      [{ kind: "AdmissionReview" }, /expected kind ConversionReview/],
      [{ kind: "ConversionReview", apiVersion: "apiextensions.k8s.io/v1beta1" }, /unsupported/],
      [{ kind: "ConversionReview", apiVersion: "apiextensions.k8s.io/v1" }, /no request/],
      [{ ...review("example.com/v1", []), request: { uid: "", objects: [] } }, /no uid/],
      [{ ...review("v1", []) }, /no desiredAPIVersion/],
      [
        {
          ...review("example.com/v1", []),
          request: { uid: "u", desiredAPIVersion: "example.com/v1" },
        },
        /no objects/,
      ],
    ] as const) {
      assert.throws(
        () => decodeConversionReview(body),
        (error: Error) => {
          assert.ok(error instanceof InvalidConversionReview);
          assert.match(error.message, message);
          return true;
        },
      );
    }
  });
});
