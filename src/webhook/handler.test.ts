import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { LogFields, Logger } from "../logger.ts";
import { ConfigMap } from "../resources/core.ts";
import { Denied } from "./denied.ts";
import { AdmissionAbandoned, admit } from "./handler.ts";
import { applyJsonPatch } from "./json-patch.ts";
import type { AdmissionRequest, AdmissionResponse } from "./types.ts";
import { mutatingWebhook, validatingWebhook } from "./webhook.ts";

const configMap = (data: Record<string, string>, labels?: Record<string, string>): ConfigMap => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: "settings", namespace: "prod", ...(labels ? { labels } : {}) },
  data,
});

function request(overrides: Partial<AdmissionRequest> = {}): AdmissionRequest {
  return {
    uid: "uid-1",
    kind: { group: "", version: "v1", kind: "ConfigMap" },
    resource: { group: "", version: "v1", resource: "configmaps" },
    name: "settings",
    namespace: "prod",
    operation: "CREATE",
    userInfo: { username: "alice", groups: ["devs"] },
    object: configMap({ owner: "alice" }),
    dryRun: false,
    ...overrides,
  };
}

function recordingLogger() {
  const lines: { level: string; fields: LogFields; message: string }[] = [];
  const at =
    (level: string) =>
    (fields: LogFields, message: string): void => {
      lines.push({ level, fields, message });
    };
  const logger: Logger = {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
  };
  return { logger, lines };
}

function decodePatch(response: AdmissionResponse): unknown {
  assert.equal(response.patchType, "JSONPatch");
  return JSON.parse(Buffer.from(response.patch!, "base64").toString("utf8"));
}

