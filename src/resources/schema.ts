/**
 * Schema building blocks for custom kinds. Schemas are TypeBox schemas (JSON Schema objects whose
 * TypeScript type is inferred with `Static`), so a kind's fields are written once and both its type
 * and its CRD schema follow. `K8s` adds what Kubernetes schemas have beyond plain JSON Schema:
 * int-or-string, quantities, list and map semantics, preserved unknown fields, embedded objects,
 * CEL rules, and the standard status conditions.
 *
 * Every TypeBox option is also typed for the Kubernetes extensions (`nullable`,
 * `x-kubernetes-*`), so they can be written inline:
 *
 * @example
 * import { Type } from "@sinclair/typebox";
 *
 * const Tags = Type.Array(Type.String(), { "x-kubernetes-list-type": "set", maxItems: 16 });
 */
import {
  type ArrayOptions,
  type IntegerOptions,
  type ObjectOptions,
  type SchemaOptions,
  type StringOptions,
  type TArray,
  type TInteger,
  type TLiteral,
  type TNull,
  type TObject,
  type TOptional,
  type TProperties,
  type TRecord,
  type TSchema,
  type TString,
  type TUnion,
  type TUnknown,
  type TUnsafe,
  Type,
} from "@sinclair/typebox";
import type { ValidationRule } from "./apiextensions.ts";
import type { Condition } from "./conditions.ts";
import type { LabelSelector } from "./meta.ts";
import type { KubeObject } from "./object.ts";

declare module "@sinclair/typebox" {
  interface SchemaOptions {
    /** OpenAPI v3: the value may also be `null`. */
    nullable?: boolean;
    /** OpenAPI v3: an example value, shown by tools. */
    example?: unknown;
    /** Keep fields the schema does not declare (instead of pruning them). */
    "x-kubernetes-preserve-unknown-fields"?: true;
    /** The value is a whole Kubernetes object (`apiVersion`, `kind`, `metadata` validated). */
    "x-kubernetes-embedded-resource"?: true;
    /** The value is an integer or a string. */
    "x-kubernetes-int-or-string"?: true;
    /** How server-side apply merges the list: replace whole (`atomic`), as a set, or by keys (`map`). */
    "x-kubernetes-list-type"?: "atomic" | "set" | "map";
    /** The item fields that identify an entry of a `map` list. */
    "x-kubernetes-list-map-keys"?: readonly string[];
    /** How server-side apply merges the object: field by field (`granular`) or whole (`atomic`). */
    "x-kubernetes-map-type"?: "atomic" | "granular";
    /** CEL rules checked by the API server. */
    "x-kubernetes-validations"?: readonly ValidationRule[];
  }
}

/** Options of {@link K8s.Map}. */
export interface MapOptions extends ObjectOptions {
  /** Merge the map as a whole on server-side apply (`atomic`) instead of key by key. */
  mapType?: "atomic" | "granular";
}

/** An int-or-string schema. */
export type TIntOrString = TUnion<[TInteger, TString]>;

/** The TypeBox schema of a {@link Condition}. */
export type TCondition = TObject<{
  type: TString;
  status: TUnion<[TLiteral<"True">, TLiteral<"False">, TLiteral<"Unknown">]>;
  observedGeneration: TOptional<TInteger>;
  lastTransitionTime: TString;
  reason: TString;
  message: TString;
}>;

/** The properties {@link K8s.Status} adds. */
export type StatusProperties = {
  observedGeneration: TOptional<TInteger>;
  conditions: TOptional<TArray<TCondition>>;
};

/** The property names of an object schema. */
export type PropertyName<S extends TObject> = keyof S["properties"] & string;

/** Pattern of a `resource.Quantity` string, as the API server validates it. */
export const quantityPattern =
  "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$";

/** Pattern of a condition type: an optional DNS-subdomain prefix and a name. */
const conditionTypePattern =
  "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$";

/** Options of {@link K8s.IntOrString}: string constraints apply to strings, number constraints to integers. */
export interface IntOrStringOptions extends SchemaOptions {
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  multipleOf?: number;
}

