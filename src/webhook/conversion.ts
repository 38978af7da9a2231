/**
 * Conversion between the versions of a custom kind, for the CRD's conversion webhook: the
 * declarations (`defineConversion`, a hub version and, for every other version, a function to
 * the hub and one back, typed by both versions' schemas) and the `ConversionReview` the API
 * server sends to `/convert`.
 *
 * The model is Kubebuilder's hub and spokes: converting between two spokes goes through the hub,
 * so N versions need 2(N-1) functions, not N(N-1). The functions convert `spec` and `status` (and
 * may set labels and annotations, e.g. to keep a field the other version cannot hold); Operon
 * keeps the rest of the metadata as it was, which the API server requires.
 *
 * @module
 */
import { isRecord } from "../common/json.ts";
import {
  type CustomResourceType,
  groupOf,
  type KubeObject,
  type ObjectMeta,
  versionOf,
} from "../resources/index.ts";
import type { ConversionRequest, ConversionResponse, ConversionReview } from "./types.ts";

/** The path the API server calls for every conversion (kubebuilder's). */
export const conversionPath = "/convert";

/**
 * What a conversion function returns: the object in the other version, without `apiVersion`,
 * `kind` and `metadata` (Operon sets them). `metadata.labels` / `metadata.annotations`, when
 * given, replace the object's.
 */
export type Converted<T extends KubeObject> = Omit<T, "apiVersion" | "kind" | "metadata"> & {
  metadata?: Pick<ObjectMeta, "labels" | "annotations">;
};

/** The two functions between one version (a spoke) and the hub. */
export interface SpokeConversion<Spoke extends KubeObject, Hub extends KubeObject> {
  /** The spoke's object in the hub version. Throw to refuse it: the client sees the message. */
  toHub(object: Spoke): Converted<Hub>;
  /** The hub's object in the spoke version. */
  fromHub(object: Hub): Converted<Spoke>;
}

/** Options of {@link defineConversion}. */
export interface ConversionOptions<
  Versions extends Record<string, KubeObject>,
  Hub extends keyof Versions & string,
> {
  /** The version every other one converts to and from; usually the storage version. */
  hub: Hub;
  /** For every version but the hub: its conversion to the hub and back. */
  spokes: {
    [V in Exclude<keyof Versions & string, Hub>]: SpokeConversion<Versions[V], Versions[Hub]>;
  };
}

/** A declared conversion, as the webhook server and `operon generate` take it. */
export interface ConversionDefinition {
  /** Tells a conversion apart from other exports of a module. */
  readonly webhook: "conversion";
  /** The kind (its storage version's type). */
  readonly type: CustomResourceType;
  /** The kind's API group. */
  readonly group: string;
  /** The kind, e.g. `CronJob`. */
  readonly kind: string;
  /** `<plural>.<group>`, the CRD's name. */
  readonly crdName: string;
  /** The version every other one converts through. */
  readonly hub: string;
  /** Every version of the kind. */
  readonly versions: readonly string[];
  /** The object in `toVersion` (`v2`), through the hub; throws what a conversion function threw. */
  convert(object: KubeObject, toVersion: string): KubeObject;
}

/** A conversion function threw, or the object cannot be converted; the message says which. */
export class ConversionError extends Error {
  override name = "ConversionError";
}

/**
 * Declares how objects of a multi-version kind convert between versions, through a hub.
 *
 * @example
 * // Kubebuilder's CronJob: v1 has `schedule: "*\/1 * * * *"`, v2 a structured schedule.
 * export const cronJobConversion = defineConversion(CronJob, {
 *   hub: "v2",
 *   spokes: {
 *     v1: {
 *       toHub: ({ spec }) => {
 *         const [minute, hour, dayOfMonth, month, dayOfWeek] = spec.schedule.split(" ");
 *         return { spec: { ...spec, schedule: { minute, hour, dayOfMonth, month, dayOfWeek } } };
 *       },
 *       fromHub: ({ spec }) => {
 *         const { minute, hour, dayOfMonth, month, dayOfWeek } = spec.schedule;
 *         return { spec: { ...spec, schedule: [minute, hour, dayOfMonth, month, dayOfWeek].join(" ") } };
 *       },
 *     },
 *   },
 * });
 */
export function defineConversion<
  T extends KubeObject,
  Versions extends Record<string, KubeObject>,
  const Hub extends keyof Versions & string,
