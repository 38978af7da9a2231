import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Type } from "@sinclair/typebox";
import { Agent, request } from "undici";
import { ConfigMap } from "../resources/core.ts";
import { defineResource } from "../resources/define.ts";
import { createDevelopmentCertificates } from "./certificates.ts";
import { defineConversion } from "./conversion.ts";
import { Denied } from "./denied.ts";
import type { WebhookMetrics } from "./metrics.ts";
import { WebhookServer } from "./server.ts";
import type { AdmissionReview } from "./types.ts";
import { mutatingWebhook, validatingWebhook } from "./webhook.ts";

const certs = await createDevelopmentCertificates({ ipAddresses: ["127.0.0.1"] });

function review(
  uid: string,
  object: unknown = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a" } },
) {
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid,
      kind: { group: "", version: "v1", kind: "ConfigMap" },
      resource: { group: "", version: "v1", resource: "configmaps" },
      name: "a",
      namespace: "ns",
      operation: "CREATE",
      userInfo: { username: "alice" },
      object,
      dryRun: false,
    },
  };
}

describe("WebhookServer over HTTPS", () => {
  const handlerSignals: AbortSignal[] = [];
  const deny = validatingWebhook(ConfigMap, {
    name: "deny.validate.example.com",
    validate: ({ object, warn }) => {
      warn("looked at it");
      if (object?.data?.ok !== "yes") throw new Denied("data.ok must be yes");
    },
  });
  const label = mutatingWebhook(ConfigMap, {
    name: "label.mutate.example.com",
    mutate: ({ object }) => {
      if (object) object.metadata.labels = { "example.com/seen": "true" };
    },
  });
  const slow = validatingWebhook(ConfigMap, {
    name: "slow.validate.example.com",
    path: "/slow",
    timeoutSeconds: 5,
    validate: async ({ signal }) => {
      handlerSignals.push(signal);
      await sleep(10_000, undefined, { signal });
    },
  });
  const server = new WebhookServer({
    webhooks: [deny, label, slow],
    certificates: { mode: "static", ...certs },
    port: 0,
    host: "127.0.0.1",
  });
  const agent = new Agent({ connect: { ca: certs.caCertificatePem } });

  before(() => server.start());
  after(async () => {
    await server.close();
    await agent.close();
  });

  async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
    const response = await request(`${server.url}${path}`, {
      method: "POST",
      dispatcher: agent,
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await response.body.text();
    return { status: response.statusCode, text, json: () => JSON.parse(text) };
  }

  test("serves each webhook at its default path", () => {
    assert.deepEqual(
      server.webhooks.map((webhook) => webhook.path),
      ["/validate--v1-configmap", "/mutate--v1-configmap", "/slow"],
    );
    assert.equal(server.url, `https://127.0.0.1:${server.port}`);
    assert.equal(server.caCertificatePem, certs.caCertificatePem);
  });

  test("answers an AdmissionReview with the uid echoed, the decision and warnings", async () => {
    const denied = await post("/validate--v1-configmap", review("uid-deny"));
    assert.equal(denied.status, 200);
    assert.deepEqual(denied.json(), {
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: {
        uid: "uid-deny",
        allowed: false,
        status: {
          status: "Failure",
          code: 403,
          reason: "Forbidden",
          message: "data.ok must be yes",
        },
        warnings: ["looked at it"],
      },
    });
    const allowed = await post(
      "/validate--v1-configmap",
      review("uid-allow", {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "a" },
        data: { ok: "yes" },
      }),
    );
    assert.deepEqual(allowed.json().response, {
      uid: "uid-allow",
      allowed: true,
      warnings: ["looked at it"],
    });
  });

  test("answers a mutation with a base64 JSONPatch", async () => {
    const reply = (
      await post("/mutate--v1-configmap", review("uid-mutate"))
    ).json() as AdmissionReview;
    assert.equal(reply.response?.uid, "uid-mutate");
    assert.equal(reply.response?.patchType, "JSONPatch");
    assert.deepEqual(JSON.parse(Buffer.from(reply.response?.patch ?? "", "base64").toString()), [
      { op: "add", path: "/metadata/labels", value: { "example.com/seen": "true" } },
    ]);
  });

  test("health endpoints answer ok", async () => {
    for (const path of ["/healthz", "/readyz"]) {
      const response = await request(`${server.url}${path}`, { dispatcher: agent });
      assert.equal(response.statusCode, 200);
      assert.equal(await response.body.text(), "ok\n");
    }
  });

  test("refuses what is not an AdmissionReview POST with the right HTTP status", async () => {
    assert.equal((await post("/nowhere", review("x"))).status, 404);
    const get = await request(`${server.url}/validate--v1-configmap`, { dispatcher: agent });
    await get.body.text();
    assert.equal(get.statusCode, 405);
    assert.equal(get.headers.allow, "POST");
    assert.equal((await post("/validate--v1-configmap", "{not json")).status, 400);
    const wrongVersion = await post("/validate--v1-configmap", {
      ...review("x"),
      apiVersion: "admission.k8s.io/v1beta1",
    });
    assert.equal(wrongVersion.status, 400);
    assert.match(wrongVersion.json().message, /unsupported AdmissionReview version/);
    assert.equal(
      (await post("/validate--v1-configmap", "x", { "content-type": "text/plain" })).status,
      415,
    );
  });

  test("refuses a body over the limit with 413", async () => {
    const small = new WebhookServer({
      webhooks: [deny],
      certificates: { mode: "static", ...certs },
      port: 0,
      host: "127.0.0.1",
      maxRequestBytes: 1024,
    });
    await small.start();
    try {
      const big = review("big", {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "a" },
        data: { blob: "x".repeat(4096) },
      });
      const response = await request(`${small.url}/validate--v1-configmap`, {
        method: "POST",
        dispatcher: agent,
        headers: { "content-type": "application/json" },
        body: JSON.stringify(big),
      });
      await response.body.text();
      assert.equal(response.statusCode, 413);
    } finally {
      await small.close();
    }
  });

  test("the API server's ?timeout bounds the handler: an HTTP 504, not a denial, and the handler is aborted", async () => {
    handlerSignals.length = 0;
    const started = Date.now();
    const response = await post("/slow?timeout=200ms", review("uid-slow"));
    assert.equal(response.status, 504);
    assert.match(response.json().message, /did not answer within 0.2s/);
    assert.ok(
      Date.now() - started < 5_000,
      "the 200 ms from the caller won over the 5 s configured",
    );
    assert.equal(handlerSignals.length, 1);
    assert.equal(handlerSignals[0]?.aborted, true);
  });

  test("a caller hanging up aborts the handler", async () => {
    handlerSignals.length = 0;
    const controller = new AbortController();
    const pending = request(`${server.url}/slow`, {
      method: "POST",
      dispatcher: agent,
      headers: { "content-type": "application/json" },
      body: JSON.stringify(review("uid-hangup")),
      signal: controller.signal,
    });
    while (handlerSignals.length === 0) await sleep(10);
    controller.abort();
    await assert.rejects(pending);
    while (!handlerSignals[0]?.aborted) await sleep(10);
  });
});

