import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OpenTelemetryExporter, openTelemetrySetting } from "./otel.ts";

describe("OpenTelemetry settings from OTEL_* variables", () => {
  it("is off unless the variables ask for traces", () => {
    assert.equal(openTelemetrySetting({}).enabled, false);
    assert.equal(
      openTelemetrySetting({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318",
        OTEL_SDK_DISABLED: "true",
      }).enabled,
      false,
    );
    assert.equal(
      openTelemetrySetting({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318",
        OTEL_TRACES_EXPORTER: "none",
      }).enabled,
      false,
    );
  });

  it("exports OTLP over HTTP, protobuf unless JSON is asked for", () => {
    assert.deepEqual(openTelemetrySetting({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" }), {
      enabled: true,
      exporter: "otlp",
      protocol: "http/protobuf",
    });
    assert.deepEqual(
      openTelemetrySetting({
        OTEL_TRACES_EXPORTER: "otlp",
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json",
      }),
      { enabled: true, exporter: "otlp", protocol: "http/json" },
    );
    assert.deepEqual(openTelemetrySetting({ OTEL_TRACES_EXPORTER: "console" }), {
      enabled: true,
      exporter: "console",
    });
  });

  it("says what to use instead of what it does not support", () => {
    assert.throws(
      () =>
        openTelemetrySetting({
          OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4317",
          OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
        }),
      /http\/protobuf or http\/json.*4318/,
    );
    assert.throws(
      () => openTelemetrySetting({ OTEL_TRACES_EXPORTER: "zipkin" }),
      /otlp or console/,
    );
  });

  it("loads nothing when off", async () => {
    assert.equal(await OpenTelemetryExporter.fromEnv({ serviceName: "x", env: {} }), undefined);
  });
});
