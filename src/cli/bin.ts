#!/usr/bin/env node
/**
 * The `operon` command as installed (`bin`): checks the Node.js version first, then loads the
 * command. `main.ts` and everything it imports are loaded only on a Node.js that can run them.
 */
import { nodeVersionProblem } from "./node-version.ts";

const problem = nodeVersionProblem(process.versions.node, process.execPath);
if (problem) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}
await import("./main.ts");
