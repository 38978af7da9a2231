/**
 * Durations of the `operon run` flags that mirror Kubernetes components' flags (`15s`, `500ms`,
 * `1m30s`), where a bare number counts as seconds.
 *
 * @module
 */
import { parseGoDuration } from "../common/duration.ts";

/**
 * Parses a flag's duration into milliseconds: a Go duration, or a bare number of seconds.
 *
 * @throws {TypeError} when the text is not a duration.
 * @example
 * parseDuration("1m30s"); // 90_000
 * parseDuration("250ms"); // 250
 * parseDuration("15");    // 15_000
 */
export function parseDuration(text: string): number {
  const value = text.trim();
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1_000;
  const ms = parseGoDuration(value);
  if (ms === undefined)
    throw new TypeError(`"${text}" is not a duration: write it like 15s, 500ms or 1m30s`);
  return ms;
}
