/**
 * The CustomResourceDefinition of a declared custom kind: names, scope, versions with their
 * structural schemas, subresources, printer columns and selectable fields.
 */
import type {
  CustomResourceColumnDefinition,
  CustomResourceConversion,
  CustomResourceDeclaration,
  CustomResourceDefinition,
  CustomResourceDefinitionVersion,
  CustomResourceType,
  DeclaredVersion,
  JSONSchemaProps,
} from "../resources/index.ts";
import { SchemaConversionError, toStructuralSchema } from "./structural.ts";

/** Options of {@link customResourceDefinition}. */
export interface CrdOptions {
  /** Labels of the CRD object. */
  labels?: Record<string, string>;
  /** Annotations of the CRD object (e.g. `cert-manager.io/inject-ca-from` for conversion webhooks). */
  annotations?: Record<string, string>;
  /** How objects are converted between versions. Default: `None` (only `apiVersion` changes). */
  conversion?: CustomResourceConversion;
}

/** A CRD that cannot be generated; `path` locates the problem, e.g. `versions.v1.spec.size`. */
export class CrdGenerationError extends Error {
  override name = "CrdGenerationError";
  readonly path: string;

  constructor(kind: string, path: string, message: string) {
    super(`CustomResourceDefinition for ${kind}: ${path ? `${path}: ` : ""}${message}`);
    this.path = path;
  }
}

const apiVersionDescription =
  "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
const kindDescription =
  "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";

const ageColumn: CustomResourceColumnDefinition = {
  name: "Age",
  type: "date",
  jsonPath: ".metadata.creationTimestamp",
};

const columnTypes = new Set(["integer", "number", "string", "boolean", "date"]);
const columnFormats = new Set([
  "int32",
  "int64",
  "float",
  "double",
  "byte",
  "date",
  "date-time",
  "password",
]);

/**
 * The `apiextensions.k8s.io/v1` CustomResourceDefinition of a kind declared with
 * `defineResource`.
 *
 * @throws CrdGenerationError when a schema or option cannot be expressed (the message names the
 * version and field and says how to fix it).
 *
 * @example
 * import { customResourceDefinition, toYaml } from "kube-operon";
 * import { Widget } from "./widget.ts";
 *
 * const crd = customResourceDefinition(Widget);
 * process.stdout.write(toYaml(crd));
 */
export function customResourceDefinition(
  resource: CustomResourceType | { definition: CustomResourceDeclaration },
  options: CrdOptions = {},
): CustomResourceDefinition {
  const declaration = resource.definition;
  const { group, names, scope } = declaration;
  const versions = declaration.versions.map((version) => versionOf(declaration, version));
  if (versions.filter((version) => version.storage).length !== 1) {
    throw new CrdGenerationError(
      names.kind,
      "versions",
      "exactly one version must be the storage version",
    );
  }
  const metadata: CustomResourceDefinition["metadata"] = { name: `${names.plural}.${group}` };
  if (options.labels) metadata.labels = { ...options.labels };
  if (options.annotations) metadata.annotations = { ...options.annotations };
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata,
    spec: {
      group,
      names: {
        kind: names.kind,
        listKind: names.listKind,
        plural: names.plural,
        singular: names.singular,
        ...(names.shortNames.length > 0 ? { shortNames: [...names.shortNames] } : {}),
        ...(names.categories.length > 0 ? { categories: [...names.categories] } : {}),
      },
      scope,
      versions,
      ...(options.conversion ? { conversion: structuredClone(options.conversion) } : {}),
    },
  };
}

