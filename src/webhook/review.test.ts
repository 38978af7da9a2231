import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { describe, test } from "node:test";
import {
  allowedResponse,
  decodeAdmissionReview,
  deniedResponse,
  encodeAdmissionReview,
  InvalidAdmissionReview,
} from "./review.ts";

/** A request body as kube-apiserver sends it (trimmed to the fields that matter). */
function reviewBody(overrides: Record<string, unknown> = {}) {
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: "705ab4f5-6393-11e8-b7cc-42010a800002",
      kind: { group: "", version: "v1", kind: "ConfigMap" },
      resource: { group: "", version: "v1", resource: "configmaps" },
      requestKind: { group: "", version: "v1", kind: "ConfigMap" },
      requestResource: { group: "", version: "v1", resource: "configmaps" },
      name: "settings",
      namespace: "prod",
      operation: "CREATE",
      userInfo: { username: "admin", groups: ["system:masters", "system:authenticated"] },
      object: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "settings" } },
      oldObject: null,
      dryRun: false,
      options: { apiVersion: "meta.k8s.io/v1", kind: "CreateOptions" },
      ...overrides,
    },
  };
}

describe("decodeAdmissionReview", () => {
  test("returns the request as sent", () => {
    const body = reviewBody();
    const request = decodeAdmissionReview(JSON.parse(JSON.stringify(body)));
    assert.equal(request.uid, "705ab4f5-6393-11e8-b7cc-42010a800002");
    assert.equal(request.operation, "CREATE");
    assert.deepEqual(request.kind, { group: "", version: "v1", kind: "ConfigMap" });
    assert.deepEqual(request.userInfo.groups, ["system:masters", "system:authenticated"]);
    assert.deepEqual(request.object, body.request.object);
    assert.equal(request.dryRun, false);
  });

  test("fills a missing userInfo with an empty one", () => {
    const request = decodeAdmissionReview(reviewBody({ userInfo: undefined }));
    assert.deepEqual(request.userInfo, {});
  });

  test("names what is wrong with a malformed review", () => {
    const cases: [unknown, RegExp][] = [
      [[], /not a JSON object/],
      [{ ...reviewBody(), kind: "Status" }, /expected kind AdmissionReview/],
      [
        { ...reviewBody(), apiVersion: "admission.k8s.io/v1beta1" },
        /unsupported AdmissionReview version "admission.k8s.io\/v1beta1"/,
      ],
      [{ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" }, /has no request/],
      [reviewBody({ uid: "" }), /has no uid/],
      [reviewBody({ operation: "PATCH" }), /unknown admission operation "PATCH"/],
      [reviewBody({ kind: undefined }), /has no kind/],
    ];
    for (const [body, message] of cases) {
      assert.throws(
        () => decodeAdmissionReview(body),
        (error: unknown) => {
          assert.ok(error instanceof InvalidAdmissionReview);
          assert.match(error.message, message);
          return true;
        },
      );
    }
  });
});

describe("responses", () => {
  test("an allowing response echoes the uid in a v1 envelope", () => {
    assert.deepEqual(encodeAdmissionReview(allowedResponse("uid-1")), {
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: { uid: "uid-1", allowed: true },
    });
  });

  test("a patch travels base64-encoded with patchType JSONPatch; an empty one is left out", () => {
    const patch = [{ op: "add" as const, path: "/metadata/labels", value: { a: "1" } }];
    const response = allowedResponse("uid-2", { patch, warnings: ["careful"] });
    assert.equal(response.patchType, "JSONPatch");
    assert.deepEqual(JSON.parse(Buffer.from(response.patch!, "base64").toString("utf8")), patch);
    assert.deepEqual(response.warnings, ["careful"]);
    const unchanged = allowedResponse("uid-3", { patch: [] });
    assert.equal(unchanged.patch, undefined);
    assert.equal(unchanged.patchType, undefined);
    assert.equal(unchanged.warnings, undefined);
  });

  test("a denial carries a Failure status with message, code and reason", () => {
    assert.deepEqual(deniedResponse("uid-4", "data.owner is required"), {
      uid: "uid-4",
      allowed: false,
      status: {
        status: "Failure",
        code: 403,
        reason: "Forbidden",
        message: "data.owner is required",
      },
    });
    const invalid = deniedResponse("uid-5", "bad", { code: 422, warnings: ["w"] });
    assert.deepEqual(invalid.status, {
      status: "Failure",
      code: 422,
      reason: "Invalid",
      message: "bad",
    });
    assert.deepEqual(invalid.warnings, ["w"]);
    // An unusual code has no standard reason: the field is left out rather than guessed.
    assert.equal(deniedResponse("uid-6", "x", { code: 418 }).status?.reason, undefined);
  });
});
