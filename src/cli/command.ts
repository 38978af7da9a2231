/**
 * The shape of an `operon` sub-command and the conventions every command follows: `--help`,
 * exit codes 0 (success), 1 (failure) and 2 (usage), and errors that say what to do.
 */
import { type ParseArgsConfig, parseArgs } from "node:util";

type ParseOption = NonNullable<ParseArgsConfig["options"]>[string];

/** A command-line option: what `node:util` parseArgs takes, plus a description for `--help`. */
export type Option = ParseOption & { description: string };
export type Options = Record<string, Option>;

export interface Command {
  /** Words that select it, e.g. `["cluster", "up"]`. */
  readonly path: readonly string[];
  readonly summary: string;
  /** Usage line after `operon <path>`, e.g. `<module> [--out dir]`. */
  readonly usage?: string;
  readonly description?: string;
  readonly options?: Options;
  /** Not listed in `operon --help` (used by other commands). */
  readonly hidden?: boolean;
  run(context: CommandContext): Promise<number | undefined>;
}

export interface CommandContext {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** A mistake in how the command was called: exit code 2 with the command's usage. */
export class UsageError extends Error {}

export function formatHelp(command: Command): string {
  const lines = [
    `Usage: operon ${command.path.join(" ")}${command.usage ? ` ${command.usage}` : ""}`,
    "",
    command.description ?? command.summary,
  ];
  const options = Object.entries(command.options ?? {});
  if (options.length > 0) {
    lines.push("", "Options:");
    for (const [name, option] of options) {
      const flag = `--${name}${option.type === "string" ? " <value>" : ""}`;
      const short = option.short ? `-${option.short}, ` : "    ";
      const fallback = option.default === undefined ? "" : ` (default ${String(option.default)})`;
      lines.push(`  ${short}${flag.padEnd(34)} ${option.description}${fallback}`);
    }
  }
  lines.push("  -h, --help" + " ".repeat(28) + " Show this help");
  return `${lines.join("\n")}\n`;
}

export function parseCommandArgs(
  command: Command,
  argv: string[],
): { values: CommandContext["values"]; positionals: string[]; help: boolean } {
  const config: Record<string, ParseOption> = { help: { type: "boolean", short: "h" } };
  for (const [name, { description: _description, ...option }] of Object.entries(
    command.options ?? {},
  )) {
    config[name] = option;
  }
  try {
    const parsed = parseArgs({ args: argv, options: config, allowPositionals: true, strict: true });
    const { help, ...values } = parsed.values;
    return { values, positionals: parsed.positionals, help: help === true };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
