/**
 * Structured logs with pino: JSON lines in production, readable lines on a terminal. The level
 * comes from the option, else `OPERON_LOG_LEVEL` / `LOG_LEVEL`, else `info`.
 */
import { pino } from "pino";
import type { OperatorLogger } from "../operator/reconciler.ts";

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";

export interface LoggerOptions {
  level?: LogLevel;
  /** `json`, `pretty`, or `auto` (pretty when stderr is a terminal). Default `auto`. */
  format?: "json" | "pretty" | "auto";
  /** Extra fields on every line. */
  base?: Record<string, unknown>;
}

/** A pino logger that writes to stderr. */
export function createLogger(options: LoggerOptions = {}): OperatorLogger {
  const level =
    options.level ??
    (process.env.OPERON_LOG_LEVEL as LogLevel | undefined) ??
    (process.env.LOG_LEVEL as LogLevel | undefined) ??
    "info";
  const format =
    options.format ?? (process.env.OPERON_LOG_FORMAT as LoggerOptions["format"]) ?? "auto";
  const pretty = format === "pretty" || (format === "auto" && process.stderr.isTTY === true);
  const transport = pretty
    ? pino.transport({
        target: "pino-pretty",
        options: { destination: 2, translateTime: "HH:MM:ss.l", ignore: "pid,hostname" },
      })
    : pino.destination({ dest: 2, sync: false });
  return pino(
    { level, base: options.base ?? {}, timestamp: pino.stdTimeFunctions.isoTime },
    transport,
  );
}
