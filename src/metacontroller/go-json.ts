/**
 * JSON the way Metacontroller's Go code writes it, so a hook receives the same bytes from Operon:
 * map keys sorted, `<`, `>`, `&`, U+2028 and U+2029 escaped (Go's HTML-safe encoding), and the
 * controller object in the field order and with the always-present fields of its Go structs
 * (`status: {}`, `statusChecks: {}`, durations as Go prints them).
 */

const escapes: Record<string, string> = {
  "<": "\\u003c",
  ">": "\\u003e",
  "&": "\\u0026",
  "\u2028": "\\u2028",
  "\u2029": "\\u2029",
};
const needsEscape = /[<>&\u2028\u2029]/g;

function goString(text: string): string {
  const json = JSON.stringify(text);
  return needsEscape.test(json) ? json.replace(needsEscape, (c) => escapes[c]!) : json;
}

/** A value whose keys are written in the given order (a Go struct), not sorted. */
export class Ordered {
  readonly entries: ReadonlyArray<readonly [string, unknown]>;
  constructor(entries: ReadonlyArray<readonly [string, unknown]>) {
    this.entries = entries;
  }
}

/** Appends the Go encoding of `value` to `out`. */
function write(value: unknown, out: string[]): void {
  if (value === null || value === undefined) {
    out.push("null");
    return;
  }
  switch (typeof value) {
    case "string":
      out.push(goString(value));
      return;
    case "number":
      out.push(Number.isFinite(value) ? JSON.stringify(value) : "null");
      return;
    case "boolean":
      out.push(value ? "true" : "false");
      return;
    case "object":
      break;
    default:
      out.push("null");
      return;
  }
  if (Array.isArray(value)) {
    out.push("[");
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(",");
      write(value[i], out);
    }
    out.push("]");
    return;
  }
  if (value instanceof Ordered) {
    out.push("{");
    let first = true;
    for (const [key, item] of value.entries) {
      if (item === undefined) continue;
      out.push(first ? "" : ",", goString(key), ":");
      first = false;
      write(item, out);
    }
    out.push("}");
    return;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  out.push("{");
  let first = true;
  for (const key of keys) {
    const item = record[key];
    if (item === undefined) continue;
    out.push(first ? "" : ",", goString(key), ":");
    first = false;
    write(item, out);
  }
  out.push("}");
}

/**
 * Encodes like Go's `json.Marshal` of maps and of {@link Ordered} structs.
 *
 * @example
 * goJson({ b: 1, a: "<x>" }); // '{"a":"\u003cx\u003e","b":1}'
 */
export function goJson(value: unknown): string {
  const out: string[] = [];
  write(value, out);
  return out.join("");
}

// ---------------------------------------------------------------------------------------------
// Go durations

const nanos: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/**
 * Parses a Go duration (`10s`, `1.5s`, `1m30s`, `300ms`) into milliseconds, as Go's
 * `time.ParseDuration` does; throws on anything else (a bare number has no unit).
 */
export function parseGoDuration(text: string): number {
  let rest = text;
  let sign = 1;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    sign = rest.startsWith("-") ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === "0") return 0;
  if (rest === "") throw new TypeError(`time: invalid duration "${text}"`);
  const part = /^(\d*\.?\d*)(ns|us|µs|μs|ms|s|m|h)/;
  let total = 0;
  while (rest !== "") {
    const match = part.exec(rest);
    if (!match || match[1] === "" || match[1] === ".") {
      throw new TypeError(`time: invalid duration "${text}"`);
    }
    total += Number(match[1]) * nanos[match[2]!]!;
    rest = rest.slice(match[0].length);
  }
  return (sign * total) / 1e6;
}

function fraction(value: number, digits: number): string {
  // `value` is an integer count of 10^-digits units: print it without trailing zeros.
  const whole = Math.floor(value / 10 ** digits);
  let frac = String(value % 10 ** digits).padStart(digits, "0");
  frac = frac.replace(/0+$/, "");
  return frac ? `${whole}.${frac}` : String(whole);
}

/** Formats milliseconds the way Go's `time.Duration.String()` does (`1m30s`, `1.5s`, `300ms`). */
export function formatGoDuration(ms: number): string {
  let ns = Math.round(ms * 1e6);
  if (ns === 0) return "0s";
  const sign = ns < 0 ? "-" : "";
  ns = Math.abs(ns);
  if (ns < 1e9) {
    if (ns < 1e3) return `${sign}${ns}ns`;
    if (ns < 1e6) return `${sign}${fraction(ns, 3)}µs`;
    return `${sign}${fraction(ns, 6)}ms`;
  }
  const hours = Math.floor(ns / 3600e9);
  ns -= hours * 3600e9;
  const minutes = Math.floor(ns / 60e9);
  ns -= minutes * 60e9;
  let out = sign;
  if (hours > 0) out += `${hours}h`;
  if (hours > 0 || minutes > 0) out += `${minutes}m`;
  return `${out}${fraction(ns, 9)}s`;
}

// ---------------------------------------------------------------------------------------------
// The controller object as Go's structs write it

type Shape = { [key: string]: Shape | "duration" | null };
type Record_ = Record<string, unknown>;

