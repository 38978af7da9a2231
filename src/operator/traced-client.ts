/**
 * A view of a client that notes every write it sends — verb, target, when, how long, the result's
 * `uid` and `resourceVersion` or the error — for the trace of one reconcile (and the spans an
 * OpenTelemetry exporter makes of them). Used only while tracing: without it, writes cost nothing
 * more.
 */
import type { KubeClient } from "../client/client.ts";
import { KubeError } from "../client/errors.ts";

/** One API write made during a reconcile. */
export interface ApiWrite {
  /** Kubernetes verb: `create`, `update`, `apply`, `patch`, `delete`, `deletecollection`. */
  verb: string;
  apiVersion: string;
  kind: string;
  namespace?: string;
  name?: string;
  /** `status` for status writes. */
  subresource?: string;
  /** A server-side dry run (`operon plan`): nothing was stored. */
  dryRun?: boolean;
  /** When it started, in ms after the reconcile started. */
  startOffsetMs: number;
  durationMs: number;
  /** The HTTP status of a failed write (`0`: no response). */
  code?: number;
  /** Why it failed. */
  error?: string;
  /** The object's `uid` and `resourceVersion` after the write, to recognise its watch event. */
  uid?: string;
  resourceVersion?: string;
}

type Target = { apiVersion: string; kind: string };
type Meta = {
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
};
type Options = { namespace?: string; subresource?: string; dryRun?: boolean } | undefined;

/** Where each intercepted method finds its target's name and options. */
const writeMethods: Record<
  string,
  {
    verb: string;
    subresource?: string;
    name(args: unknown[]): string | undefined;
    options(args: unknown[]): Options;
  }
> = {
  create: {
    verb: "create",
    name: (a) => (a[1] as Meta)?.metadata?.name,
    options: (a) => a[2] as Options,
  },
  update: {
    verb: "update",
    name: (a) => (a[1] as Meta)?.metadata?.name,
    options: (a) => a[2] as Options,
  },
  updateStatus: {
    verb: "update",
    subresource: "status",
    name: (a) => (a[1] as Meta)?.metadata?.name,
    options: (a) => a[2] as Options,
  },
  apply: {
    verb: "apply",
    name: (a) => (a[1] as Meta)?.metadata?.name,
    options: (a) => a[2] as Options,
  },
  applyStatus: {
    verb: "apply",
    subresource: "status",
    name: (a) => (a[1] as Meta)?.metadata?.name,
    options: (a) => a[2] as Options,
  },
  patch: { verb: "patch", name: (a) => a[1] as string, options: (a) => a[3] as Options },
  delete: { verb: "delete", name: (a) => a[1] as string, options: (a) => a[2] as Options },
  deleteCollection: {
    verb: "deletecollection",
    name: () => undefined,
    options: (a) => a[1] as Options,
  },
};

/**
 * The client `client`, with every write appended to `writes` once it completes. `origin` is the
 * `performance.now()` the offsets count from.
 *
 * @example
 * const writes: ApiWrite[] = [];
 * const traced = tracedClient(client, writes, performance.now());
 * await traced.apply(ConfigMap, object, { fieldManager: "me" }); // writes[0].verb === "apply"
 */
export function tracedClient(client: KubeClient, writes: ApiWrite[], origin: number): KubeClient {
  return new Proxy(client, {
    get(target, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (typeof value !== "function") return value;
      const method = typeof property === "string" ? writeMethods[property] : undefined;
      // Methods run on the client itself: its private fields are not reachable through a proxy.
      if (!method) return value.bind(target);
      return async (...args: unknown[]) => {
        const type = args[0] as Target;
        const options = method.options(args);
        const object = args[1] as Meta | undefined;
        const namespace =
          options?.namespace ??
          (typeof args[1] === "object" ? object?.metadata?.namespace : undefined);
        const subresource = options?.subresource ?? method.subresource;
        const name = method.name(args);
        const started = performance.now();
        const base: ApiWrite = {
          verb: method.verb,
          apiVersion: type.apiVersion,
          kind: type.kind,
          ...(namespace ? { namespace } : {}),
          ...(name ? { name } : {}),
          ...(subresource ? { subresource } : {}),
          ...(options?.dryRun || target.dryRun ? { dryRun: true } : {}),
          startOffsetMs: Math.round((started - origin) * 1000) / 1000,
          durationMs: 0,
        };
        try {
          const result = (await value.apply(target, args)) as Meta | undefined;
          base.durationMs = Math.round((performance.now() - started) * 1000) / 1000;
          const meta = result?.metadata;
          if (meta?.uid) base.uid = meta.uid;
          if (meta?.resourceVersion) base.resourceVersion = meta.resourceVersion;
          writes.push(base);
          return result;
        } catch (error) {
          base.durationMs = Math.round((performance.now() - started) * 1000) / 1000;
          base.code = error instanceof KubeError ? error.code : 0;
          base.error = error instanceof Error ? error.message : String(error);
          writes.push(base);
          throw error;
        }
      };
    },
  });
}