function versionOf(
  declaration: CustomResourceDeclaration,
  version: DeclaredVersion,
): CustomResourceDefinitionVersion {
  const kind = declaration.names.kind;
  const where = `versions.${version.name}`;
  const error = (path: string, message: string) =>
    new CrdGenerationError(kind, path ? `${where}.${path}` : where, message);

  const schema = rootSchema(version, kind, where);
  const out: CustomResourceDefinitionVersion = {
    name: version.name,
    served: version.served,
    storage: version.storage,
  };
  if (version.deprecated) out.deprecated = true;
  if (version.deprecationWarning !== undefined) out.deprecationWarning = version.deprecationWarning;
  out.schema = { openAPIV3Schema: schema };

  const subresources: NonNullable<CustomResourceDefinitionVersion["subresources"]> = {};
  if (version.status) subresources.status = {};
  if (version.scale) {
    const { specReplicasPath, statusReplicasPath, labelSelectorPath } = version.scale;
    if (!specReplicasPath.startsWith(".spec.")) {
      throw error("scale.specReplicasPath", `"${specReplicasPath}" must be a path under .spec`);
    }
    if (!statusReplicasPath.startsWith(".status.")) {
      throw error(
        "scale.statusReplicasPath",
        `"${statusReplicasPath}" must be a path under .status`,
      );
    }
    if (!version.status) {
      throw error("scale", "the scale subresource needs a status schema (for statusReplicasPath)");
    }
    for (const [name, path, types] of [
      ["specReplicasPath", specReplicasPath, ["integer"]],
      ["statusReplicasPath", statusReplicasPath, ["integer"]],
      ["labelSelectorPath", labelSelectorPath, ["string"]],
    ] as const) {
      if (path === undefined) continue;
      if (!path.startsWith(".spec.") && !path.startsWith(".status.")) {
        throw error(`scale.${name}`, `"${path}" must be a path under .spec or .status`);
      }
      const node = lookup(schema, path);
      if (node === "unknown") continue;
      if (!node) throw error(`scale.${name}`, `"${path}" is not a field of the schema`);
      if (!(types as readonly string[]).includes(node.type ?? "")) {
        throw error(
          `scale.${name}`,
          `"${path}" must be ${types.join(" or ")} (it is ${node.type ?? "untyped"})${name === "labelSelectorPath" ? "; it holds a label selector in string form, e.g. app=web" : ""}`,
        );
      }
    }
    subresources.scale = {
      specReplicasPath,
      statusReplicasPath,
      ...(labelSelectorPath !== undefined ? { labelSelectorPath } : {}),
    };
  }
  if (Object.keys(subresources).length > 0) out.subresources = subresources;

  const columns: CustomResourceColumnDefinition[] = [];
  for (const [index, column] of (version.printerColumns ?? []).entries()) {
    const path = `printerColumns[${index}]`;
    if (!column.name) throw error(path, "a column needs a name");
    if (!columnTypes.has(column.type)) {
      throw error(path, `type "${column.type}" must be one of ${[...columnTypes].join(", ")}`);
    }
    if (column.format !== undefined && !columnFormats.has(column.format)) {
      throw error(
        path,
        `format "${column.format}" must be one of ${[...columnFormats].join(", ")}`,
      );
    }
    if (!column.jsonPath.startsWith(".")) {
      throw error(
        path,
        `jsonPath "${column.jsonPath}" must start with a dot, e.g. ".status.phase"`,
      );
    }
    if (lookup(schema, column.jsonPath) === undefined) {
      throw error(path, `jsonPath "${column.jsonPath}" is not a field of the schema`);
    }
    columns.push({ ...column });
  }
  if (version.ageColumn !== false && !columns.some((column) => column.name === "Age")) {
    columns.push({ ...ageColumn });
  }
  if (columns.length > 0) out.additionalPrinterColumns = columns;

  const selectable = version.selectableFields ?? [];
  if (selectable.length > 8) throw error("selectableFields", "at most 8 fields can be selectable");
  for (const [index, path] of selectable.entries()) {
    const node = lookup(schema, path);
    if (!node || node === "unknown") {
      throw error(`selectableFields[${index}]`, `"${path}" is not a field of the schema`);
    }
    if (!["string", "integer", "boolean"].includes(node.type ?? "")) {
      throw error(
        `selectableFields[${index}]`,
        `"${path}" must be a string, integer or boolean field`,
      );
    }
  }
  if (selectable.length > 0) out.selectableFields = selectable.map((jsonPath) => ({ jsonPath }));
  return out;
}

function convert(schema: unknown, kind: string, path: string, where: string): JSONSchemaProps {
  try {
    return toStructuralSchema(schema, { path });
  } catch (error) {
    if (error instanceof SchemaConversionError) {
      throw new CrdGenerationError(
        kind,
        `${where}.${error.path}`,
        `${error.problem}. ${error.fix}`,
      );
    }
    throw error;
  }
}

