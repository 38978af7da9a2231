import { Manager, type TraceRecord } from "kube-operon";
import greeter from "./greeting.ts";

/**
 * A manager that keeps the trace of its reconciles: the latest 100 of each parent, 20,000 in
 * all, with the viewer on loopback (`0` serves nothing: `manager.trace` only).
 */
export function tracedManager(options: { kubeconfig?: string; bindAddress?: string } = {}) {
  return new Manager({
    ...(options.kubeconfig ? { kubeconfig: options.kubeconfig } : {}),
    trace: { bindAddress: options.bindAddress ?? "127.0.0.1:8090", perParent: 100, total: 20_000 },
  }).add(greeter);
}

/** One line per failed reconcile since `since`: the parent, the error and what triggered it. */
export function failures(manager: Manager, since = 0): string[] {
  return (manager.trace?.records({ errors: true, since }) ?? []).map((record: TraceRecord) => {
    const causes = record.triggers.map((t) =>
      t.object
        ? `${t.event} ${t.object.kind} ${t.object.name} rv ${t.object.resourceVersion}`
        : t.reason,
    );
    return `${record.key}: ${record.error?.message} (after ${causes.join(", ") || "a retry"})`;
  });
}

/** Every change Operon made to a child field, with the reconcile that made it. */
export function childChanges(manager: Manager, key: string): string[] {
  return (manager.trace?.records({ key }) ?? []).flatMap((record) =>
    record.children.flatMap((child) =>
      (child.diff?.changes ?? []).map(
        (change) =>
          `${record.reconcileId.slice(0, 8)} ${child.child} ${change.path}: ${JSON.stringify(change.before)} → ${JSON.stringify(change.after)}`,
      ),
    ),
  );
}
