import { defineOperator, Manager } from "kube-operon";
import greeter from "./greeting.ts";

// Declared once: every manager that runs it (and `operon run`) shards it, and
// `operon generate` writes a Deployment of three replicas that splits the parents.
export const shardedGreeter = defineOperator({ ...greeter, sharding: true });

// Or for every operator of a manager: `sharding: true` (`operon run --sharding`). Each replica
// joins the ring with its own Lease; the elected leader assigns the parents.
const manager = new Manager({
  sharding: true,
  leaderElection: { namespace: "greeter-system" },
  healthProbeBindAddress: ":8081", // /readyz fails until the replica holds its ring membership
});
manager.add(greeter);
export const running = process.env.RUN_EXAMPLE ? manager.run() : undefined;
