import assert from "node:assert/strict";
import { test } from "node:test";
import { documentationFiles, syncSamples } from "./doc-samples.ts";

test("every TypeScript sample in the documentation is a compiled, tested file, unchanged", async () => {
  const files = await documentationFiles();
  assert.ok(files.includes("README.md"));
  assert.ok(files.length >= 8, "the README and a page per concept");
  const problems = files.flatMap((file) => syncSamples(file, true));
  assert.deepEqual(problems, [], "run `node scripts/doc-samples.ts` to update the blocks");
});
