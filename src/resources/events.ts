/**
 * `events.k8s.io/v1` Event: a report of something that happened to an object.
 */
import type { MicroTime, ObjectReference, Time } from "./meta.ts";
import { type ObjectMeta, resourceType } from "./object.ts";

/**
 * An Event (`events.k8s.io/v1/Event`). Its fields sit at the top level (no `spec`).
 *
 * @example
 * const event: Event = {
 *   apiVersion: "events.k8s.io/v1",
 *   kind: "Event",
 *   metadata: { generateName: "web-", namespace: "default" },
 *   eventTime: "2024-05-01T12:00:00.000000Z",
 *   reportingController: "example.com/widget-operator",
 *   reportingInstance: "widget-operator-0",
 *   action: "Reconcile",
 *   reason: "Scaled",
 *   type: "Normal",
 *   note: "scaled to 3 replicas",
 *   regarding: { apiVersion: "example.com/v1", kind: "Widget", name: "web", namespace: "default" },
 * };
 */
export type Event = {
  apiVersion: "events.k8s.io/v1";
  kind: "Event";
  metadata: ObjectMeta;
  /** When the event was first observed; required. */
  eventTime: MicroTime;
  series?: { count: number; lastObservedTime: MicroTime };
  /** The controller that emitted the event, e.g. `example.com/widget-operator`. */
  reportingController?: string;
  /** The instance of the controller, e.g. the pod name. */
  reportingInstance?: string;
  /** What was done (or failed), in CamelCase. */
  action?: string;
  /** Why, in CamelCase. */
  reason?: string;
  /** The object the event is about. */
  regarding?: ObjectReference;
  related?: ObjectReference;
  /** A human-readable description, at most 1 kB. */
  note?: string;
  type?: "Normal" | "Warning";
  deprecatedSource?: { component?: string; host?: string };
  deprecatedFirstTimestamp?: Time;
  deprecatedLastTimestamp?: Time;
  deprecatedCount?: number;
};
/** The `Event` kind: `events.k8s.io/v1`, `events`, namespaced. */
export const Event = resourceType<Event>("events.k8s.io/v1", "Event", "events", true);
