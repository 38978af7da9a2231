/** `operon install <module>`: applies the CRDs a module's operators declare to the current cluster. */
import { KubeClient } from "../client/client.ts";
import { customTypesOf, installCustomResources } from "../manager/install.ts";
import type { Command } from "./command.ts";
import { kubeFlags, kubeOptions } from "./kube-options.ts";
import { loadOperators } from "./load-module.ts";

export const install: Command = {
  path: ["install"],
  summary:
    "Install the CustomResourceDefinitions a module's operators declare into the current cluster",
  usage: "<module>",
  options: { ...kubeOptions },
  async run({ values, positionals, stdout }) {
    const operators = await loadOperators(positionals[0]);
    const types = customTypesOf(operators);
    if (types.length === 0) {
      stdout.write("nothing to install: the operators use only built-in kinds\n");
      return 0;
    }
    const client = await KubeClient.fromKubeConfig(kubeFlags(values));
    try {
      await installCustomResources(client, types, {
        fieldManager: "operon",
        progress: (line) => stdout.write(`${line}\n`),
      });
    } finally {
      await client.close();
    }
    return 0;
  },
};