/** Writes the listed keys in order (other keys are not part of the Go type and are dropped). */
function ordered(value: unknown, order: ReadonlyArray<readonly [string, Shape | string | null]>) {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  const record = value as Record_;
  const entries: Array<readonly [string, unknown]> = [];
  for (const [key, shape] of order) {
    let item = record[key];
    if (shape === "duration") {
      if (typeof item === "string") {
        try {
          item = formatGoDuration(parseGoDuration(item));
        } catch {
          // Left as written: the API server's validation is the one that matters.
        }
      }
    } else if (shape !== null && typeof shape === "object" && item !== undefined) {
      item = Array.isArray(item)
        ? item.map((element) => shaped(element, shape))
        : shaped(item, shape);
    }
    entries.push([key, item]);
  }
  return new Ordered(entries);
}

function shaped(value: unknown, shape: Shape): unknown {
  return ordered(value, Object.entries(shape));
}

const selectorShape: Shape = {
  matchLabels: null,
  matchExpressions: { key: null, operator: null, values: null },
};
const secretRef: Shape = { name: null, namespace: null };
const keyRef: Shape = { name: null, namespace: null, key: null };
const caBundle: Shape = { inline: null, secretRef: keyRef, configMapRef: keyRef };
const clientTLS: Shape = { secretRef: secretRef, certKey: null, privateKeyKey: null };
// `secretRef` of Authorization and BasicAuth are structs, not pointers: always written.
const authorization: Shape = { type: null, secretRef: keyRef };
const basicAuth: Shape = { secretRef: secretRef, usernameKey: null, passwordKey: null };
const webhook: Shape = {
  url: null,
  timeout: "duration",
  etag: { enabled: null, cacheTimeoutSeconds: null, cacheCleanupSeconds: null },
  path: null,
  service: { name: null, namespace: null, port: null, protocol: null },
  responseUnMarshallMode: null,
  caBundle,
  clientTLS,
  authorization,
  basicAuth,
};
const hook: Shape = { version: null, webhook };
const endpointConfig: Shape = {
  host: null,
  caBundle,
  clientTLS,
  authorization,
  basicAuth,
};
const ownerReference: Shape = {
  apiVersion: null,
  kind: null,
  name: null,
  uid: null,
  controller: null,
  blockOwnerDeletion: null,
};
const objectMeta: Array<readonly [string, Shape | string | null]> = [
  ["name", null],
  ["generateName", null],
  ["namespace", null],
  ["selfLink", null],
  ["uid", null],
  ["resourceVersion", null],
  ["generation", null],
  ["creationTimestamp", null],
  ["deletionTimestamp", null],
  ["deletionGracePeriodSeconds", null],
  ["labels", null],
  ["annotations", null],
  ["ownerReferences", ownerReference],
  ["finalizers", null],
  ["managedFields", null],
];

const compositeSpec: Shape = {
  parentResource: {
    apiVersion: null,
    resource: null,
    revisionHistory: { fieldPaths: null },
    labelSelector: selectorShape,
    ignoreStatusChanges: null,
  },
  childResources: {
    apiVersion: null,
    resource: null,
    updateStrategy: {
      method: null,
      // A struct field in Go: `"statusChecks":{}` even when not set.
      statusChecks: { conditions: { type: null, status: null, reason: null } },
    },
  },
  hooks: {
    customize: hook,
    sync: hook,
    finalize: hook,
    preUpdateChild: hook,
    postUpdateChild: hook,
  },
  endpointConfigs: endpointConfig,
  resyncPeriodSeconds: null,
  generateSelector: null,
};

const decoratorSpec: Shape = {
  resources: {
    apiVersion: null,
    resource: null,
    labelSelector: selectorShape,
    annotationSelector: {
      matchAnnotations: null,
      matchExpressions: { key: null, operator: null, values: null },
    },
    ignoreStatusChanges: null,
  },
  attachments: { apiVersion: null, resource: null, updateStrategy: { method: null } },
  hooks: { customize: hook, sync: hook, finalize: hook },
  endpointConfigs: endpointConfig,
  resyncPeriodSeconds: null,
};

function orderChildStrategies(spec: Record_ | undefined): Record_ | undefined {
  // `statusChecks` is a struct inside `updateStrategy`: present as `{}` whenever the strategy is.
  const children = spec?.childResources;
  if (!Array.isArray(children)) return spec;
  return {
    ...spec,
    childResources: children.map((rule: Record_) =>
      rule?.updateStrategy && typeof rule.updateStrategy === "object"
        ? {
            ...rule,
            updateStrategy: {
              ...(rule.updateStrategy as Record_),
              statusChecks: (rule.updateStrategy as Record_).statusChecks ?? {},
            },
          }
        : rule,
    ),
  };
}

/**
 * The controller object with the key order and always-present fields of Metacontroller's Go
 * types, ready for {@link goJson}.
 */
export function goController(controller: Record_): Ordered {
  const composite = controller.kind === "CompositeController";
  const spec = composite
    ? orderChildStrategies(controller.spec as Record_ | undefined)
    : (controller.spec as Record_ | undefined);
  return new Ordered([
    ["kind", controller.kind],
    ["apiVersion", controller.apiVersion],
    // ObjectMeta's creationTimestamp has no omitempty in Go.
    [
      "metadata",
      ordered(
        { creationTimestamp: null, ...(controller.metadata as Record_ | undefined) },
        objectMeta,
      ),
    ],
    ["spec", shaped(spec ?? {}, composite ? compositeSpec : decoratorSpec)],
    // A struct without omitempty effect in Go: always `"status":{}`.
    ["status", {}],
  ]);
}
