/**
 * The shell command blocks of a Markdown page, for tests that run them as written.
 */
import { readFile } from "node:fs/promises";

/** A fenced `sh` block: its first line number (1-based) and its text. */
export interface CommandBlock {
  line: number;
  text: string;
}

/** Every ```sh / ```bash / ```shell block of the page, in order. */
export async function commandBlocks(path: string): Promise<CommandBlock[]> {
  const lines = (await readFile(path, "utf8")).split("\n");
  const blocks: CommandBlock[] = [];
  let current: CommandBlock | undefined;
  for (const [index, line] of lines.entries()) {
    if (current) {
      if (line.startsWith("```")) {
        blocks.push(current);
        current = undefined;
      } else {
        current.text += `${line}\n`;
      }
    } else if (/^```(sh|bash|shell)\s*$/.test(line)) {
      current = { line: index + 2, text: "" };
    }
  }
  return blocks;
}
