/**
 * API requests as the API server counts them: `apiserver_request_total` from its `/metrics`,
 * parsed, diffed between two scrapes, filtered to the benchmark's resources and keyed
 * `"<VERB> <resource>[/<subresource>]"`.
 *
 * The server labels server-side apply `APPLY` (not `PATCH`), a delete of a collection `DELETE`
 * with a `namespace` or `cluster` scope, and counts a `WATCH` only when the watch ends.
 */

/** One sample of `apiserver_request_total`. */
export interface RequestSample {
  verb: string;
  group: string;
  resource: string;
  subresource: string;
  /** `resource` (one object), `namespace` or `cluster` (a collection). */
  scope: string;
  code: string;
  /** Every label, to tell apart series that differ only in labels not kept above (scope, ...). */
  series: string;
  value: number;
}

/** Requests by `"<VERB> <resource>[/<subresource>]"`. */
export type RequestCounts = Record<string, number>;

/** Verbs that change state. */
export const writeVerbs: ReadonlySet<string> = new Set([
  "POST",
  "PUT",
  "PATCH",
  "APPLY",
  "DELETE",
  "DELETECOLLECTION",
]);

/** The resources the benchmark's objects live in. */
export const benchResources: ReadonlySet<string> = new Set([
  "benchparents",
  "configmaps",
  "secrets",
  "events",
]);

const metricName = "apiserver_request_total";

/** Parses the `{a="b",c="d"}` part of a Prometheus text-format line. */
export function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let index = 0;
  while (index < text.length) {
    const equals = text.indexOf("=", index);
    if (equals < 0) break;
    const name = text.slice(index, equals).trim().replace(/^,/, "").trim();
    if (text[equals + 1] !== '"') throw new Error(`malformed labels: ${text}`);
    let value = "";
    let cursor = equals + 2;
    for (; cursor < text.length; cursor++) {
      const char = text[cursor];
      if (char === "\\") {
        const next = text[cursor + 1];
        value += next === "n" ? "\n" : (next ?? "");
        cursor++;
      } else if (char === '"') {
        break;
      } else {
        value += char;
      }
    }
    labels[name] = value;
    index = cursor + 1;
    if (text[index] === ",") index++;
  }
  return labels;
}

/** The `apiserver_request_total` samples of a `/metrics` text. */
export function parseRequestTotals(text: string): RequestSample[] {
  const samples: RequestSample[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith(metricName)) continue;
    const rest = line.slice(metricName.length);
    let labelText = "";
    let valueText = rest;
    if (rest.startsWith("{")) {
      const close = rest.lastIndexOf("}");
      labelText = rest.slice(1, close);
      valueText = rest.slice(close + 1);
    } else if (!rest.startsWith(" ")) {
      continue; // another metric sharing the prefix
    }
    const value = Number(valueText.trim().split(/\s+/)[0]);
    if (!Number.isFinite(value)) continue;
    const labels = parseLabels(labelText);
    samples.push({
      verb: labels.verb ?? "",
      group: labels.group ?? "",
      resource: labels.resource ?? "",
      subresource: labels.subresource ?? "",
      scope: labels.scope ?? "",
      code: labels.code ?? "",
      series: Object.entries(labels)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([name, v]) => `${name}=${v}`)
        .join(","),
      value,
    });
  }
  return samples;
}

/** The key a sample is counted under. */
export function requestKey(
  sample: Pick<RequestSample, "verb" | "resource" | "subresource"> & { scope?: string },
): string {
  // The server labels a delete of a collection `DELETE` too; only its scope tells.
  const verb =
    sample.verb === "DELETE" && sample.scope && sample.scope !== "resource"
      ? "DELETECOLLECTION"
      : sample.verb;
  return `${verb} ${sample.resource}${sample.subresource ? `/${sample.subresource}` : ""}`;
}

function sampleIdentity(sample: RequestSample): string {
  return sample.series;
}

export interface DiffOptions {
  /**
   * Resources to keep. Default {@link benchResources}; `"all"`: every resource (requests with no
   * resource, such as the harness's own scrapes of `/metrics`, are never counted).
   */
  resources?: ReadonlySet<string> | "all";
  /** Only samples whose status code matches (e.g. errors: `(code) => !code.startsWith("2")`). */
  code?: (code: string) => boolean;
}

/**
 * Requests made between two scrapes, by key. Counters that went down (an API server restart)
 * count from zero.
 */
export function diffRequests(
  before: readonly RequestSample[],
  after: readonly RequestSample[],
  options: DiffOptions = {},
): RequestCounts {
  const resources = options.resources ?? benchResources;
  const earlier = new Map<string, number>();
  for (const sample of before) earlier.set(sampleIdentity(sample), sample.value);
  const counts: RequestCounts = {};
  for (const sample of after) {
    if (resources === "all" ? !sample.resource : !resources.has(sample.resource)) continue;
    if (options.code && !options.code(sample.code)) continue;
    const previous = earlier.get(sampleIdentity(sample)) ?? 0;
    const delta = sample.value >= previous ? sample.value - previous : sample.value;
    if (delta <= 0) continue;
    const key = requestKey(sample);
    counts[key] = (counts[key] ?? 0) + delta;
  }
  return sortCounts(counts);
}

/** `a + b`, key by key. */
export function addCounts(a: RequestCounts, b: RequestCounts): RequestCounts {
  const sum: RequestCounts = { ...a };
  for (const [key, value] of Object.entries(b)) sum[key] = (sum[key] ?? 0) + value;
  return sortCounts(sum);
}

/** `a - b`, key by key, never below zero; keys that reach zero are dropped. */
export function subtractCounts(a: RequestCounts, b: RequestCounts): RequestCounts {
  const difference: RequestCounts = {};
  for (const [key, value] of Object.entries(a)) {
    const left = value - (b[key] ?? 0);
    if (left > 0) difference[key] = left;
  }
  return sortCounts(difference);
}

/** Only the keys whose verb passes `keep`. */
export function filterVerbs(counts: RequestCounts, keep: (verb: string) => boolean): RequestCounts {
  return Object.fromEntries(Object.entries(counts).filter(([key]) => keep(verbOf(key))));
}

export function verbOf(key: string): string {
  return key.slice(0, key.indexOf(" "));
}

/** Write requests among the counts. */
export function countWrites(counts: RequestCounts): number {
  let writes = 0;
  for (const [key, value] of Object.entries(counts))
    if (writeVerbs.has(verbOf(key))) writes += value;
  return writes;
}

/** All requests among the counts. */
export function countAll(counts: RequestCounts): number {
  return Object.values(counts).reduce((sum, value) => sum + value, 0);
}

function sortCounts(counts: RequestCounts): RequestCounts {
  return Object.fromEntries(
    Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
}
