/**
 * Durations as Go and Kubernetes write them: `10s`, `1.5s`, `998.2ms`, `1m30s`.
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

const whole = /^(?:\d+(?:\.\d*)?(?:ns|us|µs|ms|s|m|h))+$/;
const part = /(\d+(?:\.\d*)?)(ns|us|µs|ms|s|m|h)/g;

/**
 * Parses a Go duration into milliseconds; `undefined` when the text is not one.
 *
 * @example
 * parseGoDuration("1m30s");  // 90_000
 * parseGoDuration("998.2ms"); // 998.2
 * parseGoDuration("15");     // undefined (Go requires a unit)
 */
export function parseGoDuration(text: string): number | undefined {
  if (!whole.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(part)) total += Number(amount) * units[unit!]!;
  return Number.isFinite(total) ? total : undefined;
}
