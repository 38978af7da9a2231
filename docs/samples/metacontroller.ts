import { Manager, Metacontroller } from "kube-operon";

// `operon metacontroller run` in code: Metacontroller mode beside your own operators, on one
// manager (one client, shared informers, one Lease, one /metrics).
const manager = new Manager({
  metricsBindAddress: ":8080",
  healthProbeBindAddress: ":8081",
  leaderElection: { id: "metacontroller", namespace: "metacontroller" },
});
manager.add(
  new Metacontroller({
    workers: 16,
    // Only the controllers labelled for this instance, as Metacontroller's --target-label-selector.
    targetLabelSelector: "controller-group=cicd",
  }),
);

export async function main(): Promise<void> {
  await manager.run();
}
