/**
 * What every Metacontroller-mode controller shares: the manager's client and informers, the
 * event recorder, settings from the command line, and the hooks the manager measures work with.
 */
import type { InformerFactory } from "../cache/shared-informers.ts";
import type { KubeClient } from "../client/client.ts";
import { isNotFound } from "../client/errors.ts";
import type { Reconcile } from "../controller/controller.ts";
import type { EventRecorder } from "../operator/events.ts";
import type { OperatorLogger } from "../operator/reconciler.ts";
import type { WorkQueueMetrics } from "../queue/index.ts";
import { type KubeObject, type ResourceType, resourceType } from "../resources/object.ts";
import type { ServiceAccess } from "./hook.ts";
import type { ResourceRule } from "./types.ts";

/** Measurement hooks for one controller's queue and reconciles (from the manager). */
export interface Instrumentation {
  queueMetrics?: WorkQueueMetrics;
  instrument?: (reconcile: Reconcile) => Reconcile;
  /** Called when the controller is removed, to drop its series and health monitor. */
  release?: () => void;
}

export interface MetacontrollerContext {
  client: KubeClient;
  informers: InformerFactory;
  logger: OperatorLogger;
  recorder: EventRecorder;
  serviceAccess: ServiceAccess;
  /** Field manager of children writes. */
  fieldManager: string;
  /** Parents synced at once per controller. */
  workers: number;
  /** Every parent is synced again this often (Metacontroller's cache flush). 0: never. */
  resyncPeriodMs: number;
  instrumentation(name: string): Instrumentation;
}

/** A resource rule resolved through discovery. */
export interface ResolvedResource {
  type: ResourceType;
  apiVersion: string;
  kind: string;
  group: string;
  plural: string;
  namespaced: boolean;
  subresources: string[];
}

/** Resolves `apiVersion` + plural `resource` into a kind (fails if the server does not serve it). */
export async function resolveResource(
  client: KubeClient,
  rule: ResourceRule,
  signal?: AbortSignal,
): Promise<ResolvedResource> {
  let info: Awaited<ReturnType<KubeClient["discovery"]["resourceByPlural"]>>;
  try {
    info = await client.discovery.resourceByPlural(rule.apiVersion, rule.resource, signal);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    // Discovery remembers misses for a moment; a CRD created just now deserves a fresh look.
    client.discovery.invalidate(rule.apiVersion);
    info = await client.discovery.resourceByPlural(rule.apiVersion, rule.resource, signal);
  }
  return {
    type: resourceType<KubeObject>(rule.apiVersion, info.kind, info.plural, info.namespaced),
    apiVersion: rule.apiVersion,
    kind: info.kind,
    group: info.group,
    plural: info.plural,
    namespaced: info.namespaced,
    subresources: info.subresources ?? [],
  };
}
