/** `operon run <module>`: runs the module's operators in the foreground against the current cluster. */
import { createLogger, type LogLevel } from "../manager/logging.ts";
import { Manager } from "../manager/manager.ts";
import type { Command } from "./command.ts";
import { kubeFlags, kubeOptions } from "./kube-options.ts";
import { loadOperators } from "./load-module.ts";

export const run: Command = {
  path: ["run"],
  summary: "Run the operators a module exports, in the foreground, until Ctrl-C or SIGTERM",
  usage: "<module>",
  options: {
    ...kubeOptions,
    "log-level": { type: "string", description: "trace, debug, info, warn or error (or $OPERON_LOG_LEVEL)", default: "info" },
    "log-format": { type: "string", description: "json, pretty or auto (pretty on a terminal)", default: "auto" },
  },
  async run({ values, positionals }) {
    const operators = await loadOperators(positionals[0]);
    const logger = createLogger({
      level: (values["log-level"] as LogLevel | undefined) ?? (process.env.OPERON_LOG_LEVEL as LogLevel | undefined) ?? "info",
      format: (values["log-format"] as "json" | "pretty" | "auto" | undefined) ?? "auto",
    });
    const manager = new Manager({ ...kubeFlags(values), logger });
    manager.add(...operators);
    await manager.run();
    return 0;
  },
};
