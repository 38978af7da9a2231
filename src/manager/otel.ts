/**
 * OpenTelemetry: an exporter of the reconcile trace, not a second path through the reconciler.
 * Each trace record becomes a span (`reconcile <Kind>`: operator, parent, reasons, outcome) with
 * a child span per API write it made, linked to the write span that produced its triggering
 * watch event when there is one (the echo of an earlier reconcile's write, in this process).
 *
 * It is on when the standard `OTEL_*` environment variables ask for it, and then loads the
 * official `@opentelemetry/*` packages; when they do not, nothing is loaded and nothing runs.
 *
 * | variable | effect |
 * | --- | --- |
 * | `OTEL_SDK_DISABLED=true` | off, whatever else is set |
 * | `OTEL_TRACES_EXPORTER` | `otlp` or `console`: on; `none`: off |
 * | `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` | on (OTLP), sent there |
 * | `OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL` | `http/protobuf` (default) or `http/json` |
 * | `OTEL_EXPORTER_OTLP_(TRACES_)HEADERS`, `_TIMEOUT`, `_COMPRESSION`, certificates | as the OTLP exporters read them |
 * | `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES` | the resource (default service name: the first operator's) |
 * | `OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG` | `always_on` (default), `always_off`, `traceidratio`, `parentbased_*` |
 * | `OTEL_BSP_SCHEDULE_DELAY`, `_MAX_EXPORT_BATCH_SIZE`, `_MAX_QUEUE_SIZE`, `_EXPORT_TIMEOUT` | the batch span processor |
 */
import type { Link, SpanContext, Tracer } from "@opentelemetry/api";
import type { Logger } from "../logger.ts";
import type { TraceRecord } from "./trace-store.ts";

type Env = Readonly<Record<string, string | undefined>>;

/** What the environment asks for: off, or an exporter and its protocol. */
export type OpenTelemetrySetting =
  | { enabled: false; reason: string }
  | { enabled: true; exporter: "otlp"; protocol: "http/protobuf" | "http/json" }
  | { enabled: true; exporter: "console" };

/**
 * Reads the standard variables: on only when they ask for traces to be exported.
 *
 * @example
 * openTelemetrySetting({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://localhost:4318" });
 * // { enabled: true, exporter: "otlp", protocol: "http/protobuf" }
 */
export function openTelemetrySetting(env: Env = process.env): OpenTelemetrySetting {
  if ((env.OTEL_SDK_DISABLED ?? "").trim().toLowerCase() === "true") {
    return { enabled: false, reason: "OTEL_SDK_DISABLED=true" };
  }
  const exporters = (env.OTEL_TRACES_EXPORTER ?? "")
    .split(",")
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== "");
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (exporters.includes("none")) return { enabled: false, reason: "OTEL_TRACES_EXPORTER=none" };
  if (exporters.length === 0 && !endpoint) {
    return { enabled: false, reason: "no OTEL_TRACES_EXPORTER or OTEL_EXPORTER_OTLP_ENDPOINT" };
  }
  if (exporters.includes("console") && !exporters.includes("otlp")) {
    return { enabled: true, exporter: "console" };
  }
  if (exporters.length > 0 && !exporters.includes("otlp")) {
    throw new Error(
      `OTEL_TRACES_EXPORTER=${env.OTEL_TRACES_EXPORTER}: Operon exports traces with otlp or console (or none)`,
    );
  }
  const protocol = (
    env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ||
    env.OTEL_EXPORTER_OTLP_PROTOCOL ||
    "http/protobuf"
  )
    .trim()
    .toLowerCase();
  if (protocol !== "http/protobuf" && protocol !== "http/json") {
    throw new Error(
      `OTEL_EXPORTER_OTLP_PROTOCOL=${protocol}: Operon sends OTLP over HTTP (http/protobuf or http/json); ` +
        "a collector receives it on port 4318, e.g. OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318",
    );
  }
  return { enabled: true, exporter: "otlp", protocol };
}

/** Span attribute names. */
const attributes = {
  operator: "operon.operator",
  parent: "operon.parent",
  kind: "operon.parent.kind",
  apiVersion: "operon.parent.api_version",
  namespace: "k8s.namespace.name",
  reasons: "operon.reasons",
  outcome: "operon.outcome",
  phase: "operon.phase",
  reconcileId: "operon.reconcile_id",
  writes: "operon.writes",
  functionMs: "operon.function.duration_ms",
  writesMs: "operon.writes.duration_ms",
  next: "operon.next",
} as const;

