import { defineOperator, isNotFound, Secret } from "kube-operon";
import { Greeting } from "./greeting.ts";

/** Stands in for an outside system that registers a name once per idempotency key. */
const registrations = new Map<string, string>();
export async function register(idempotencyKey: string, name: string): Promise<string> {
  const id = registrations.get(idempotencyKey) ?? `${name}-${registrations.size + 1}`;
  registrations.set(idempotencyKey, id);
  return id;
}

export default defineOperator({
  name: "imperative-demo",
  parent: Greeting,
  // `operon generate` grants these next to what the declaration needs.
  extraRules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"] }],
  async sync({ parent, client, signal }) {
    // A read past the cache: one request on every sync, and no sync when the Secret changes.
    // Declare the type under `related` instead when it is read often or should trigger syncs.
    const token = await client
      .get(Secret, "registry-token", { namespace: parent.metadata.namespace, signal })
      .catch((error: unknown) => {
        if (isNotFound(error)) return undefined;
        throw error; // Synced=False with the message, retried with backoff
      });
    if (!token) {
      return {
        status: { message: "waiting for the Secret registry-token" },
        requeueAfterMs: 30_000,
      };
    }
    // A call to an outside system, keyed by what it is for (this parent at this generation):
    // `sync` runs many times, and the call must do the same thing every time.
    const id = await register(
      `${parent.metadata.uid}/${parent.metadata.generation}`,
      parent.spec.name,
    );
    return { status: { message: `registered as ${id}` } };
  },
});
