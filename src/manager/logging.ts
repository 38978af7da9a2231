/**
 * Structured logs with pino: JSON lines in production, readable lines on a terminal. The level
 * comes from the option, else `OPERON_LOG_LEVEL` / `LOG_LEVEL`, else `info`; the format from the
 * option, else `OPERON_LOG_FORMAT`, else `auto`.
 */
import { pino } from "pino";
import type { OperatorLogger } from "../operator/reconciler.ts";

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";
export type LogFormat = "json" | "pretty" | "auto";

const levels: readonly LogLevel[] = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];
const formats: readonly LogFormat[] = ["json", "pretty", "auto"];

export interface LoggerOptions {
  level?: LogLevel;
  /** `json`, `pretty`, or `auto` (pretty when stderr is a terminal). Default `auto`. */
  format?: LogFormat;
  /** Extra fields on every line. */
  base?: Record<string, unknown>;
}

/**
 * Checks a log level given as text (a flag or an environment variable).
 *
 * @throws {TypeError} naming the accepted levels.
 * @example
 * parseLogLevel("debug"); // "debug"
 */
export function parseLogLevel(value: string, source = "log level"): LogLevel {
  const level = value.trim().toLowerCase();
  if ((levels as readonly string[]).includes(level)) return level as LogLevel;
  throw new TypeError(`${source} "${value}" is not one of ${levels.join(", ")}`);
}

/**
 * Checks a log format given as text.
 *
 * @throws {TypeError} naming the accepted formats.
 * @example
 * parseLogFormat("json"); // "json"
 */
export function parseLogFormat(value: string, source = "log format"): LogFormat {
  const format = value.trim().toLowerCase();
  if ((formats as readonly string[]).includes(format)) return format as LogFormat;
  throw new TypeError(`${source} "${value}" is not one of ${formats.join(", ")}`);
}

/**
 * The level from the environment (`OPERON_LOG_LEVEL`, then `LOG_LEVEL`), if set.
 *
 * @throws {TypeError} when the variable holds no level.
 * @example
 * createLogger({ level: flagLevel ?? envLogLevel() ?? "info" });
 */
export function envLogLevel(): LogLevel | undefined {
  for (const name of ["OPERON_LOG_LEVEL", "LOG_LEVEL"]) {
    const value = process.env[name];
    if (value) return parseLogLevel(value, `$${name}`);
  }
  return undefined;
}

/**
 * A pino logger that writes to stderr.
 *
 * @example
 * const logger = createLogger({ level: "debug", format: "json" });
 * logger.info({ operator: "greeter" }, "started");
 */
export function createLogger(options: LoggerOptions = {}): OperatorLogger {
  const level = options.level ?? envLogLevel() ?? "info";
  const envFormat = process.env.OPERON_LOG_FORMAT;
  const format =
    options.format ?? (envFormat ? parseLogFormat(envFormat, "$OPERON_LOG_FORMAT") : "auto");
  const pretty = format === "pretty" || (format === "auto" && process.stderr.isTTY === true);
  const transport = pretty
    ? pino.transport({
        target: "pino-pretty",
        options: { destination: 2, translateTime: "HH:MM:ss.l", ignore: "pid,hostname" },
      })
    : // Lines are gathered into writes of 4 KiB, and written at least every 250 ms: a write per
      // line costs more than the line when thousands of parents converge at once.
      pino.destination({ dest: 2, sync: false, minLength: 4096, periodicFlush: 250 });
  return pino(
    { level, base: options.base ?? {}, timestamp: pino.stdTimeFunctions.isoTime },
    transport,
  );
}
