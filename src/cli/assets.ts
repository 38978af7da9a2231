/** `operon assets ensure|path`: the control-plane binaries the testkit runs. */
import { dirname } from "node:path";
import { assetCacheDir, binaryNames, ensureAssets } from "../testkit/assets.ts";
import type { Command } from "./command.ts";

export const assetsEnsure: Command = {
  path: ["assets", "ensure"],
  summary: "Build or find the control-plane binaries (etcd, kube-apiserver, ...)",
  description:
    "Finds etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl and kwok in\n" +
    "OPERON_ASSETS, KUBEBUILDER_ASSETS or the cache, and builds the missing ones from Go modules.",
  async run({ stdout }) {
    const started = Date.now();
    const paths = await ensureAssets();
    for (const name of binaryNames) stdout.write(`${name.padEnd(24)} ${paths[name]}\n`);
    process.stderr.write(
      `operon: control-plane binaries ready (${((Date.now() - started) / 1000).toFixed(1)}s)\n`,
    );
    return 0;
  },
};

export const assetsPath: Command = {
  path: ["assets", "path"],
  summary: "Print the cache directory of the control-plane binaries",
  description:
    "Prints the directory the control-plane binaries are cached in, e.g. to put its kubectl on\n" +
    'the PATH: export PATH="$PATH:$(operon assets path --ensure)".',
  options: {
    ensure: {
      type: "boolean",
      description: "Build or find the missing binaries first (as `assets ensure`)",
    },
  },
  async run({ values, stdout }) {
    // With --ensure, the directory kubectl was found in (OPERON_ASSETS may point elsewhere).
    const dir =
      values.ensure === true ? dirname((await ensureAssets()).kubectl) : `${assetCacheDir()}/bin`;
    stdout.write(`${dir}\n`);
    return 0;
  },
};
