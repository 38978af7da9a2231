/**
 * The `metacontroller.k8s.io/v1alpha1` CustomResourceDefinitions: CompositeController,
 * DecoratorController and ControllerRevision, with the same names, scopes, short names,
 * subresources, structural schemas and defaults as Metacontroller's own, so a cluster can switch
 * between Metacontroller and Operon in either direction and existing manifests apply unchanged.
 */
import type { CustomResourceDefinition } from "../resources/apiextensions.ts";
import { metacontrollerGroup } from "./types.ts";

type Schema = Record<string, unknown>;

const string: Schema = { type: "string" };
const int32: Schema = { type: "integer", format: "int32" };
const boolean: Schema = { type: "boolean" };

function object(
  properties: Record<string, Schema>,
  required?: string[],
  extra: Schema = {},
): Schema {
  return { type: "object", properties, ...(required ? { required } : {}), ...extra };
}

function array(items: Schema, extra: Schema = {}): Schema {
  return { type: "array", items, ...extra };
}

const stringMap: Schema = { type: "object", additionalProperties: string };

const requirement = object(
  { key: string, operator: string, values: array(string, { "x-kubernetes-list-type": "atomic" }) },
  ["key", "operator"],
);

const labelSelector = object(
  {
    matchExpressions: array(requirement, { "x-kubernetes-list-type": "atomic" }),
    matchLabels: stringMap,
  },
  undefined,
  { "x-kubernetes-map-type": "atomic" },
);

const annotationSelector = object({
  matchAnnotations: stringMap,
  matchExpressions: array(requirement),
});

const secretRef = object({ name: string, namespace: string }, ["name", "namespace"]);
const keyRef = object(
  { key: { type: "string", default: "ca.crt" }, name: string, namespace: string },
  ["name", "namespace"],
);

const connection: Record<string, Schema> = {
  authorization: object(
    {
      secretRef: object({ key: string, name: string, namespace: string }, [
        "key",
        "name",
        "namespace",
      ]),
      type: { type: "string", default: "Bearer" },
    },
    ["secretRef"],
  ),
  basicAuth: object(
    {
      passwordKey: { type: "string", default: "password" },
      secretRef,
      usernameKey: { type: "string", default: "username" },
    },
    ["secretRef"],
  ),
  caBundle: object({ configMapRef: keyRef, inline: string, secretRef: keyRef }),
  clientTLS: object(
    {
      certKey: { type: "string", default: "tls.crt" },
      privateKeyKey: { type: "string", default: "tls.key" },
      secretRef,
    },
    ["secretRef"],
  ),
};

const hook = object({
  version: { type: "string", default: "v1", enum: ["v1", "v2"] },
  webhook: object({
    ...connection,
    etag: object({ cacheCleanupSeconds: int32, cacheTimeoutSeconds: int32, enabled: boolean }),
    path: string,
    responseUnMarshallMode: { type: "string", enum: ["loose", "strict"] },
    service: object({ name: string, namespace: string, port: int32, protocol: string }, [
      "name",
      "namespace",
    ]),
    timeout: { type: "string", format: "duration" },
    url: string,
  }),
});

const endpointConfigs = array(object({ ...connection, host: string }, ["host"]));

const methods = ["OnDelete", "Recreate", "InPlace", "RollingRecreate", "RollingInPlace"];

const compositeSpec = object(
  {
    childResources: array(
      object(
        {
          apiVersion: string,
          resource: string,
          updateStrategy: object({
            method: { type: "string", enum: methods },
            statusChecks: object({
              conditions: array(object({ reason: string, status: string, type: string }, ["type"])),
            }),
          }),
        },
        ["apiVersion", "resource"],
      ),
    ),
    endpointConfigs,
    generateSelector: boolean,
    hooks: object({
      customize: hook,
      finalize: hook,
      postUpdateChild: hook,
      preUpdateChild: hook,
      sync: hook,
    }),
    parentResource: object(
      {
        apiVersion: string,
        ignoreStatusChanges: boolean,
        labelSelector,
        resource: string,
        revisionHistory: object({ fieldPaths: array(string) }),
      },
      ["apiVersion", "resource"],
    ),
    resyncPeriodSeconds: int32,
  },
  ["parentResource"],
);

const decoratorSpec = object(
  {
    attachments: array(
      object(
        {
          apiVersion: string,
          resource: string,
          updateStrategy: object({ method: { type: "string", enum: methods } }),
        },
        ["apiVersion", "resource"],
      ),
    ),
    endpointConfigs,
    hooks: object({ customize: hook, finalize: hook, sync: hook }),
    resources: array(
      object(
        {
          annotationSelector,
          apiVersion: string,
          ignoreStatusChanges: boolean,
          labelSelector,
          resource: string,
        },
        ["apiVersion", "resource"],
      ),
    ),
    resyncPeriodSeconds: int32,
  },
  ["resources"],
);

const typeMeta = {
  apiVersion: { type: "string", description: "APIVersion of this representation of an object." },
  kind: { type: "string", description: "Kind: the REST resource this object represents." },
  metadata: { type: "object" },
};

function crd(
  kind: string,
  plural: string,
  scope: "Cluster" | "Namespaced",
  schema: Schema,
  shortNames?: string[],
): CustomResourceDefinition {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${plural}.${metacontrollerGroup}`,
      // Required for a group under k8s.io; the same value as Metacontroller's CRDs.
      annotations: { "api-approved.kubernetes.io": "unapproved, request not yet submitted" },
    },
    spec: {
      group: metacontrollerGroup,
      names: {
        kind,
        listKind: `${kind}List`,
        plural,
        singular: kind.toLowerCase(),
        ...(shortNames ? { shortNames } : {}),
      },
      scope,
      versions: [
        {
          name: "v1alpha1",
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: { openAPIV3Schema: schema as never },
        },
      ],
    },
  } as CustomResourceDefinition;
}

/**
 * The three CRDs of Metacontroller's API.
 *
 * @example
 * import { metacontrollerCrds, toYaml } from "kube-operon";
 * process.stdout.write(toYaml(metacontrollerCrds()));
 */
export function metacontrollerCrds(): CustomResourceDefinition[] {
  return [
    crd(
      "CompositeController",
      "compositecontrollers",
      "Cluster",
      object(
        { ...typeMeta, spec: compositeSpec, status: { type: "object" } },
        ["metadata", "spec"],
        { description: "CompositeController" },
      ),
      ["cc", "cctl"],
    ),
    crd(
      "ControllerRevision",
      "controllerrevisions",
      "Namespaced",
      object(
        {
          ...typeMeta,
          children: array(
            object({ apiGroup: string, kind: string, names: array(string) }, [
              "apiGroup",
              "kind",
              "names",
            ]),
          ),
          parentPatch: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
        },
        ["metadata", "parentPatch"],
        { description: "ControllerRevision" },
      ),
    ),
    crd(
      "DecoratorController",
      "decoratorcontrollers",
      "Cluster",
      object(
        { ...typeMeta, spec: decoratorSpec, status: { type: "object" } },
        ["metadata", "spec"],
        { description: "DecoratorController" },
      ),
      ["dec", "decorators"],
    ),
  ];
}
