/**
 * The `metacontroller.k8s.io/v1alpha1` API: CompositeController, DecoratorController and
 * ControllerRevision, shaped as Metacontroller's own types (same field names, same defaults), so
 * existing manifests apply unchanged and hooks receive the objects they already expect.
 */
import type { LabelSelector } from "../resources/meta.ts";
import { type KubeObject, resourceType } from "../resources/object.ts";

export const metacontrollerGroup = "metacontroller.k8s.io";
export const metacontrollerApiVersion = "metacontroller.k8s.io/v1alpha1";

/** A resource named the way Metacontroller names it: `apiVersion` plus plural `resource`. */
export interface ResourceRule {
  apiVersion: string;
  resource: string;
}

export type HookVersion = "v1" | "v2";
export type ResponseUnmarshallMode = "loose" | "strict";
export type ChildUpdateMethod =
  | "OnDelete"
  | "Recreate"
  | "InPlace"
  | "RollingRecreate"
  | "RollingInPlace";

export interface ServiceReference {
  name: string;
  namespace: string;
  port?: number;
  protocol?: string;
}

export interface ResourceKeyRef {
  name: string;
  namespace: string;
  key?: string;
}

export interface SecretRef {
  name: string;
  namespace: string;
}

export interface SecretKeyRef extends SecretRef {
  key: string;
}

export interface CABundle {
  inline?: string;
  secretRef?: ResourceKeyRef;
  configMapRef?: ResourceKeyRef;
}

export interface Authorization {
  type?: string;
  secretRef: SecretKeyRef;
}

export interface BasicAuth {
  secretRef: SecretRef;
  usernameKey?: string;
  passwordKey?: string;
}

export interface ClientTLS {
  secretRef: SecretRef;
  certKey?: string;
  privateKeyKey?: string;
}

export interface WebhookEtagConfig {
  enabled?: boolean;
  cacheTimeoutSeconds?: number;
  cacheCleanupSeconds?: number;
}

export interface HookWebhook {
  url?: string;
  /** A Go duration, e.g. `10s`. Default 10 s. */
  timeout?: string;
  etag?: WebhookEtagConfig;
  path?: string;
  service?: ServiceReference;
  responseUnMarshallMode?: ResponseUnmarshallMode;
  caBundle?: CABundle;
  clientTLS?: ClientTLS;
  authorization?: Authorization;
  basicAuth?: BasicAuth;
}

export interface Hook {
  version?: HookVersion;
  webhook?: HookWebhook;
}

/** Connection settings for every webhook whose URL names `host`. */
export interface EndpointConfig {
  host: string;
  caBundle?: CABundle;
  clientTLS?: ClientTLS;
  authorization?: Authorization;
  basicAuth?: BasicAuth;
}

export interface StatusConditionCheck {
  type: string;
  status?: string;
  reason?: string;
}

export interface ChildUpdateStrategy {
  method?: ChildUpdateMethod;
  statusChecks?: { conditions?: StatusConditionCheck[] };
}

export interface CompositeControllerSpec {
  parentResource: ResourceRule & {
    revisionHistory?: { fieldPaths?: string[] };
    labelSelector?: LabelSelector;
    ignoreStatusChanges?: boolean;
  };
  childResources?: Array<ResourceRule & { updateStrategy?: ChildUpdateStrategy }>;
  hooks?: {
    customize?: Hook;
    sync?: Hook;
    finalize?: Hook;
    preUpdateChild?: Hook;
    postUpdateChild?: Hook;
  };
  endpointConfigs?: EndpointConfig[];
  resyncPeriodSeconds?: number;
  generateSelector?: boolean;
}

export interface CompositeController extends KubeObject {
  apiVersion: typeof metacontrollerApiVersion;
  kind: "CompositeController";
  spec: CompositeControllerSpec;
  status?: Record<string, never>;
}

export interface AnnotationSelector {
  matchAnnotations?: Record<string, string>;
  matchExpressions?: LabelSelector["matchExpressions"];
}

export interface DecoratorControllerSpec {
  resources: Array<
    ResourceRule & {
      labelSelector?: LabelSelector;
      annotationSelector?: AnnotationSelector;
      ignoreStatusChanges?: boolean;
    }
  >;
  attachments?: Array<ResourceRule & { updateStrategy?: { method?: ChildUpdateMethod } }>;
  hooks?: { customize?: Hook; sync?: Hook; finalize?: Hook };
  endpointConfigs?: EndpointConfig[];
  resyncPeriodSeconds?: number;
}

export interface DecoratorController extends KubeObject {
  apiVersion: typeof metacontrollerApiVersion;
  kind: "DecoratorController";
  spec: DecoratorControllerSpec;
  status?: Record<string, never>;
}

/** Either kind of controller. */
export type AnyController = CompositeController | DecoratorController;

export interface ControllerRevisionChildren {
  apiGroup: string;
  kind: string;
  names: string[];
}

export interface ControllerRevision extends KubeObject {
  apiVersion: typeof metacontrollerApiVersion;
  kind: "ControllerRevision";
  parentPatch: Record<string, unknown>;
  children?: ControllerRevisionChildren[];
}

/** What the customize hook answers with: which related objects a parent's hooks receive. */
export interface RelatedResourceRule extends ResourceRule {
  labelSelector?: LabelSelector | null;
  namespaceSelector?: LabelSelector | null;
  namespace?: string;
  names?: string[] | null;
}

export const CompositeControllerType = resourceType<CompositeController>(
  metacontrollerApiVersion,
  "CompositeController",
  "compositecontrollers",
  false,
);
export const DecoratorControllerType = resourceType<DecoratorController>(
  metacontrollerApiVersion,
  "DecoratorController",
  "decoratorcontrollers",
  false,
);
export const ControllerRevisionType = resourceType<ControllerRevision>(
  metacontrollerApiVersion,
  "ControllerRevision",
  "controllerrevisions",
  true,
);
