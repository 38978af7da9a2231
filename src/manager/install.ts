/**
 * Installing what operators declare into a cluster: the CustomResourceDefinitions of their
 * custom parent, child and related types, applied with server-side apply and waited on until
 * the API server serves them.
 */
import type { KubeClient } from "../client/client.ts";
import { customResourceDefinition } from "../manifests/crd.ts";
import type { Operator } from "../operator/declaration.ts";
import { CustomResourceDefinition } from "../resources/apiextensions.ts";
import { type CustomResourceType, isCustomResourceType } from "../resources/define.ts";
import type { ResourceType } from "../resources/object.ts";

/** The custom kinds (declared with `defineResource`) that operators use, each once. */
export function customTypesOf(operators: readonly Operator[]): CustomResourceType[] {
  const found = new Map<string, CustomResourceType>();
  const consider = (type: ResourceType) => {
    if (isCustomResourceType(type)) found.set(`${type.group}/${type.plural}`, type);
  };
  for (const operator of operators) {
    consider(operator.parent);
    for (const declaration of operator.childTypes.values()) consider(declaration.type);
    for (const declaration of Object.values(operator.related ?? {})) consider(declaration.type);
  }
  return [...found.values()];
}

export interface InstallOptions {
  fieldManager?: string;
  /** Wait until each CRD is Established (served). Default true. */
  wait?: boolean;
  timeoutMs?: number;
  /** Called with a line per step. */
  progress?: (message: string) => void;
}

/**
 * Applies the CRDs of `types` and waits until the API server serves them.
 *
 * @example
 * await installCustomResources(client, customTypesOf([myOperator]));
 */
export async function installCustomResources(
  client: KubeClient,
  types: readonly CustomResourceType[],
  options: InstallOptions = {},
): Promise<string[]> {
  return applyCustomResourceDefinitions(
    client,
    types.map((type) => customResourceDefinition(type)),
    options,
  );
}

/**
 * Applies CustomResourceDefinition manifests (as `customResourceDefinition()` makes them) and
 * waits until the API server serves them; returns their names.
 *
 * @example
 * await applyCustomResourceDefinitions(client, [customResourceDefinition(MyApp)]);
 */
export async function applyCustomResourceDefinitions(
  client: KubeClient,
  crds: readonly CustomResourceDefinition[],
  options: InstallOptions = {},
): Promise<string[]> {
  const names: string[] = [];
  for (const crd of crds) {
    await client.apply(CustomResourceDefinition, crd as never, {
      fieldManager: options.fieldManager ?? "operon",
      force: true,
    });
    names.push(crd.metadata.name!);
    options.progress?.(`applied CustomResourceDefinition ${crd.metadata.name}`);
  }
  if (options.wait ?? true) {
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    for (const name of names) {
      for (;;) {
        const crd = await client.get(CustomResourceDefinition, name);
        const established = crd.status?.conditions?.some(
          (c) => c.type === "Established" && c.status === "True",
        );
        if (established) break;
        if (Date.now() > deadline)
          throw new Error(
            `CustomResourceDefinition ${name} was not Established within ${options.timeoutMs ?? 60_000} ms`,
          );
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      options.progress?.(`CustomResourceDefinition ${name} is established`);
    }
    // The client's discovery cache may predate the new kinds.
    client.discovery.invalidate();
  }
  return names;
}
