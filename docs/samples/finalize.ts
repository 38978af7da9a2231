import { defineOperator } from "kube-operon";
import { Greeting } from "./greeting.ts";

/** Stands in for a call to a system outside the cluster. */
async function deleteExternalRecord(name: string): Promise<boolean> {
  return name.length > 0;
}

export default defineOperator({
  name: "finalize-demo",
  parent: Greeting,
  // The finalizer's name on each Greeting (default: finalize-demo.operon.dev/finalizer).
  finalizer: "greetings.example.com/finalizer",
  sync: () => ({ status: { message: "registered" } }),
  // With a finalize function, Operon keeps a finalizer on every Greeting and calls this when one
  // is deleted, until it reports finalized (throwing retries with backoff).
  async finalize({ parent }) {
    const deleted = await deleteExternalRecord(parent.metadata.name!);
    return deleted ? { finalized: true } : { finalized: false, retryAfterMs: 5_000 };
  },
});