describe("WebhookServer lifecycle", () => {
  test("development mode makes a certificate for localhost that its CA verifies", async () => {
    const ping = validatingWebhook(ConfigMap, {
      name: "ping.example.com.test",
      validate: () => {},
    });
    const server = new WebhookServer({
      webhooks: [ping],
      certificates: { mode: "development" },
      port: 0,
      host: "127.0.0.1",
    });
    await server.start();
    const agent = new Agent({ connect: { ca: server.caCertificatePem! } });
    try {
      const response = await request(`${server.url}/healthz`, { dispatcher: agent });
      assert.equal(await response.body.text(), "ok\n");
      const localhost = await request(`https://localhost:${server.port}/healthz`, {
        dispatcher: agent,
      });
      assert.equal(localhost.statusCode, 200);
      await localhost.body.text();
    } finally {
      await agent.close();
      await server.close();
    }
  });

  test("close lets a running request finish, then stops", async () => {
    const finishing = validatingWebhook(ConfigMap, {
      name: "finishing.example.com.test",
      validate: async () => {
        await sleep(300);
        return { allowed: true };
      },
    });
    const server = new WebhookServer({
      webhooks: [finishing],
      certificates: { mode: "static", ...certs },
      port: 0,
      host: "127.0.0.1",
    });
    await server.start();
    const agent = new Agent({ connect: { ca: certs.caCertificatePem } });
    try {
      const pending = request(`${server.url}/validate--v1-configmap`, {
        method: "POST",
        dispatcher: agent,
        headers: { "content-type": "application/json" },
        body: JSON.stringify(review("uid-finish")),
      });
      await sleep(100);
      const url = server.url;
      const closed = server.close();
      const response = await pending;
      assert.equal(response.statusCode, 200);
      assert.equal(
        (JSON.parse(await response.body.text()) as AdmissionReview).response?.allowed,
        true,
      );
      await closed;
      const fresh = new Agent({ connect: { ca: certs.caCertificatePem } });
      await assert.rejects(request(`${url}/healthz`, { dispatcher: fresh }), /ECONNREFUSED/);
      await fresh.close();
    } finally {
      await agent.close();
    }
  });

  test("close aborts handlers still running after the grace period (503: the failure policy applies)", async () => {
    let signal: AbortSignal | undefined;
    const stuck = validatingWebhook(ConfigMap, {
      name: "stuck.example.com.test",
      validate: async (ctx) => {
        signal = ctx.signal;
        await sleep(30_000, undefined, { signal: ctx.signal });
      },
    });
    const server = new WebhookServer({
      webhooks: [stuck],
      certificates: { mode: "static", ...certs },
      port: 0,
      host: "127.0.0.1",
    });
    await server.start();
    const agent = new Agent({ connect: { ca: certs.caCertificatePem } });
    try {
      const pending = request(`${server.url}/validate--v1-configmap`, {
        method: "POST",
        dispatcher: agent,
        headers: { "content-type": "application/json" },
        body: JSON.stringify(review("uid-stuck")),
      });
      while (!signal) await sleep(10);
      await server.close({ graceMs: 100 });
      assert.equal(signal.aborted, true);
      // The aborted call is answered with 503 before the connection closes: to the API server a
      // failed call, so the webhook's failure policy applies.
      const response = await pending;
      assert.equal(response.statusCode, 503);
      assert.equal(response.headers.connection, "close");
      assert.match(JSON.parse(await response.body.text()).message, /cancelled/);
    } finally {
      await agent.close();
    }
  });

  test("a port already in use fails start and leaves nothing running", async () => {
    const first = new WebhookServer({
      webhooks: [],
      certificates: { mode: "static", ...certs },
      port: 0,
      host: "127.0.0.1",
    });
    await first.start();
    const second = new WebhookServer({
      webhooks: [],
      certificates: { mode: "static", ...certs },
      port: first.port,
      host: "127.0.0.1",
    });
    try {
      await assert.rejects(second.start(), /EADDRINUSE/);
      assert.throws(() => second.port, /not listening/);
    } finally {
      await first.close();
      await second.close();
    }
  });

  test("refuses two webhooks on one path", () => {
    const a = validatingWebhook(ConfigMap, { name: "a.example.com", validate: () => {} });
    const b = validatingWebhook(ConfigMap, { name: "b.example.com", validate: () => {} });
    assert.throws(
      () => new WebhookServer({ webhooks: [a, b], certificates: { mode: "development" } }),
      /share the path \/validate--v1-configmap/,
    );
  });
});

