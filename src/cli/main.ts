#!/usr/bin/env node
/**
 * The `operon` command: finds the sub-command, parses its flags, runs it and turns its outcome
 * into an exit code (0 success, 1 failure, 2 usage).
 */
import { assetsEnsure, assetsPath } from "./assets.ts";
import {
  clusterDown,
  clusterKubeconfig,
  clusterServe,
  clusterStatus,
  clusterUp,
} from "./cluster.ts";
import { type Command, formatHelp, parseCommandArgs, UsageError } from "./command.ts";
import { dev } from "./dev.ts";
import { devWorker } from "./dev-worker.ts";
import { generate } from "./generate.ts";
import { init } from "./init.ts";
import { install } from "./install.ts";
import {
  metacontrollerGenerate,
  metacontrollerInstall,
  metacontrollerRun,
} from "./metacontroller.ts";
import { plan } from "./plan.ts";
import { run } from "./run.ts";

const commands: Command[] = [
  init,
  run,
  dev,
  plan,
  install,
  generate,
  metacontrollerInstall,
  metacontrollerRun,
  metacontrollerGenerate,
  clusterUp,
  clusterDown,
  clusterStatus,
  clusterKubeconfig,
  clusterServe,
  assetsEnsure,
  assetsPath,
  devWorker,
];

function overview(listed: Command[] = commands): string {
  const width = Math.max(...listed.map((c) => c.path.join(" ").length));
  const lines = listed
    .filter((c) => !c.path.includes("serve") && !c.hidden)
    .map((c) => `  ${c.path.join(" ").padEnd(width)}  ${c.summary}`);
  return `Usage: operon <command> [options]\n\nCommands:\n${lines.join("\n")}\n\nRun \`operon <command> --help\` for a command's options.\n`;
}

function findCommand(argv: string[]): { command: Command; rest: string[] } | undefined {
  let best: { command: Command; rest: string[] } | undefined;
  for (const command of commands) {
    const matches = command.path.every((word, index) => argv[index] === word);
    if (matches && (!best || command.path.length > best.command.path.length)) {
      best = { command, rest: argv.slice(command.path.length) };
    }
  }
  return best;
}

/** What to do about the failures every cluster command can meet: no kubeconfig, no cluster. */
function hintFor(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  if (error.name === "KubeConfigError") {
    return (
      "Name the cluster with --kubeconfig <file> (and --context <name>) or $KUBECONFIG, or start a local one:\n" +
      "  export KUBECONFIG=$(operon cluster up | tail -1)"
    );
  }
  if (/cannot reach |ECONNREFUSED|ENOTFOUND|EHOSTUNREACH/.test(error.message)) {
    return (
      "Is the cluster running? Check the server of the kubeconfig's context (--kubeconfig, --context,\n" +
      "$KUBECONFIG), or start a local cluster: export KUBECONFIG=$(operon cluster up | tail -1)"
    );
  }
  return undefined;
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    process.stdout.write(overview());
    return argv.length === 0 ? 2 : 0;
  }
  const found = findCommand(argv);
  const group = commands.filter((c) => c.path.length > 1 && c.path[0] === argv[0] && !c.hidden);
  if (!found && group.length > 0) {
    // `operon cluster`, `operon metacontroller --help`: the group's own commands.
    const help = argv.length === 1 || argv[1] === "--help" || argv[1] === "-h";
    if (!help) process.stderr.write(`operon: unknown command "${argv.join(" ")}"\n\n`);
    (help ? process.stdout : process.stderr).write(overview(group));
    return argv[1] === "--help" || argv[1] === "-h" ? 0 : 2;
  }
  if (!found) {
    process.stderr.write(`operon: unknown command "${argv.join(" ")}"\n\n${overview()}`);
    return 2;
  }
  const { command, rest } = found;
  try {
    const { values, positionals, help } = parseCommandArgs(command, rest);
    if (help) {
      process.stdout.write(formatHelp(command));
      return 0;
    }
    return (
      (await command.run({
        values,
        positionals,
        stdout: process.stdout,
        stderr: process.stderr,
      })) ?? 0
    );
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`operon: ${error.message}\n\n${formatHelp(command)}`);
      return 2;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`operon ${command.path.join(" ")}: ${message}\n`);
    const hint = hintFor(error);
    if (hint) process.stderr.write(`${hint}\n`);
    if (process.env.OPERON_DEBUG && error instanceof Error)
      process.stderr.write(`${error.stack}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
