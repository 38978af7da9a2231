#!/usr/bin/env node
// The `operon` command. In a published package it runs the compiled CLI, whose entry point checks
// the Node.js version before loading anything else (src/cli/bin.ts). In a checkout of the
// repository there is no compiled CLI: it runs the TypeScript sources, resolving `kube-operon`
// imports to them as the repository's own scripts do. Plain JavaScript, so that an old Node.js
// gets as far as saying what it lacks.
import { existsSync } from "node:fs";

const source = new URL("../src/cli/bin.ts", import.meta.url);
if (!existsSync(source)) {
  await import(new URL("../dist/cli/bin.js", import.meta.url).href);
} else {
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  if (major < 22 || (major === 22 && minor < 18)) {
    process.stderr.write(
      `operon needs Node.js 22.18 or newer; this is Node.js ${process.versions.node} (${process.execPath}).\n` +
        "In this repository, `npx operon` and the npm scripts run the Node.js 24 pinned in\n" +
        "package.json once `sh scripts/ensure-deps.sh` (or `npm run demo`, `npm test`) has installed it.\n",
    );
    process.exit(1);
  }
  const { registerHooks } = await import("node:module");
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const conditions = [...(context.conditions ?? []), "operon-source"];
      return nextResolve(specifier, { ...context, conditions });
    },
  });
  await import(source.href);
}
