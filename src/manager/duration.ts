/**
 * Durations as Go flags write them (`15s`, `500ms`, `1m30s`), for the `operon run` flags that
 * mirror Kubernetes components' flags.
 *
 * @module
 */

const units: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses a duration into milliseconds: one or more `<number><unit>` parts with units `ns`, `us`,
 * `ms`, `s`, `m`, `h`; a bare number counts as seconds.
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
  const part = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let index = 0;
  while (index < value.length) {
    part.lastIndex = index;
    const match = part.exec(value);
    if (!match) break;
    total += Number(match[1]) * units[match[2]!]!;
    index = part.lastIndex;
  }
  if (value === "" || index !== value.length)
    throw new TypeError(`"${text}" is not a duration: write it like 15s, 500ms or 1m30s`);
  return total;
}
