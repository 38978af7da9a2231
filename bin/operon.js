#!/usr/bin/env node
// The `operon` command's entry point, in plain JavaScript so that any Node.js can run it far
// enough to say which version it needs. In a published package it runs the compiled CLI
// (dist/); in a checkout of the repository it runs the TypeScript sources, resolving
// `kube-operon` imports to them as the repository's own scripts do.
import { existsSync } from "node:fs";

const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `operon needs Node.js 22.18 or newer; this is Node.js ${process.versions.node}${major < 22 ? ", which is past its end of life" : ""}.\n` +
      "  In a project, pin one with `npm install --save-dev node@24` and run operon through npm\n" +
      "  (`npx operon ...` or an npm script), which puts the pinned Node.js first on the PATH.\n" +
      "  Or install Node.js 24 from https://nodejs.org and run again.\n",
  );
  process.exit(1);
}

const source = new URL("../src/cli/main.ts", import.meta.url);
if (existsSync(source)) {
  const { registerHooks } = await import("node:module");
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const conditions = [...(context.conditions ?? []), "operon-source"];
      return nextResolve(specifier, { ...context, conditions });
    },
  });
  await import(source.href);
} else {
  await import(new URL("../dist/cli/main.js", import.meta.url).href);
}