const stringOptionKeys = ["pattern", "minLength", "maxLength", "format"] as const;
const integerOptionKeys = [
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
] as const;

/** An integer-or-string union with each constraint on the member it applies to (so TypeBox checks it too). */
function intOrString(options: IntOrStringOptions): TIntOrString {
  const outer: SchemaOptions = { ...options };
  const stringOptions: Record<string, unknown> = {};
  const integerOptions: Record<string, unknown> = {};
  for (const key of stringOptionKeys) {
    if (options[key] !== undefined) stringOptions[key] = options[key];
    delete outer[key];
  }
  for (const key of integerOptionKeys) {
    if (options[key] !== undefined) integerOptions[key] = options[key];
    delete outer[key];
  }
  return Type.Union([Type.Integer(integerOptions), Type.String(stringOptions)], {
    ...outer,
    "x-kubernetes-int-or-string": true,
  });
}

function withRules<S extends TSchema>(schema: S, rules: readonly ValidationRule[]): S {
  return {
    ...schema,
    "x-kubernetes-validations": [...(schema["x-kubernetes-validations"] ?? []), ...rules],
  };
}

function conditionSchema(): TCondition {
  return Type.Object(
    {
      type: Type.String({
        description: "Type of the condition in CamelCase or in foo.example.com/CamelCase.",
        maxLength: 316,
        pattern: conditionTypePattern,
      }),
      status: Type.Union([Type.Literal("True"), Type.Literal("False"), Type.Literal("Unknown")], {
        description: "Status of the condition: True, False or Unknown.",
      }),
      observedGeneration: Type.Optional(
        Type.Integer({
          description:
            "The .metadata.generation the condition was set from; a condition is out of date when it is less than the object's current generation.",
          format: "int64",
          minimum: 0,
        }),
      ),
      lastTransitionTime: Type.String({
        description: "When the condition last changed from one status to another.",
        format: "date-time",
      }),
      reason: Type.String({
        description:
          "A programmatic identifier, in CamelCase, of the reason for the last transition.",
        maxLength: 1024,
        minLength: 1,
        pattern: "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
      }),
      message: Type.String({
        description: "A human-readable message with details about the transition; may be empty.",
        maxLength: 32768,
      }),
    },
    { description: "One aspect of the object's current state." },
  );
}

/**
 * The arguments of {@link K8s.Opaque}: its options for an object type; for an array type, an
 * argument no value fits, so `K8s.Opaque<Item[]>()` fails to compile and names the helper to use.
 */
export type OpaqueArguments<T> = T extends readonly unknown[]
  ? [useOpaqueListForLists: "K8s.Opaque<T> is for objects: for a list, use K8s.OpaqueList<Item>()"]
  : [options?: SchemaOptions];

function opaqueObject<T>(options: SchemaOptions): TUnsafe<T> {
  return Type.Object(
    {},
    { ...options, additionalProperties: true, "x-kubernetes-preserve-unknown-fields": true },
  ) as unknown as TUnsafe<T>;
}

/**
 * Kubernetes-specific schema builders, used beside TypeBox's `Type`.
 *
 * @example
 * import { Type } from "@sinclair/typebox";
 * import { K8s } from "kube-operon";
 *
 * const Spec = Type.Object({
 *   replicas: Type.Integer({ minimum: 0, default: 1 }),
 *   mode: K8s.Enum(["Active", "Standby"], { default: "Active" }),
 *   memory: K8s.Quantity({ description: "Memory per replica" }),
 *   port: K8s.IntOrString(),
 *   labels: Type.Optional(K8s.Map(Type.String())),
 *   endpoints: K8s.ListMap(Type.Object({ name: Type.String(), url: Type.String() }), ["name"]),
 * });
 */
