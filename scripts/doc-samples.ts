/**
 * Keeps the TypeScript samples in README.md and docs/*.md identical to the files they come from
 * (which `npm run check` type-checks and the tests run). A block is marked by the comment
 * `<!-- sample: path/to/file.ts -->` on the line before its opening fence.
 *
 *   node scripts/doc-samples.ts          rewrite the blocks from the files
 *   node scripts/doc-samples.ts --check  exit 1 when a block differs (the test suite runs this)
 */
import { readFileSync, writeFileSync } from "node:fs";
import { glob } from "node:fs/promises";

const markerPattern = /<!-- sample: (\S+) -->\n```ts\n([\s\S]*?)```/g;

export interface SampleProblem {
  file: string;
  problem: string;
}

/** Markdown files whose samples are checked. */
export async function documentationFiles(): Promise<string[]> {
  const files = ["README.md"];
  for await (const file of glob("docs/**/*.md")) files.push(file);
  return files.sort();
}

/** Rewrites (or, with `check`, compares) every marked block; returns what was out of date. */
export function syncSamples(markdownFile: string, check: boolean): SampleProblem[] {
  const text = readFileSync(markdownFile, "utf8");
  const problems: SampleProblem[] = [];
  const updated = text.replace(markerPattern, (_match, samplePath: string, body: string) => {
    let source: string;
    try {
      source = readFileSync(samplePath, "utf8");
    } catch {
      problems.push({ file: markdownFile, problem: `sample file ${samplePath} does not exist` });
      return _match;
    }
    if (body !== source)
      problems.push({ file: markdownFile, problem: `the block from ${samplePath} is out of date` });
    return `<!-- sample: ${samplePath} -->\n\`\`\`ts\n${source}\`\`\``;
  });
  // Every TypeScript block must come from a sample file, so that none escapes type checking.
  const unmarked = text
    .split("\n")
    .filter(
      (line, index, lines) => line === "```ts" && !lines[index - 1]?.startsWith("<!-- sample: "),
    );
  if (unmarked.length > 0) {
    problems.push({
      file: markdownFile,
      problem: `${unmarked.length} TypeScript block(s) without a <!-- sample: file --> marker`,
    });
  }
  if (!check && updated !== text) writeFileSync(markdownFile, updated);
  return problems;
}

if (import.meta.main) {
  const check = process.argv.includes("--check");
  const problems = (await documentationFiles()).flatMap((file) => syncSamples(file, check));
  for (const { file, problem } of problems) process.stderr.write(`${file}: ${problem}\n`);
  process.exitCode = check && problems.length > 0 ? 1 : 0;
}
