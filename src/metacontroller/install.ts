/** Applies the `metacontroller.k8s.io` CRDs to a cluster and waits until they are served. */
import type { KubeClient } from "../client/client.ts";
import { CustomResourceDefinition } from "../resources/apiextensions.ts";
import { metacontrollerCrds } from "./crds.ts";

/**
 * Applies the CompositeController, DecoratorController and ControllerRevision CRDs with
 * server-side apply (taking over fields another installation set) and waits until each is
 * Established. Returns the names applied.
 *
 * @example
 * import { KubeClient, installMetacontrollerCrds } from "kube-operon";
 * const client = await KubeClient.fromKubeConfig();
 * await installMetacontrollerCrds(client);
 */
export async function installMetacontrollerCrds(
  client: KubeClient,
  options: { fieldManager?: string; timeoutMs?: number; progress?: (line: string) => void } = {},
): Promise<string[]> {
  const names: string[] = [];
  for (const crd of metacontrollerCrds()) {
    await client.apply(CustomResourceDefinition, crd as never, {
      fieldManager: options.fieldManager ?? "operon",
      force: true,
    });
    names.push(crd.metadata.name!);
    options.progress?.(`applied CustomResourceDefinition ${crd.metadata.name}`);
  }
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (const name of names) {
    for (;;) {
      const crd = await client.get(CustomResourceDefinition, name);
      if (crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True"))
        break;
      if (Date.now() > deadline) {
        throw new Error(`CustomResourceDefinition ${name} was not Established in time`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    options.progress?.(`CustomResourceDefinition ${name} is established`);
  }
  return names;
}