describe("validating handlers", () => {
  test("receive the typed context and decide", async () => {
    let seen: unknown;
    const webhook = validatingWebhook(ConfigMap, {
      name: "configmaps.validate.example.com",
      validate: (ctx) => {
        seen = {
          operation: ctx.operation,
          owner: ctx.object?.data?.owner,
          oldObject: ctx.oldObject,
          user: ctx.userInfo.username,
          dryRun: ctx.dryRun,
          name: ctx.name,
          namespace: ctx.namespace,
        };
        return { allowed: true };
      },
    });
    const response = await admit(webhook, request());
    assert.deepEqual(response, { uid: "uid-1", allowed: true });
    assert.deepEqual(seen, {
      operation: "CREATE",
      owner: "alice",
      oldObject: undefined,
      user: "alice",
      dryRun: false,
      name: "settings",
      namespace: "prod",
    });
  });

  test("narrow object and oldObject by operation; DELETE has no object", async () => {
    const seen: string[] = [];
    const webhook = validatingWebhook(ConfigMap, {
      name: "configmaps.validate.example.com",
      operations: ["UPDATE", "DELETE"],
      validate: (ctx) => {
        if (ctx.operation === "UPDATE")
          seen.push(`update ${ctx.oldObject.data?.v}→${ctx.object.data?.v}`);
        if (ctx.operation === "DELETE") seen.push(`delete ${ctx.oldObject.data?.v} ${ctx.object}`);
      },
    });
    await admit(
      webhook,
      request({
        operation: "UPDATE",
        object: configMap({ v: "2" }),
        oldObject: configMap({ v: "1" }),
      }),
    );
    await admit(
      webhook,
      request({ operation: "DELETE", object: null, oldObject: configMap({ v: "2" }) }),
    );
    assert.deepEqual(seen, ["update 1→2", "delete 2 undefined"]);
  });

  test("returning nothing allows", async () => {
    const webhook = validatingWebhook(ConfigMap, { name: "a.b.c", validate: () => {} });
    assert.deepEqual(await admit(webhook, request()), { uid: "uid-1", allowed: true });
  });

  test("a refusal carries the reason, the code (default 403) and all warnings", async () => {
    const webhook = validatingWebhook(ConfigMap, {
      name: "a.b.c",
      validate: ({ warn }) => {
        warn("from warn()");
        return {
          allowed: false,
          reason: "data.owner is required",
          code: 422,
          warnings: ["from the result"],
        };
      },
    });
    assert.deepEqual(await admit(webhook, request()), {
      uid: "uid-1",
      allowed: false,
      status: {
        status: "Failure",
        code: 422,
        reason: "Invalid",
        message: "data.owner is required",
      },
      warnings: ["from warn()", "from the result"],
    });
    const plain = validatingWebhook(ConfigMap, {
      name: "a.b.c",
      validate: () => ({ allowed: false, reason: "no" }),
    });
    assert.equal((await admit(plain, request())).status?.code, 403);
  });

  test("warnings reach an allowing response too", async () => {
    const webhook = validatingWebhook(ConfigMap, {
      name: "a.b.c",
      validate: async ({ warn }) => {
        warn("one");
        await sleep(1);
        return { allowed: true, warnings: ["two"] };
      },
    });
    assert.deepEqual((await admit(webhook, request())).warnings, ["one", "two"]);
  });

  test("throwing Denied refuses, synchronously or not", async () => {
    for (const validate of [
      () => {
        throw new Denied("owner must be a team", { code: 400, warnings: ["see docs"] });
      },
      async () => {
        await sleep(1);
        throw new Denied("owner must be a team", { code: 400, warnings: ["see docs"] });
      },
    ]) {
      const webhook = validatingWebhook(ConfigMap, { name: "a.b.c", validate });
      assert.deepEqual(await admit(webhook, request()), {
        uid: "uid-1",
        allowed: false,
        status: {
          status: "Failure",
          code: 400,
          reason: "BadRequest",
          message: "owner must be a team",
        },
        warnings: ["see docs"],
      });
    }
  });

  test("an unexpected exception is a 500 denial naming the webhook and the error, and is logged", async () => {
    const { logger, lines } = recordingLogger();
    const webhook = validatingWebhook(ConfigMap, {
      name: "configmaps.validate.example.com",
      validate: (ctx) => {
        ctx.warn("before the crash");
        const data = ctx.object?.data as unknown as { nested: { deeper: string } };
        return data.nested.deeper === "x" ? { allowed: true } : { allowed: false, reason: "x" };
      },
    });
    const response = await admit(webhook, request(), { logger });
    assert.equal(response.allowed, false);
    assert.equal(response.status?.code, 500);
    assert.equal(response.status?.reason, "InternalError");
    assert.match(
      response.status?.message ?? "",
      /^internal error in webhook "configmaps\.validate\.example\.com": Cannot read properties of undefined/,
    );
    assert.deepEqual(response.warnings, ["before the crash"]);
    const logged = lines.find((line) => line.level === "error");
    assert.ok(logged, "the failure is logged");
    assert.equal(logged.fields.webhook, "configmaps.validate.example.com");
    assert.equal(logged.fields.uid, "uid-1");
    assert.ok(logged.fields.err instanceof TypeError);
  });

  test("a thrown non-Error and a malformed result are denials too", async () => {
    const throwsString = validatingWebhook(ConfigMap, {
      name: "a.b.c",
      validate: () => {
        throw "plain string";
      },
    });
    assert.match((await admit(throwsString, request())).status?.message ?? "", /plain string/);
    const badResult = validatingWebhook(ConfigMap, {
      name: "a.b.c",
      validate: () => "yes" as never,
    });
    const response = await admit(badResult, request());
    assert.equal(response.allowed, false);
    assert.match(response.status?.message ?? "", /validate returned "yes"/);
  });
});

describe("deadlines and cancellation", () => {
  test("a handler slower than its deadline is abandoned and its signal aborts", async () => {
    let aborted: unknown;
    const webhook = validatingWebhook(ConfigMap, {
      name: "a.b.c",
      validate: async ({ signal }) => {
        try {
          await sleep(5_000, undefined, { signal });
        } catch (error) {
          aborted = error;
          throw error;
        }
      },
    });
    await assert.rejects(admit(webhook, request(), { timeoutMs: 50 }), (error: unknown) => {
      assert.ok(error instanceof AdmissionAbandoned);
      assert.equal(error.httpStatus, 504);
      assert.match(error.message, /did not answer within 0.05s/);
      return true;
    });
    await sleep(0);
    assert.equal(
      (aborted as Error | undefined)?.name,
      "AbortError",
      "the sleep was cancelled, not left running",
    );
  });

  test("the handler's signal aborts once the answer is given, so tied-up work stops", async () => {
    let signal: AbortSignal | undefined;
    const webhook = validatingWebhook(ConfigMap, {
      name: "a.b.c",
      validate: (ctx) => {
        signal = ctx.signal;
      },
    });
    await admit(webhook, request());
    assert.equal(signal?.aborted, true);
  });

  test("an outside abort abandons the call with 503", async () => {
    const controller = new AbortController();
    const webhook = validatingWebhook(ConfigMap, {
      name: "a.b.c",
      validate: ({ signal }) => sleep(5_000, undefined, { signal }).then(() => undefined),
    });
    const pending = admit(webhook, request(), { signal: controller.signal });
    controller.abort();
    await assert.rejects(
      pending,
      (error: unknown) => error instanceof AdmissionAbandoned && error.httpStatus === 503,
    );
    let called = false;
    const never = validatingWebhook(ConfigMap, {
      name: "a.b.c",
      validate: () => {
        called = true;
      },
    });
    await assert.rejects(
      admit(never, request(), { signal: AbortSignal.abort() }),
      AdmissionAbandoned,
    );
    assert.equal(called, false, "a handler is not started for a call already cancelled");
  });
});

