/**
 * `apiextensions.k8s.io/v1` CustomResourceDefinition and the OpenAPI v3 schema subset
 * (`JSONSchemaProps`) it validates custom objects with.
 */
import type { ConditionStatus } from "./conditions.ts";
import { type ObjectMeta, resourceType } from "./object.ts";

/** A CEL validation rule (`x-kubernetes-validations` entry). */
export interface ValidationRule {
  /** A CEL expression over `self` (and `oldSelf` on updates), e.g. `self.min <= self.max`. */
  rule: string;
  /** Shown when the rule fails; no line breaks. */
  message?: string;
  /** A CEL expression producing the message, e.g. `"must be at most " + string(self.max)`. */
  messageExpression?: string;
  /** Which field to report the error on, relative to the rule's node, e.g. `.spec.max`. */
  fieldPath?: string;
  /** The error type the API server reports. Default `FieldValueInvalid`. */
  reason?:
    | "FieldValueInvalid"
    | "FieldValueForbidden"
    | "FieldValueRequired"
    | "FieldValueDuplicate";
  /** Evaluate the transition rule also when there is no old value (`oldSelf` is then optional). */
  optionalOldSelf?: boolean;
}

/**
 * A node of a CRD's structural schema (the OpenAPI v3 subset Kubernetes accepts).
 */
export interface JSONSchemaProps {
  description?: string;
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  format?: string;
  title?: string;
  default?: unknown;
  example?: unknown;
  nullable?: boolean;
  enum?: unknown[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  /** OpenAPI v3.0: a boolean that makes `minimum` exclusive. */
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  minProperties?: number;
  maxProperties?: number;
  items?: JSONSchemaProps;
  properties?: Record<string, JSONSchemaProps>;
  required?: string[];
  additionalProperties?: JSONSchemaProps | boolean;
  allOf?: JSONSchemaProps[];
  anyOf?: JSONSchemaProps[];
  oneOf?: JSONSchemaProps[];
  not?: JSONSchemaProps;
  externalDocs?: { description?: string; url?: string };
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-embedded-resource"?: boolean;
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-map-type"?: "atomic" | "granular";
  "x-kubernetes-validations"?: ValidationRule[];
}

/** An extra column of `kubectl get`. */
export interface CustomResourceColumnDefinition {
  name: string;
  type: "integer" | "number" | "string" | "boolean" | "date";
  /** A simple JSONPath into the object, e.g. `.status.replicas`. */
  jsonPath: string;
  description?: string;
  format?: "int32" | "int64" | "float" | "double" | "byte" | "date" | "date-time" | "password";
  /** 0 shows in the default view; higher only with `-o wide`. */
  priority?: number;
}

/** The scale subresource: maps `/scale` onto fields of the object. */
export interface CustomResourceSubresourceScale {
  specReplicasPath: string;
  statusReplicasPath: string;
  labelSelectorPath?: string;
}

/** The subresources of a version. */
export interface CustomResourceSubresources {
  status?: Record<string, never>;
  scale?: CustomResourceSubresourceScale;
}

/** One served version of a custom kind. */
export interface CustomResourceDefinitionVersion {
  name: string;
  served: boolean;
  storage: boolean;
  deprecated?: boolean;
  deprecationWarning?: string;
  schema?: { openAPIV3Schema?: JSONSchemaProps };
  subresources?: CustomResourceSubresources;
  additionalPrinterColumns?: CustomResourceColumnDefinition[];
  selectableFields?: { jsonPath: string }[];
}

/** The names of a custom kind. */
export interface CustomResourceDefinitionNames {
  kind: string;
  listKind?: string;
  plural: string;
  singular?: string;
  shortNames?: string[];
  categories?: string[];
}

/** How objects are converted between versions. */
export interface CustomResourceConversion {
  strategy: "None" | "Webhook";
  webhook?: {
    clientConfig?: {
      url?: string;
      service?: { namespace: string; name: string; path?: string; port?: number };
      caBundle?: string;
    };
    conversionReviewVersions: string[];
  };
}

/** The desired state of a CustomResourceDefinition. */
export interface CustomResourceDefinitionSpec {
  group: string;
  names: CustomResourceDefinitionNames;
  scope: "Namespaced" | "Cluster";
  versions: CustomResourceDefinitionVersion[];
  conversion?: CustomResourceConversion;
  preserveUnknownFields?: boolean;
}

/** A condition of a CustomResourceDefinition (`Established`, `NamesAccepted`, ...). */
export interface CustomResourceDefinitionCondition {
  type: string;
  status: ConditionStatus;
  observedGeneration?: number;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

/** The observed state of a CustomResourceDefinition. */
export interface CustomResourceDefinitionStatus {
  conditions?: CustomResourceDefinitionCondition[];
  acceptedNames?: CustomResourceDefinitionNames;
  storedVersions?: string[];
}

/**
 * A CustomResourceDefinition (`apiextensions.k8s.io/v1`). Generate one from a declared kind with
 * `customResourceDefinition()` rather than writing it by hand.
 */
export type CustomResourceDefinition = {
  apiVersion: "apiextensions.k8s.io/v1";
  kind: "CustomResourceDefinition";
  metadata: ObjectMeta;
  spec: CustomResourceDefinitionSpec;
  status?: CustomResourceDefinitionStatus;
};
/** The `CustomResourceDefinition` kind: `apiextensions.k8s.io/v1`, cluster-scoped. */
export const CustomResourceDefinition = resourceType<CustomResourceDefinition>(
  "apiextensions.k8s.io/v1",
  "CustomResourceDefinition",
  "customresourcedefinitions",
  false,
);