/** Turns trace records into spans; see the module comment. */
export class OpenTelemetryExporter {
  readonly #tracer: Tracer;
  readonly #provider: { forceFlush(): Promise<void>; shutdown(): Promise<void> };
  readonly #api: typeof import("@opentelemetry/api");
  /** `uid@resourceVersion` written → the span of that write, for links (bounded). */
  readonly #writeSpans = new Map<string, SpanContext>();

  private constructor(
    api: typeof import("@opentelemetry/api"),
    tracer: Tracer,
    provider: { forceFlush(): Promise<void>; shutdown(): Promise<void> },
  ) {
    this.#api = api;
    this.#tracer = tracer;
    this.#provider = provider;
  }

  /**
   * The exporter the environment asks for, or `undefined` when it asks for none (then no
   * OpenTelemetry package is even loaded).
   *
   * @example
   * const exporter = await OpenTelemetryExporter.fromEnv({ serviceName: "myapp" });
   * exporter?.export(record);
   */
  static async fromEnv(
    options: { serviceName: string; instanceId?: string; env?: Env; logger?: Logger } = {
      serviceName: "operon",
    },
  ): Promise<OpenTelemetryExporter | undefined> {
    const env = options.env ?? process.env;
    const setting = openTelemetrySetting(env);
    if (!setting.enabled) return undefined;
    const [api, sdk, resources] = await Promise.all([
      import("@opentelemetry/api"),
      import("@opentelemetry/sdk-trace"),
      import("@opentelemetry/resources"),
    ]);
    let exporter: import("@opentelemetry/sdk-trace").SpanExporter;
    if (setting.exporter === "console") {
      exporter = new sdk.ConsoleSpanExporter();
    } else if (setting.protocol === "http/json") {
      const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-http");
      exporter = new OTLPTraceExporter();
    } else {
      const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-proto");
      exporter = new OTLPTraceExporter();
    }
    const resource = resources
      .resourceFromAttributes({
        "service.name": options.serviceName,
        // Sharded replicas' spans say which member produced them.
        ...(options.instanceId ? { "service.instance.id": options.instanceId } : {}),
      })
      .merge(resources.detectResources({ detectors: [resources.envDetector] }));
    const provider = new sdk.TracerProvider({
      resource,
      sampler: samplerFrom(sdk, env),
      spanProcessors: [new sdk.BatchSpanProcessor({ exporter, ...batchOptions(env) })],
    });
    options.logger?.info(
      {
        exporter: setting.exporter,
        ...(setting.exporter === "otlp" ? { protocol: setting.protocol } : {}),
        endpoint: env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT,
      },
      "exporting reconcile traces with OpenTelemetry",
    );
    return new OpenTelemetryExporter(api, provider.getTracer("kube-operon"), provider);
  }