export const K8s = {
  /**
   * An integer or a string (`x-kubernetes-int-or-string`), e.g. a port number or name, or `"25%"`.
   *
   * @example
   * const maxUnavailable = K8s.IntOrString({ default: "25%" });
   */
  IntOrString(options: IntOrStringOptions = {}): TIntOrString {
    return intOrString(options);
  },

  /**
   * A Kubernetes quantity such as `"500m"`, `"1Gi"` or `2`, validated with the API server's pattern.
   *
   * @example
   * const memory = K8s.Quantity({ default: "256Mi" });
   */
  Quantity(options: SchemaOptions = {}): TIntOrString {
    return intOrString({ pattern: quantityPattern, ...options });
  },

  /**
   * One of the given strings; becomes `enum` in the CRD.
   *
   * @example
   * const policy = K8s.Enum(["Retain", "Delete"], { default: "Retain" });
   * // Static<typeof policy> is "Retain" | "Delete"
   */
  Enum<const V extends readonly [string, ...string[]]>(
    values: V,
    options: SchemaOptions = {},
  ): TUnion<TLiteral<V[number]>[]> {
    return Type.Union(
      values.map((value) => Type.Literal(value)),
      options,
    ) as TUnion<TLiteral<V[number]>[]>;
  },

  /**
   * The schema, or `null` (`nullable: true` in the CRD).
   *
   * @example
   * const deadline = K8s.Nullable(Type.String({ format: "date-time" }));
   * // Static<typeof deadline> is string | null
   */
  Nullable<S extends TSchema>(schema: S, options: SchemaOptions = {}): TUnion<[S, TNull]> {
    return Type.Union([schema, Type.Null()], options);
  },

  /**
   * An object with arbitrary string keys and values of one schema (`additionalProperties` in the
   * CRD), typed `Record<string, V>`.
   *
   * @example
   * const annotations = K8s.Map(Type.String(), { maxProperties: 32 });
   */
  Map<V extends TSchema>(value: V, options: MapOptions = {}): TRecord<TString, V> {
    const { mapType, ...rest } = options;
    return Type.Record(Type.String(), value, {
      ...rest,
      ...(mapType ? { "x-kubernetes-map-type": mapType } : {}),
    });
  },

  /**
   * A list of objects identified by key fields (`x-kubernetes-list-type: map`): server-side apply
   * merges entries by key and the API server rejects duplicate keys. Key fields must be required or
   * have a default.
   *
   * @example
   * const ports = K8s.ListMap(Type.Object({ name: Type.String(), port: Type.Integer() }), ["name"]);
   */
  ListMap<I extends TObject, const K extends readonly [PropertyName<I>, ...PropertyName<I>[]]>(
    item: I,
    keys: K,
    options: ArrayOptions = {},
  ): TArray<I> {
    return Type.Array(item, {
      ...options,
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": [...keys],
    });
  },

  /**
   * A list of unique scalars (`x-kubernetes-list-type: set`): the API server rejects duplicates and
   * server-side apply merges entries.
   *
   * @example
   * const zones = K8s.ListSet(Type.String(), { maxItems: 8 });
   */
  ListSet<I extends TSchema>(item: I, options: ArrayOptions = {}): TArray<I> {
    return Type.Array(item, { ...options, "x-kubernetes-list-type": "set" });
  },

  /**
   * Any JSON value, stored as given (`x-kubernetes-preserve-unknown-fields`), typed `unknown`.
   *
   * @example
   * const values = K8s.Unknown({ description: "Free-form values passed to the chart" });
   */
  Unknown(options: SchemaOptions = {}): TUnknown {
    return Type.Unknown({ ...options, "x-kubernetes-preserve-unknown-fields": true });
  },

  /**
   * An object stored as given without validation, typed `T` (e.g. a pod template whose full schema
   * would make the CRD large). `T` must be an object type: for a list, use {@link K8s.OpaqueList}
   * (`K8s.Opaque<Item[]>()` does not compile, since the API server would refuse an array there).
   *
   * @example
   * import type { PodTemplateSpec } from "kube-operon";
   * const template = K8s.Opaque<PodTemplateSpec>({ description: "Template of the worker pods" });
   */
  Opaque<T extends object = Record<string, unknown>>(...options: OpaqueArguments<T>): TUnsafe<T> {
    return opaqueObject<T>((options[0] as SchemaOptions | undefined) ?? {});
  },

  /**
   * A list of objects, each stored as given without validation, typed `Item[]` (e.g. a
   * StatefulSet-like `volumeClaimTemplates`). `options` apply to the list (`maxItems`,
   * `description`, ...).
   *
   * @example
   * import type { PersistentVolumeClaim } from "kube-operon";
   * const volumeClaimTemplates = K8s.OpaqueList<PersistentVolumeClaim>({ maxItems: 8 });
   * // Static<typeof volumeClaimTemplates> is PersistentVolumeClaim[]
   */
  OpaqueList<Item extends object = Record<string, unknown>>(
    options: ArrayOptions = {},
  ): TUnsafe<Item[]> {
    return Type.Array(opaqueObject<Item>({}), options) as unknown as TUnsafe<Item[]>;
  },

  /**
   * The object's declared fields are validated and other fields are kept
   * (`x-kubernetes-preserve-unknown-fields` beside `properties`).
   *
   * @example
   * const config = K8s.PreserveUnknownFields(Type.Object({ version: Type.String() }));
   * // Static<typeof config> is { version: string } & { [key: string]: unknown }
   */
  PreserveUnknownFields<S extends TObject>(
    schema: S,
  ): TUnsafe<S["static"] & { [key: string]: unknown }> {
    return {
      ...schema,
      additionalProperties: true,
      "x-kubernetes-preserve-unknown-fields": true,
    } as unknown as TUnsafe<S["static"] & { [key: string]: unknown }>;
  },

  /**
   * A whole Kubernetes object embedded in the field (`x-kubernetes-embedded-resource`): the API
   * server validates its `apiVersion`, `kind` and `metadata` and keeps the rest.
   *
   * @example
   * import type { ConfigMap } from "kube-operon";
   * const template = K8s.Embedded<ConfigMap>({ description: "The ConfigMap to create" });
   */
  Embedded<T extends KubeObject = KubeObject>(options: SchemaOptions = {}): TUnsafe<T> {
    return Type.Object(
      {},
      {
        ...options,
        additionalProperties: true,
        "x-kubernetes-embedded-resource": true,
        "x-kubernetes-preserve-unknown-fields": true,
      },
    ) as unknown as TUnsafe<T>;
  },

  /**
   * An RFC 3339 timestamp string (`format: date-time`).
   *
   * @example
   * const lastBackup = Type.Optional(K8s.DateTime());
   */
  DateTime(options: StringOptions = {}): TString {
    return Type.String({ ...options, format: "date-time" });
  },

  /**
   * A Go duration string such as `"30s"` or `"1h30m"` (`format: duration`).
   *
   * @example
   * const interval = K8s.Duration({ default: "5m" });
   */
  Duration(options: StringOptions = {}): TString {
    return Type.String({ ...options, format: "duration" });
  },

  /**
   * A label selector (`matchLabels`, `matchExpressions`), typed {@link LabelSelector}.
   *
   * @example
   * const selector = Type.Optional(K8s.LabelSelector({ description: "Pods to watch" }));
   */
  LabelSelector(options: ObjectOptions = {}): TUnsafe<LabelSelector> {
    return Type.Object(
      {
        matchLabels: Type.Optional(Type.Record(Type.String(), Type.String())),
        matchExpressions: Type.Optional(
          Type.Array(
            Type.Object({
              key: Type.String(),
              operator: Type.Union([
                Type.Literal("In"),
                Type.Literal("NotIn"),
                Type.Literal("Exists"),
                Type.Literal("DoesNotExist"),
              ]),
              values: Type.Optional(Type.Array(Type.String())),
            }),
          ),
        ),
      },
      { ...options, "x-kubernetes-map-type": "atomic" },
    ) as unknown as TUnsafe<LabelSelector>;
  },

  /**
   * The standard condition (`metav1.Condition`), with upstream's validation; typed {@link Condition}.
   */
  Condition(): TCondition {
    return conditionSchema();
  },

  /**
   * `status.conditions`: conditions merged by `type` on server-side apply.
   *
   * @example
   * const status = Type.Object({ conditions: Type.Optional(K8s.Conditions()) });
   */
  Conditions(options: ArrayOptions = {}): TArray<TCondition> {
    return Type.Array(conditionSchema(), {
      description: "The current state of the object, one entry per condition type.",
      maxItems: 32,
      ...options,
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["type"],
    });
  },

  /**
   * `status.observedGeneration`: the `metadata.generation` the status was computed from.
   */
  ObservedGeneration(options: IntegerOptions = {}): TInteger {
    return Type.Integer({
      description: "The .metadata.generation the status was last computed from.",
      format: "int64",
      minimum: 0,
      ...options,
    });
  },

  /**
   * A status object with the standard `observedGeneration` and `conditions` fields plus the given
   * properties.
   *
   * @example
   * const status = K8s.Status({ readyReplicas: Type.Optional(Type.Integer()) });
   * // Static<typeof status> is { observedGeneration?: number; conditions?: Condition[]; readyReplicas?: number }
   */
  Status<P extends TProperties = Record<never, never>>(
    properties?: P,
    options: ObjectOptions = {},
  ): TObject<StatusProperties & P> {
    return Type.Object(
      {
        observedGeneration: Type.Optional(K8s.ObservedGeneration()),
        conditions: Type.Optional(K8s.Conditions()),
        ...properties,
      } as StatusProperties & P,
      options,
    );
  },

  /**
   * Adds CEL rules (`x-kubernetes-validations`) to a schema; its type is unchanged.
   *
   * @example
   * const range = K8s.Validate(Type.Object({ min: Type.Integer(), max: Type.Integer() }), {
   *   rule: "self.min <= self.max",
   *   message: "min must not exceed max",
   *   fieldPath: ".min",
   * });
   */
  Validate<S extends TSchema>(schema: S, ...rules: ValidationRule[]): S {
    return withRules(schema, rules);
  },

  /**
   * Makes a field immutable once set (`self == oldSelf`).
   *
   * @example
   * const storageClass = K8s.Immutable(Type.String());
   */
  Immutable<S extends TSchema>(schema: S, message = "is immutable"): S {
    return withRules(schema, [{ rule: "self == oldSelf", message }]);
  },

  /**
   * Requires exactly one of the given optional fields of an object to be set.
   *
   * @example
   * const source = K8s.ExactlyOneOf(
   *   Type.Object({ git: Type.Optional(Type.String()), image: Type.Optional(Type.String()) }),
   *   ["git", "image"],
   * );
   */
  ExactlyOneOf<S extends TObject>(
    schema: S,
    fields: readonly [PropertyName<S>, PropertyName<S>, ...PropertyName<S>[]],
    message = `exactly one of ${fields.join(", ")} must be set`,
  ): S {
    const checks = fields.map((field) => `has(self.${field})`).join(", ");
    return withRules(schema, [{ rule: `[${checks}].exists_one(x, x)`, message }]);
  },

  /**
   * Allows at most one of the given optional fields of an object to be set.
   *
   * @example
   * const auth = K8s.AtMostOneOf(
   *   Type.Object({ token: Type.Optional(Type.String()), password: Type.Optional(Type.String()) }),
   *   ["token", "password"],
   * );
   */
  AtMostOneOf<S extends TObject>(
    schema: S,
    fields: readonly [PropertyName<S>, PropertyName<S>, ...PropertyName<S>[]],
    message = `at most one of ${fields.join(", ")} may be set`,
  ): S {
    const checks = fields.map((field) => `has(self.${field})`).join(", ");
    return withRules(schema, [{ rule: `[${checks}].filter(x, x).size() <= 1`, message }]);
  },
};
