import { KubeClient, planOperators } from "kube-operon";
import greeter from "./greeting.ts";

/**
 * The parents whose children or status the greeter would change now, as `operon plan` finds
 * them: every write is a server-side dry run, so nothing is stored.
 */
export async function pendingChanges(kubeconfig?: string): Promise<string[]> {
  const client = await KubeClient.fromKubeConfig({
    ...(kubeconfig ? { kubeconfig } : {}),
    dryRun: true,
  });
  try {
    const planned = await planOperators(client, [greeter]);
    return planned.filter((parent) => parent.changes).map((parent) => parent.record.key);
  } finally {
    await client.close();
  }
}