describe("mutating handlers", () => {
  test("the returned object becomes a JSON patch against the original", async () => {
    const original = request({ object: configMap({ owner: "alice", stale: "x" }, { app: "web" }) });
    const webhook = mutatingWebhook(ConfigMap, {
      name: "configmaps.mutate.example.com",
      mutate: ({ object }) => {
        if (!object) return;
        object.metadata.labels = { ...object.metadata.labels, "example.com/managed": "true" };
        delete object.data?.stale;
        return object;
      },
    });
    const response = await admit(webhook, original);
    assert.equal(response.allowed, true);
    const patch = decodePatch(response) as Parameters<typeof applyJsonPatch>[1];
    assert.deepEqual(patch, [
      { op: "add", path: "/metadata/labels/example.com~1managed", value: "true" },
      { op: "remove", path: "/data/stale" },
    ]);
    assert.deepEqual(
      applyJsonPatch(original.object, patch),
      configMap({ owner: "alice" }, { app: "web", "example.com/managed": "true" }),
    );
    // The request's own object is untouched: the handler worked on a copy.
    assert.deepEqual(original.object, configMap({ owner: "alice", stale: "x" }, { app: "web" }));
  });

  test("returning nothing sends the in-place changes; returning a new object works too", async () => {
    const inPlace = mutatingWebhook(ConfigMap, {
      name: "a.b.c",
      mutate: ({ object }) => {
        if (object) object.data = { ...object.data, added: "1" };
      },
    });
    assert.deepEqual(decodePatch(await admit(inPlace, request())), [
      { op: "add", path: "/data/added", value: "1" },
    ]);
    const fresh = mutatingWebhook(ConfigMap, {
      name: "a.b.c",
      mutate: ({ object }) => (object ? { ...object, immutable: true } : undefined),
    });
    assert.deepEqual(decodePatch(await admit(fresh, request())), [
      { op: "add", path: "/immutable", value: true },
    ]);
  });

  test("no change means no patch; undefined members and Dates are sent as JSON would", async () => {
    const unchanged = mutatingWebhook(ConfigMap, { name: "a.b.c", mutate: ({ object }) => object });
    assert.deepEqual(await admit(unchanged, request()), { uid: "uid-1", allowed: true });
    const jsonish = mutatingWebhook(ConfigMap, {
      name: "a.b.c",
      mutate: ({ object }) => {
        if (!object) return;
        (object as Record<string, unknown>).ignored = undefined;
        object.metadata.annotations = { at: new Date(0) as unknown as string };
      },
    });
    assert.deepEqual(decodePatch(await admit(jsonish, request())), [
      { op: "add", path: "/metadata/annotations", value: { at: "1970-01-01T00:00:00.000Z" } },
    ]);
  });

  test("a mutating handler can refuse, warn and fail like a validating one", async () => {
    const refuses = mutatingWebhook(ConfigMap, {
      name: "a.b.c",
      mutate: ({ warn }) => {
        warn("w");
        throw new Denied("not allowed here");
      },
    });
    const denied = await admit(refuses, request());
    assert.equal(denied.allowed, false);
    assert.equal(denied.status?.message, "not allowed here");
    assert.deepEqual(denied.warnings, ["w"]);
    const wrongReturn = mutatingWebhook(ConfigMap, { name: "a.b.c", mutate: () => 42 as never });
    const failed = await admit(wrongReturn, request());
    assert.equal(failed.status?.code, 500);
    assert.match(failed.status?.message ?? "", /mutate returned 42/);
  });

  test("DELETE has no object to patch: whatever the handler returns, no patch is sent", async () => {
    const webhook = mutatingWebhook(ConfigMap, {
      name: "a.b.c",
      operations: ["DELETE"],
      mutate: ({ oldObject }) => ({ ...oldObject!, data: { changed: "yes" } }),
    });
    const response = await admit(
      webhook,
      request({ operation: "DELETE", object: null, oldObject: configMap({}) }),
    );
    assert.deepEqual(response, { uid: "uid-1", allowed: true });
  });
});