>(
  type: CustomResourceType<T, Versions>,
  options: ConversionOptions<Versions, Hub>,
): ConversionDefinition {
  const kind = type.kind;
  const declared = type.definition.versions.map((version) => version.name);
  const where = `defineConversion(${kind})`;
  if (declared.length < 2) {
    throw new TypeError(`${where}: ${kind} has one version; there is nothing to convert`);
  }
  const hub = options.hub;
  if (!declared.includes(hub)) {
    throw new TypeError(
      `${where}: hub ${hub} is not a version of ${kind} (${declared.join(", ")})`,
    );
  }
  const spokes = (options.spokes ?? {}) as Record<
    string,
    SpokeConversion<KubeObject, KubeObject> | undefined
  >;
  for (const version of declared) {
    if (version === hub) continue;
    const spoke = spokes[version];
    if (typeof spoke?.toHub !== "function" || typeof spoke.fromHub !== "function") {
      throw new TypeError(`${where}: version ${version} needs toHub and fromHub functions`);
    }
  }
  for (const version of Object.keys(spokes)) {
    if (version === hub || !declared.includes(version)) {
      throw new TypeError(
        `${where}: spokes.${version} is not a version of ${kind} other than the hub (${declared.filter((v) => v !== hub).join(", ")})`,
      );
    }
  }
  const group = type.group;

  /** The function's result as a whole object of `version`, with the source's metadata. */
  const assemble = (source: KubeObject, version: string, result: unknown): KubeObject => {
    if (!isRecord(result)) {
      throw new ConversionError(
        `the conversion to ${version} returned ${JSON.stringify(result)}, not an object`,
      );
    }
    const { apiVersion: _a, kind: _k, metadata, ...rest } = result;
    const meta: ObjectMeta = structuredClone(source.metadata ?? {});
    if (isRecord(metadata)) {
      if (metadata.labels !== undefined) meta.labels = metadata.labels as Record<string, string>;
      if (metadata.annotations !== undefined)
        meta.annotations = metadata.annotations as Record<string, string>;
    }
    return { apiVersion: `${group}/${version}`, kind, metadata: meta, ...rest } as KubeObject;
  };

  const step = (source: KubeObject, from: string, to: string): KubeObject => {
    const input = structuredClone(source);
    try {
      const result =
        to === hub ? spokes[from]!.toHub(input) : spokes[to]!.fromHub(input as KubeObject);
      return assemble(source, to, result);
    } catch (error) {
      if (error instanceof ConversionError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new ConversionError(message);
    }
  };

  return Object.freeze({
    webhook: "conversion" as const,
    type: type as unknown as CustomResourceType,
    group,
    kind,
    crdName: `${type.plural}.${group}`,
    hub,
    versions: Object.freeze([...declared]),
    convert(object: KubeObject, toVersion: string): KubeObject {
      const from = versionOf(object.apiVersion ?? "");
      if (groupOf(object.apiVersion ?? "") !== group || object.kind !== kind) {
        throw new ConversionError(
          `this conversion is for ${kind}.${group}, not ${object.kind} ${object.apiVersion}`,
        );
      }
      for (const version of [from, toVersion]) {
        if (!declared.includes(version)) {
          throw new ConversionError(`${version} is not a version of ${kind}.${group}`);
        }
      }
      if (from === toVersion) return object;
      const atHub = from === hub ? object : step(object, from, hub);
      return toVersion === hub ? atHub : step(atHub, hub, toVersion);
    },
  });
}

/** True for a conversion declared with {@link defineConversion}. */
export function isConversion(value: unknown): value is ConversionDefinition {
  return isRecord(value) && value.webhook === "conversion" && typeof value.convert === "function";
}

/** A body that is not a usable ConversionReview request: answered with HTTP 400. */
export class InvalidConversionReview extends Error {
  override name = "InvalidConversionReview";
}

/** Checks a parsed ConversionReview body and returns its request. */
export function decodeConversionReview(body: unknown): ConversionRequest {
  if (!isRecord(body)) throw new InvalidConversionReview("the body is not a JSON object");
  if (body.kind !== "ConversionReview") {
    throw new InvalidConversionReview(
      `expected kind ConversionReview, got ${JSON.stringify(body.kind)}`,
    );
  }
  if (body.apiVersion !== "apiextensions.k8s.io/v1") {
    throw new InvalidConversionReview(
      `unsupported ConversionReview version ${JSON.stringify(body.apiVersion)}; this server speaks apiextensions.k8s.io/v1 (set conversionReviewVersions: ["v1"])`,
    );
  }
  const request = body.request;
  if (!isRecord(request)) throw new InvalidConversionReview("the ConversionReview has no request");
  if (typeof request.uid !== "string" || request.uid === "") {
    throw new InvalidConversionReview("the ConversionReview request has no uid");
  }
  if (typeof request.desiredAPIVersion !== "string" || !request.desiredAPIVersion.includes("/")) {
    throw new InvalidConversionReview("the ConversionReview request has no desiredAPIVersion");
  }
  if (!Array.isArray(request.objects)) {
    throw new InvalidConversionReview("the ConversionReview request has no objects");
  }
  return {
    uid: request.uid,
    desiredAPIVersion: request.desiredAPIVersion,
    objects: request.objects,
  };
}

/** The outcome of {@link convertReview}: the response, and why it failed when it did. */
export interface ConversionOutcome {
  review: ConversionReview;
  failure?: "unknown_kind" | "handler_error";
}

/**
 * Converts every object of a ConversionReview request. One object that cannot be converted fails
 * the whole review (the API server needs all or nothing), with a message naming the object.
 *
 * @example
 * const { review } = convertReview([cronJobConversion], decodeConversionReview(body));
 */
export function convertReview(
  conversions: readonly ConversionDefinition[],
  request: ConversionRequest,
): ConversionOutcome {
  const response = (result: ConversionResponse["result"], objects: unknown[] = []) => ({
    apiVersion: "apiextensions.k8s.io/v1" as const,
    kind: "ConversionReview" as const,
    response: { uid: request.uid, convertedObjects: objects, result },
  });
  const group = groupOf(request.desiredAPIVersion);
  const toVersion = versionOf(request.desiredAPIVersion);
  const converted: unknown[] = [];
  for (const object of request.objects) {
    const source = object as KubeObject;
    const name = source?.metadata?.namespace
      ? `${source.metadata.namespace}/${source.metadata.name}`
      : String(source?.metadata?.name ?? "?");
    const conversion = conversions.find(
      (candidate) => candidate.group === group && candidate.kind === source?.kind,
    );
    if (!conversion) {
      return {
        review: response({
          status: "Failure",
          message: `no conversion is declared for ${String(source?.kind)}.${group}`,
        }),
        failure: "unknown_kind",
      };
    }
    try {
      converted.push(conversion.convert(source, toVersion));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return {
        review: response({
          status: "Failure",
          message: `converting ${conversion.kind} ${name} from ${versionOf(source.apiVersion ?? "")} to ${toVersion}: ${message}`,
        }),
        failure: "handler_error",
      };
    }
  }
  return { review: response({ status: "Success" }, converted) };
}
