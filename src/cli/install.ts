/**
 * `operon install <module>`: applies the CRDs of the custom kinds a module's operators use, and
 * of the custom kinds it exports, to the current cluster.
 */
import { KubeClient } from "../client/client.ts";
import { customTypesOf, installCustomResources } from "../manager/install.ts";
import type { CustomResourceType } from "../resources/define.ts";
import type { Command } from "./command.ts";
import { kubeFlags, kubeOptions } from "./kube-options.ts";
import { loadModule } from "./load-module.ts";

export const install: Command = {
  path: ["install"],
  summary: "Install the CustomResourceDefinitions of a module's operators and custom kinds",
  usage: "<module | folder>",
  description:
    "Applies to the current cluster the CustomResourceDefinitions of the custom kinds a module's\n" +
    "operators use (parents, children, related) and of the custom kinds it exports\n" +
    "(defineResource), and waits until the API server serves them. <module> is a .ts or .js\n" +
    "file, or a folder holding one.",
  options: { ...kubeOptions },
  async run({ values, positionals, stdout }) {
    const module = await loadModule(positionals[0], "install");
    const types = new Map<string, CustomResourceType>();
    for (const type of [...customTypesOf(module.operators), ...module.kinds]) {
      types.set(`${type.plural}.${type.group}`, type);
    }
    if (types.size === 0) {
      if (module.operators.length > 0) {
        stdout.write("nothing to install: the operators use only built-in kinds\n");
        return 0;
      }
      throw new Error(
        `${positionals[0]} exports no operator (defineOperator) and no custom kind (defineResource); ` +
          "pass the module that declares them, e.g. operon install ./src/operator.ts",
      );
    }
    const client = await KubeClient.fromKubeConfig(kubeFlags(values));
    try {
      await installCustomResources(client, [...types.values()], {
        fieldManager: "operon",
        progress: (line) => stdout.write(`${line}\n`),
      });
    } finally {
      await client.close();
    }
    return 0;
  },
};