describe("field causes, default names, the cache and the kind", () => {
  test("a denial with causes lists them in the message and sends them as details", async () => {
    const webhook = validatingWebhook(ConfigMap, {
      validate: () => ({
        allowed: false,
        reason: "ConfigMap settings is invalid",
        causes: [
          { field: "data.owner", message: "is required" },
          { field: "data.size", message: "must be a number", reason: "FieldValueTypeInvalid" },
        ],
      }),
    });
    const response = await admit(webhook, request());
    assert.deepEqual(response.status, {
      status: "Failure",
      code: 403,
      reason: "Forbidden",
      message:
        "ConfigMap settings is invalid: data.owner: is required, data.size: must be a number",
      details: {
        causes: [
          { reason: "FieldValueInvalid", message: "is required", field: "data.owner" },
          { reason: "FieldValueTypeInvalid", message: "must be a number", field: "data.size" },
        ],
      },
    });
    const thrown = validatingWebhook(ConfigMap, {
      validate: () => {
        throw new Denied("bad", { causes: [{ field: "data.a", message: "no" }], code: 409 });
      },
    });
    const conflict = await admit(thrown, request());
    assert.equal(conflict.status?.code, 409);
    assert.equal(conflict.status?.message, "bad: data.a: no");
  });

  test("names default to kubebuilder's style, with three segments for built-in groups", () => {
    assert.equal(
      validatingWebhook(ConfigMap, { validate: () => {} }).name,
      "vconfigmap-v1.core.k8s.io",
    );
    assert.equal(
      mutatingWebhook(ConfigMap, { mutate: () => {} }).name,
      "mconfigmap-v1.core.k8s.io",
    );
  });

  test("ctx.cache reads through the reader given, and says how to get one when there is none", async () => {
    const webhook = validatingWebhook(ConfigMap, {
      validate: async ({ cache, namespace }) => {
        const other = await cache.get(ConfigMap, "other", namespace);
        if (other) return { allowed: false, reason: `taken by ${other.metadata.name}` };
      },
    });
    const cache = {
      get: async <T>(_type: unknown, name: string, namespace?: string) =>
        (name === "other" && namespace === "prod" ? configMap({}) : undefined) as T | undefined,
      list: async () => [],
    };
    const found = await admit(webhook, request(), { cache });
    assert.equal(found.status?.message, "taken by settings");
    const without = await admit(webhook, request());
    assert.equal(without.status?.code, 500);
    assert.match(without.status?.message ?? "", /served without a cache/);
  });

  test("an object of another kind is refused before the handler runs; subresources are not checked", async () => {
    let calls = 0;
    const failures: string[] = [];
    const webhook = validatingWebhook(ConfigMap, {
      validate: () => {
        calls++;
      },
    });
    const pod = await admit(webhook, request({ kind: { group: "", version: "v1", kind: "Pod" } }), {
      onFailure: (reason) => failures.push(reason),
    });
    assert.equal(pod.allowed, false);
    assert.equal(pod.status?.code, 400);
    assert.equal(calls, 0);
    assert.deepEqual(failures, ["unknown_kind"]);
    const scale = await admit(
      webhook,
      request({
        kind: { group: "autoscaling", version: "v1", kind: "Scale" },
        subResource: "scale",
      }),
    );
    assert.equal(scale.allowed, true);
    assert.equal(calls, 1);
  });
});

test("a handler that throws is a denial with failurePolicy Fail, and allowed with a warning with Ignore", async () => {
  const failures: string[] = [];
  const broken = (failurePolicy: "Fail" | "Ignore") =>
    validatingWebhook(ConfigMap, {
      failurePolicy,
      validate: () => {
        throw new Error("the database is down");
      },
    });
  const denied = await admit(broken("Fail"), request(), {
    onFailure: (reason) => failures.push(reason),
  });
  assert.equal(denied.allowed, false);
  assert.equal(denied.status?.code, 500);
  const allowed = await admit(broken("Ignore"), request(), {
    onFailure: (reason) => failures.push(reason),
  });
  assert.equal(allowed.allowed, true);
  assert.deepEqual(allowed.warnings, [
    'internal error in webhook "vconfigmap-v1.core.k8s.io": the database is down (ignored: failurePolicy is Ignore)',
  ]);
  assert.deepEqual(failures, ["handler_error", "handler_error"], "both counted");
});