describe("bad input is answered, counted, and the server keeps serving", () => {
  const Widget = defineResource({
    group: "example.com",
    kind: "Widget",
    plural: "widgets",
    scope: "Namespaced",
    versions: {
      v1: { spec: Type.Object({ size: Type.Integer() }), storage: true },
      v2: { spec: Type.Object({ width: Type.Integer() }) },
    },
  });
  const widgets = defineConversion(Widget, {
    hub: "v1",
    spokes: {
      v2: {
        toHub: ({ spec }) => ({ spec: { size: spec.width } }),
        fromHub: ({ spec }) => {
          if (spec.size < 0) throw new Error("a negative size has no width");
          return { spec: { width: spec.size } };
        },
      },
    },
  });
  const calls: string[] = [];
  const recorded: WebhookMetrics = {
    started: (webhook) => calls.push(`started ${webhook}`),
    finished: (webhook, code) => calls.push(`finished ${webhook} ${code}`),
    failed: (webhook, reason) => calls.push(`failed ${webhook} ${reason}`),
  };
  const check = validatingWebhook(ConfigMap, {
    timeoutSeconds: 1,
    validate: async ({ object }) => {
      if (object?.data?.mode === "throw") throw new Error("the handler broke");
      if (object?.data?.mode === "slow") await sleep(5_000);
    },
  });
  const server = new WebhookServer({
    webhooks: [check],
    conversions: [widgets],
    certificates: { mode: "static", ...certs },
    port: 0,
    host: "127.0.0.1",
    maxRequestBytes: 2048,
    metrics: recorded,
  });
  const agent = new Agent({ connect: { ca: certs.caCertificatePem } });
  before(() => server.start());
  after(async () => {
    await server.close();
    await agent.close();
  });

  async function post(path: string, body: unknown) {
    const response = await request(`${server.url}${path}`, {
      method: "POST",
      dispatcher: agent,
      headers: { "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await response.body.text();
    return { status: response.statusCode, json: () => JSON.parse(text) };
  }
  const path = "/validate--v1-configmap";
  const withData = (data: Record<string, string>) =>
    review("u", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a" }, data });

  async function stillServes() {
    const answer = await post(path, withData({ mode: "fine" }));
    assert.equal(answer.status, 200);
    assert.equal(answer.json().response.allowed, true);
  }

  test("each kind of bad input gets its answer and its count", async () => {
    calls.length = 0;
    assert.equal((await post(path, "{not json")).status, 400);
    await stillServes();
    assert.equal((await post(path, withData({ blob: "x".repeat(4096) }))).status, 413);
    await stillServes();
    const pod = review("u-pod", { apiVersion: "v1", kind: "Pod", metadata: { name: "p" } });
    pod.request.kind = { group: "", version: "v1", kind: "Pod" };
    const wrongKind = (await post(path, pod)).json().response;
    assert.equal(wrongKind.allowed, false);
    assert.equal(wrongKind.status.code, 400);
    assert.match(wrongKind.status.message, /handles v1 ConfigMap, but the request is for v1 Pod/);
    await stillServes();
    const thrown = (await post(path, withData({ mode: "throw" }))).json().response;
    assert.equal(thrown.allowed, false);
    assert.equal(thrown.status.code, 500);
    assert.match(thrown.status.message, /internal error in webhook .*: the handler broke/);
    await stillServes();
    assert.equal((await post(path, withData({ mode: "slow" }))).status, 504);
    await stillServes();

    const failures = calls.filter((call) => call.startsWith("failed"));
    assert.deepEqual(failures, [
      `failed ${path} bad_request`,
      `failed ${path} too_large`,
      `failed ${path} unknown_kind`,
      `failed ${path} handler_error`,
      `failed ${path} timeout`,
    ]);
    const finished = calls
      .filter((call) => call.startsWith("finished"))
      .map((c) => c.split(" ")[2]);
    assert.deepEqual(finished, [
      "400",
      "200",
      "413",
      "200",
      "200",
      "200",
      "200",
      "200",
      "504",
      "200",
    ]);
    assert.equal(
      calls.filter((call) => call.startsWith("started")).length,
      finished.length,
      "every request started is finished",
    );
    // Unknown paths are not counted: their label values would be whatever callers send.
    calls.length = 0;
    assert.equal((await post("/no/such/path", "{}")).status, 404);
    assert.deepEqual(calls, []);
  });

  test("/convert converts, and a conversion that throws fails the review with its message", async () => {
    const conversionReview = (desiredAPIVersion: string, size: number) => ({
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "ConversionReview",
      request: {
        uid: "c-1",
        desiredAPIVersion,
        objects: [
          {
            apiVersion: "example.com/v1",
            kind: "Widget",
            metadata: { name: "w", namespace: "ns" },
            spec: { size },
          },
        ],
      },
    });
    calls.length = 0;
    const converted = await post("/convert", conversionReview("example.com/v2", 4));
    assert.equal(converted.status, 200);
    assert.deepEqual(converted.json().response.result, { status: "Success" });
    assert.deepEqual(converted.json().response.convertedObjects[0].spec, { width: 4 });
    const failed = (await post("/convert", conversionReview("example.com/v2", -1))).json();
    assert.deepEqual(failed.response.result, {
      status: "Failure",
      message: "converting Widget ns/w from v1 to v2: a negative size has no width",
    });
    assert.equal((await post("/convert", { kind: "AdmissionReview" })).status, 400);
    assert.deepEqual(
      calls.filter((call) => call.startsWith("failed")),
      ["failed /convert handler_error", "failed /convert bad_request"],
    );
    assert.equal(server.listening, true);
  });
});
