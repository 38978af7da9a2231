/**
 * OpenTelemetry end to end: an operator run with the standard OTEL_* variables sends OTLP to a
 * collector (here, a small HTTP receiver in the test), with a span per reconcile, a child span
 * per API write, and links from a reconcile to the write whose watch event triggered it.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import myapp, { MyApp } from "../../examples/myapp/myapp.ts";
import { KubeClient } from "../client/client.ts";
import { eventually, runOperator } from "../testkit/operator-harness.ts";
import { testControlPlane } from "../testkit/shared.ts";
import { installCustomResources } from "./install.ts";

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  arrayValue?: { values: OtlpValue[] };
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: { key: string; value: OtlpValue }[];
  links?: { traceId: string; spanId: string; attributes: { key: string; value: OtlpValue }[] }[];
  status?: { code?: number; message?: string };
}

/** A collector's OTLP/HTTP endpoint: keeps every request it receives. */
async function collector(): Promise<{
  url: string;
  requests: { contentType: string; body: Buffer }[];
  server: Server;
}> {
  const requests: { contentType: string; body: Buffer }[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      if (request.method === "POST" && request.url === "/v1/traces") {
        requests.push({
          contentType: request.headers["content-type"] ?? "",
          body: Buffer.concat(chunks),
        });
        response.writeHead(200, { "content-type": "application/json" });
        response.end("{}");
      } else {
        response.writeHead(404);
        response.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, server };
}

function attribute(span: OtlpSpan, key: string): unknown {
  const value = span.attributes.find((a) => a.key === key)?.value;
  if (!value) return undefined;
  if (value.arrayValue) return value.arrayValue.values.map((v) => v.stringValue);
  return (
    value.stringValue ??
    value.boolValue ??
    (value.intValue !== undefined ? Number(value.intValue) : undefined)
  );
}

function spansOf(requests: { body: Buffer }[]): OtlpSpan[] {
  return requests.flatMap((request) => {
    const body = JSON.parse(request.body.toString("utf8")) as {
      resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[];
    };
    return body.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
  });
}

let client: KubeClient;
const saved = { ...process.env };
before(async () => {
  const plane = await testControlPlane();
  client = await KubeClient.fromKubeConfig({
    kubeconfig: plane.kubeconfigPath,
    fieldManager: "test",
  });
  await installCustomResources(client, [MyApp]);
});
after(async () => {
  process.env = saved;
  await client?.close();
});

test("reconciles arrive at an OTLP collector as spans with write children and trigger links", async () => {
  const plane = await testControlPlane();
  const namespace = await plane.createNamespace("otel");
  const otlp = await collector();
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = otlp.url;
  process.env.OTEL_EXPORTER_OTLP_PROTOCOL = "http/json";
  process.env.OTEL_SERVICE_NAME = "myapp-test";
  process.env.OTEL_BSP_SCHEDULE_DELAY = "100";
  const harness = await runOperator(myapp, { plane, namespace });
  try {
    await client.create(MyApp, {
      metadata: { name: "shop", namespace },
      spec: { replicas: 2, image: "nginx:1.27", port: 8080 },
    });
    const spans = await eventually(
      () => {
        const all = spansOf(otlp.requests);
        const first = all.find(
          (s) =>
            s.name === "reconcile MyApp" &&
            all.some((c) => c.parentSpanId === s.spanId && c.name === "create Deployment"),
        );
        const linked = all.find((s) => s.name === "reconcile MyApp" && (s.links?.length ?? 0) > 0);
        return first && linked ? { all, first, linked } : undefined;
      },
      { message: "reconcile spans with children and a linked echo", timeoutMs: 30_000 },
    );
    const body = JSON.parse(otlp.requests[0]!.body.toString("utf8")) as {
      resourceSpans: { resource: { attributes: { key: string; value: OtlpValue }[] } }[];
    };
    assert.equal(
      body.resourceSpans[0]!.resource.attributes.find((a) => a.key === "service.name")?.value
        .stringValue,
      "myapp-test",
    );
    const { all, first, linked } = spans;
    assert.equal(attribute(first, "operon.operator"), "myapp");
    assert.equal(attribute(first, "operon.parent"), `${namespace}/shop`);
    assert.deepEqual(attribute(first, "operon.reasons"), ["parent-changed"]);
    assert.equal(attribute(first, "operon.outcome"), "ok");
    assert.equal(attribute(first, "k8s.namespace.name"), namespace);
    const children = all.filter((s) => s.parentSpanId === first.spanId);
    assert.deepEqual(children.map((s) => s.name).sort(), [
      "apply MyApp/status",
      "create Deployment",
      "create Service",
    ]);
    for (const child of children) {
      assert.equal(child.traceId, first.traceId);
      assert.ok(BigInt(child.startTimeUnixNano) >= BigInt(first.startTimeUnixNano));
      assert.ok(BigInt(child.endTimeUnixNano) <= BigInt(first.endTimeUnixNano) + 1_000_000n);
    }
    // The echo of a create links to that create's span.
    const link = linked.links![0]!;
    const target = all.find((s) => s.spanId === link.spanId);
    assert.ok(target, "the linked span was exported");
    assert.match(target.name, /^create (Deployment|Service)$/);
    assert.equal(link.traceId, target.traceId);
    assert.equal(
      link.attributes.find((a) => a.key === "operon.trigger.reason")?.value.stringValue,
      "child-changed",
    );
  } finally {
    await harness.stop();
    otlp.server.close();
  }
});

test("the default protocol is OTLP protobuf over HTTP", async () => {
  const plane = await testControlPlane();
  const namespace = await plane.createNamespace("otel-proto");
  const otlp = await collector();
  process.env = { ...saved, OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_BSP_SCHEDULE_DELAY: "100" };
  const harness = await runOperator(myapp, { plane, namespace });
  try {
    await client.create(MyApp, {
      metadata: { name: "blog", namespace },
      spec: { replicas: 1, image: "ghost:5", port: 8080 },
    });
    await eventually(() => otlp.requests.length > 0, {
      message: "an OTLP request",
      timeoutMs: 30_000,
    });
    assert.equal(otlp.requests[0]!.contentType, "application/x-protobuf");
    assert.ok(otlp.requests[0]!.body.includes(Buffer.from("reconcile MyApp")));
  } finally {
    await harness.stop();
    otlp.server.close();
  }
});
