/**
 * The logging interface every layer writes through. It matches the shape of pino's methods
 * (`logger.warn({ fields }, "message")`), so a pino logger can be passed as is, and only the
 * manager depends on pino.
 *
 * @module
 */

/** Structured fields attached to one log line. */
export type LogFields = Record<string, unknown>;

/** A leveled, structured logger. */
export interface Logger {
  debug(fields: LogFields, message: string): void;
  info(fields: LogFields, message: string): void;
  warn(fields: LogFields, message: string): void;
  error(fields: LogFields, message: string): void;
}

/** A logger that drops everything: the default, so a library never writes to stdout uninvited. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