  /** Makes the spans of one record. */
  export(record: TraceRecord): void {
    const { trace, context, SpanKind, SpanStatusCode } = this.#api;
    const start = record.startedAtMs ?? Date.parse(record.startedAt);
    const links: Link[] = [];
    for (const trigger of record.triggers) {
      const object = trigger.object;
      if (!object?.uid || !object.resourceVersion) continue;
      const written = this.#writeSpans.get(`${object.uid}@${object.resourceVersion}`);
      if (!written) continue;
      links.push({
        context: written,
        attributes: {
          "operon.trigger.reason": trigger.reason,
          "operon.trigger.event": trigger.event ?? "",
          "operon.trigger.object": `${object.kind} ${object.namespace ? `${object.namespace}/` : ""}${object.name}`,
        },
      });
    }
    const span = this.#tracer.startSpan(
      `reconcile ${record.kind}`,
      {
        kind: SpanKind.INTERNAL,
        startTime: start,
        links,
        attributes: {
          [attributes.operator]: record.operator,
          [attributes.parent]: record.key,
          [attributes.kind]: record.kind,
          [attributes.apiVersion]: record.apiVersion,
          ...(record.namespace ? { [attributes.namespace]: record.namespace } : {}),
          [attributes.reasons]: record.reasons,
          [attributes.outcome]: record.outcome,
          [attributes.phase]: record.phase,
          [attributes.reconcileId]: record.reconcileId,
          [attributes.writes]: record.writes,
          ...(record.functionMs !== undefined
            ? { [attributes.functionMs]: record.functionMs }
            : {}),
          [attributes.writesMs]: record.writesMs,
          [attributes.next]: record.next.kind,
        },
      },
      context.active(),
    );
    if (record.error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: record.error.message });
      span.addEvent("exception", {
        "exception.type": record.error.name,
        "exception.message": record.error.message,
      });
    }
    const parent = trace.setSpan(context.active(), span);
    for (const write of record.apiWrites) {
      const child = this.#tracer.startSpan(
        `${write.verb} ${write.kind}${write.subresource ? `/${write.subresource}` : ""}`,
        {
          kind: SpanKind.CLIENT,
          startTime: start + write.startOffsetMs,
          attributes: {
            "operon.write.verb": write.verb,
            "operon.write.kind": write.kind,
            "operon.write.api_version": write.apiVersion,
            ...(write.name ? { "operon.write.name": write.name } : {}),
            ...(write.namespace ? { [attributes.namespace]: write.namespace } : {}),
            ...(write.subresource ? { "operon.write.subresource": write.subresource } : {}),
            ...(write.dryRun ? { "operon.write.dry_run": true } : {}),
            ...(write.code !== undefined ? { "http.response.status_code": write.code } : {}),
            ...(write.resourceVersion
              ? { "operon.write.resource_version": write.resourceVersion }
              : {}),
          },
        },
        parent,
      );
      if (write.error) child.setStatus({ code: SpanStatusCode.ERROR, message: write.error });
      child.end(start + write.startOffsetMs + write.durationMs);
      if (write.uid && write.resourceVersion && !write.dryRun) {
        this.#writeSpans.set(`${write.uid}@${write.resourceVersion}`, child.spanContext());
        if (this.#writeSpans.size > 20_000) {
          this.#writeSpans.delete(this.#writeSpans.keys().next().value!);
        }
      }
    }
    span.end(start + record.durationMs);
  }

  /** Sends what is buffered now. */
  flush(): Promise<void> {
    return this.#provider.forceFlush();
  }

  /** Sends what is buffered and stops. */
  shutdown(): Promise<void> {
    return this.#provider.shutdown();
  }
}

/** `OTEL_BSP_*`: the batch span processor's settings. */
function batchOptions(env: Env): {
  scheduledDelayMillis?: number;
  maxExportBatchSize?: number;
  maxQueueSize?: number;
  exportTimeoutMillis?: number;
} {
  const read = (name: string) => {
    const value = Number(env[name]);
    return env[name] !== undefined && Number.isFinite(value) && value >= 0 ? value : undefined;
  };
  const out: ReturnType<typeof batchOptions> = {};
  const delay = read("OTEL_BSP_SCHEDULE_DELAY");
  const batch = read("OTEL_BSP_MAX_EXPORT_BATCH_SIZE");
  const queue = read("OTEL_BSP_MAX_QUEUE_SIZE");
  const timeout = read("OTEL_BSP_EXPORT_TIMEOUT");
  if (delay !== undefined) out.scheduledDelayMillis = delay;
  if (batch !== undefined) out.maxExportBatchSize = batch;
  if (queue !== undefined) out.maxQueueSize = queue;
  if (timeout !== undefined) out.exportTimeoutMillis = timeout;
  return out;
}

function samplerFrom(
  sdk: typeof import("@opentelemetry/sdk-trace"),
  env: Env,
): import("@opentelemetry/sdk-trace").Sampler {
  const name = (env.OTEL_TRACES_SAMPLER ?? "always_on").trim().toLowerCase();
  const ratio = Number(env.OTEL_TRACES_SAMPLER_ARG ?? "1");
  const ratioSampler = () =>
    new sdk.TraceIdRatioBasedSampler(Number.isFinite(ratio) ? Math.min(1, Math.max(0, ratio)) : 1);
  switch (name) {
    case "always_off":
      return new sdk.AlwaysOffSampler();
    case "traceidratio":
      return ratioSampler();
    case "parentbased_always_on":
      return new sdk.ParentBasedSampler({ root: new sdk.AlwaysOnSampler() });
    case "parentbased_always_off":
      return new sdk.ParentBasedSampler({ root: new sdk.AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new sdk.ParentBasedSampler({ root: ratioSampler() });
    default:
      return new sdk.AlwaysOnSampler();
  }
}