function rootSchema(version: DeclaredVersion, kind: string, where: string): JSONSchemaProps {
  const spec = convert(version.spec, kind, "spec", where);
  if (spec.type !== "object") {
    throw new CrdGenerationError(
      kind,
      `${where}.spec`,
      "spec must be an object (Type.Object), or K8s.Opaque() to keep any fields",
    );
  }
  const properties: Record<string, JSONSchemaProps> = {
    apiVersion: { description: apiVersionDescription, type: "string" },
    kind: { description: kindDescription, type: "string" },
    metadata: metadataSchema(version.metadata, kind, where),
  };
  const required: string[] = [];
  const specRequired = (spec.required ?? []).filter(
    (name) => spec.properties?.[name]?.default === undefined,
  );
  if (specRequired.length > 0) {
    // Some spec field must be given: so must spec.
    required.push("spec");
    properties.spec = spec;
  } else if (spec.default === undefined) {
    // Nothing to give: default spec to {} so nested defaults apply and spec is always present.
    properties.spec = reorder({ ...spec, default: {} });
  } else {
    properties.spec = spec;
  }
  if (version.status) {
    const status = convert(version.status, kind, "status", where);
    if (status.type !== "object") {
      throw new CrdGenerationError(
        kind,
        `${where}.status`,
        "status must be an object (Type.Object, K8s.Status())",
      );
    }
    properties.status = status;
  }
  const root: JSONSchemaProps = {
    ...(version.description ? { description: version.description } : {}),
    type: "object",
    properties,
    ...(required.length > 0 ? { required } : {}),
  };
  if (version.validations && version.validations.length > 0) {
    const rules = convert(
      { type: "object", "x-kubernetes-validations": version.validations },
      kind,
      "validations",
      where,
    );
    root["x-kubernetes-validations"] = rules["x-kubernetes-validations"]!;
  }
  return root;
}

function reorder(schema: JSONSchemaProps): JSONSchemaProps {
  const { description, type, default: value, ...rest } = schema;
  return {
    ...(description !== undefined ? { description } : {}),
    ...(type !== undefined ? { type } : {}),
    ...(value !== undefined ? { default: value } : {}),
    ...rest,
  };
}

/** `metadata` may only constrain `name` and `generateName`, as strings. */
function metadataSchema(schema: unknown, kind: string, where: string): JSONSchemaProps {
  if (schema === undefined) return { type: "object" };
  // required and description are dropped: the API server allows neither on metadata (and
  // requires a name or generateName itself).
  const {
    required: _required,
    description: _description,
    ...converted
  } = convert(schema, kind, "metadata", where);
  const allowedKeys = new Set(["type", "properties"]);
  for (const key of Object.keys(converted)) {
    if (!allowedKeys.has(key)) {
      throw new CrdGenerationError(
        kind,
        `${where}.metadata`,
        `"${key}" is not allowed on metadata: a CRD may only constrain metadata.name and metadata.generateName. Use a CEL rule in validations for anything else`,
      );
    }
  }
  const properties: Record<string, JSONSchemaProps> = {};
  for (const [name, property] of Object.entries(converted.properties ?? {})) {
    if (name !== "name" && name !== "generateName") {
      throw new CrdGenerationError(
        kind,
        `${where}.metadata.${name}`,
        "a CRD may only constrain metadata.name and metadata.generateName. Use a CEL rule in validations (self.metadata...) for other metadata",
      );
    }
    if (property.type !== "string") {
      throw new CrdGenerationError(kind, `${where}.metadata.${name}`, "must be a string schema");
    }
    if (property.default !== undefined) {
      throw new CrdGenerationError(
        kind,
        `${where}.metadata.${name}`,
        "metadata cannot have defaults",
      );
    }
    properties[name] = property;
  }
  return Object.keys(properties).length > 0 ? { type: "object", properties } : { type: "object" };
}

/**
 * The schema node at a simple JSONPath (`.spec.a.b`), `"unknown"` when the path enters a node
 * that keeps unknown fields, `undefined` when the path does not exist. Paths with filters or
 * indexes are not checked (`"unknown"`).
 */
function lookup(schema: JSONSchemaProps, path: string): JSONSchemaProps | "unknown" | undefined {
  if (!/^(\.[A-Za-z_$][\w$-]*)+$/.test(path)) return "unknown";
  if (path.startsWith(".metadata.")) return "unknown";
  let node: JSONSchemaProps | undefined = schema;
  for (const segment of path.slice(1).split(".")) {
    if (!node) return undefined;
    if (node.properties?.[segment]) {
      node = node.properties[segment];
    } else if (typeof node.additionalProperties === "object") {
      node = node.additionalProperties;
    } else if (node["x-kubernetes-preserve-unknown-fields"]) {
      return "unknown";
    } else {
      return undefined;
    }
  }
  return node;
}
