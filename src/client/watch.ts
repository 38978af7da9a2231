/**
 * Watch streams: the newline-delimited JSON parser and the watch call, yielding typed events as
 * they arrive.
 *
 * A watch runs until the server ends it (`timeoutSeconds`), the caller aborts or closes it, or the
 * connection breaks. The client sets no deadline of its own on a healthy stream; detecting a
 * silent one is the informer's job, helped by {@link WatchStream.lastActivityAt} and `close()`.
 *
 * An `ERROR` event ends the stream with a typed error: a `Status` with code 410 becomes a
 * `GoneError` (re-list needed).
 */
import type { KubeObject } from "../resources/object.ts";
import {
  ConnectionError,
  errorFromStatus,
  isStatus,
  KubeError,
  type RequestDescription,
  type Status,
} from "./errors.ts";
import { formatSelector, metadataAccept, type QueryValue, type Selector } from "./paths.ts";
import type { ApiRequest, ClientMetrics, Requester } from "./request.ts";

/** The object of a `BOOKMARK` event: only the resource version (and annotations) are set. */
export interface BookmarkObject {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion: string; annotations?: Record<string, string> };
}

/** One watch event. */
export type WatchEvent<T extends KubeObject = KubeObject> =
  | { type: "ADDED" | "MODIFIED" | "DELETED"; object: T }
  | { type: "BOOKMARK"; object: BookmarkObject }
  | { type: "ERROR"; object: Status; error: KubeError };

/** The annotation on the bookmark that ends the initial events of `sendInitialEvents`. */
export const initialEventsEndAnnotation = "k8s.io/initial-events-end";

/** Whether an event is the bookmark that ends the initial events of a streaming list. */
export function isInitialEventsEnd(event: WatchEvent<KubeObject>): boolean {
  return (
    event.type === "BOOKMARK" &&
    event.object.metadata.annotations?.[initialEventsEndAnnotation] === "true"
  );
}

/** Lines longer than this are refused rather than buffered without bound. */
const maxLineBytes = 128 * 1024 * 1024;

/**
 * Incremental newline-delimited JSON parser. Chunks may split lines (and multi-byte characters)
 * anywhere; lines are split on the newline byte, which never occurs inside a UTF-8 sequence, and
 * decoded only once complete.
 *
 * @example
 * const parser = new NdjsonParser();
 * parser.push(Buffer.from('{"a":1}\n{"b"')); // [{ a: 1 }]
 * parser.push(Buffer.from(':2}\n'));          // [{ b: 2 }]
 */
export class NdjsonParser {
  #pending: Buffer[] = [];
  #pendingBytes = 0;

  /** Feeds a chunk; returns the values of the lines it completed. */
  push(chunk: Uint8Array | string): unknown[] {
    const buffer =
      typeof chunk === "string"
        ? Buffer.from(chunk, "utf8")
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const values: unknown[] = [];
    let start = 0;
    for (;;) {
      const newline = buffer.indexOf(10, start);
      if (newline < 0) break;
      let line: Buffer = buffer.subarray(start, newline);
      if (this.#pending.length) {
        this.#pending.push(line);
        line = Buffer.concat(this.#pending, this.#pendingBytes + line.length);
        this.#pending = [];
        this.#pendingBytes = 0;
      }
      const value = parseLine(line);
      if (value !== undefined) values.push(value);
      start = newline + 1;
    }
    if (start < buffer.length) {
      // Copy: the caller may reuse its chunk buffer.
      const rest = Buffer.from(buffer.subarray(start));
      this.#pendingBytes += rest.length;
      if (this.#pendingBytes > maxLineBytes) {
        throw new Error(`watch stream line exceeds ${maxLineBytes} bytes`);
      }
      this.#pending.push(rest);
    }
    return values;
  }

  /** Ends the input; returns the value of a last line without a newline, if any. */
  end(): unknown[] {
    if (!this.#pending.length) return [];
    const line = Buffer.concat(this.#pending, this.#pendingBytes);
    this.#pending = [];
    this.#pendingBytes = 0;
    const value = parseLine(line);
    return value === undefined ? [] : [value];
  }
}

function parseLine(line: Buffer): unknown {
  const text = line.toString("utf8");
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    const shown = text.length > 200 ? `${text.slice(0, 200)}...` : text;
    throw new SyntaxError(`watch stream line is not JSON: ${shown}`);
  }
}

const objectEventTypes = new Set(["ADDED", "MODIFIED", "DELETED"]);

/**
 * Turns a decoded line into a typed event.
 * @internal exported for tests
 */
export function toWatchEvent<T extends KubeObject>(
  raw: unknown,
  describe: RequestDescription,
): WatchEvent<T> {
  const event = raw as { type?: unknown; object?: unknown };
  if (typeof event !== "object" || event === null || typeof event.type !== "string") {
    throw new KubeError({ request: describe, detail: "malformed watch event (no type)" });
  }
  const object = event.object;
  if (event.type === "ERROR") {
    const status: Status = isStatus(object)
      ? object
      : { kind: "Status", apiVersion: "v1", status: "Failure", message: JSON.stringify(object) };
    return { type: "ERROR", object: status, error: errorFromStatus(status, describe) };
  }
  if (typeof object !== "object" || object === null) {
    throw new KubeError({ request: describe, detail: `watch event ${event.type} has no object` });
  }
  if (event.type === "BOOKMARK") return { type: "BOOKMARK", object: object as BookmarkObject };
  if (objectEventTypes.has(event.type)) {
    return { type: event.type as "ADDED" | "MODIFIED" | "DELETED", object: object as T };
  }
  throw new KubeError({
    request: describe,
    detail: `unknown watch event type ${JSON.stringify(event.type)}`,
  });
}

/** Options shared by every watch call. */
export interface WatchOptions {
  /** Namespace to watch; all namespaces when omitted (for a namespaced resource). */
  namespace?: string;
  /** Watch one object by name (a `metadata.name` field selector). */
  name?: string;
  labelSelector?: Selector;
  fieldSelector?: Selector;
  /**
   * Start after this version (usually the list's `metadata.resourceVersion`). Opaque: never
   * compare or compute with it.
   */
  resourceVersion?: string;
  /** `NotOlderThan` (required with `sendInitialEvents`) or `Exact`. */
  resourceVersionMatch?: "NotOlderThan" | "Exact";
  /** Ask for `BOOKMARK` events; default true (cheap, and they keep `resourceVersion` fresh). */
  allowWatchBookmarks?: boolean;
  /** Ask the server to end the watch after this many seconds (it ends it itself otherwise). */
  timeoutSeconds?: number;
  /**
   * Streaming list: the server first sends the current objects as `ADDED`, then a bookmark with
   * the `k8s.io/initial-events-end` annotation (`isInitialEventsEnd`). Sets
   * `resourceVersionMatch=NotOlderThan` and bookmarks as the API requires.
   */
  sendInitialEvents?: boolean;
  /**
   * Ask for the objects' metadata only: events carry `PartialObjectMetadata` (no spec, status
   * or data).
   */
  metadataOnly?: boolean;
  /** Ends the watch (iteration then finishes without error). */
  signal?: AbortSignal;
  /**
   * What an `ERROR` event does: `"throw"` (default) ends iteration with the typed error
   * (`GoneError` for 410); `"yield"` delivers it as an event, then the stream ends.
   */
  errorEvents?: "throw" | "yield";
}

/**
 * The query parameters of a watch.
 * @internal exported for tests
 */
export function watchQuery(options: WatchOptions): Record<string, QueryValue> {
  const fieldParts: string[] = [];
  if (options.fieldSelector !== undefined) {
    const formatted = formatSelector(options.fieldSelector);
    if (formatted) fieldParts.push(formatted);
  }
  if (options.name !== undefined) fieldParts.push(`metadata.name=${options.name}`);
  const query: Record<string, QueryValue> = { watch: "true" };
  if (options.labelSelector !== undefined) {
    const formatted = formatSelector(options.labelSelector);
    if (formatted) query.labelSelector = formatted;
  }
  if (fieldParts.length) query.fieldSelector = fieldParts.join(",");
  if (options.resourceVersion !== undefined) query.resourceVersion = options.resourceVersion;
  let match = options.resourceVersionMatch;
  let bookmarks = options.allowWatchBookmarks ?? true;
  if (options.sendInitialEvents) {
    query.sendInitialEvents = "true";
    match ??= "NotOlderThan";
    bookmarks = true;
  }
  if (match) query.resourceVersionMatch = match;
  if (bookmarks) query.allowWatchBookmarks = "true";
  if (options.timeoutSeconds !== undefined) query.timeoutSeconds = options.timeoutSeconds;
  return query;
}

/**
 * A running watch: iterate it with `for await`. It can be iterated once.
 *
 * Iteration ends normally when the server closes the watch or the caller aborts/closes it; it
 * throws a `ConnectionError` when the connection breaks and a typed `KubeError` (e.g.
 * `GoneError`) on an `ERROR` event.
 *
 * @example
 * const watch = await client.watch(ConfigMap, { namespace: "ns", resourceVersion: list.metadata.resourceVersion });
 * for await (const event of watch) {
 *   if (event.type === "BOOKMARK") continue;
 *   console.log(event.type, event.object.metadata.name);
 * }
 */
export class WatchStream<T extends KubeObject = KubeObject>
  implements AsyncIterable<WatchEvent<T>>
{
  readonly #body: AsyncIterable<Uint8Array> & { destroy(error?: Error): unknown };
  readonly #describe: RequestDescription;
  readonly #controller: AbortController;
  readonly #signal: AbortSignal | undefined;
  readonly #errorEvents: "throw" | "yield";
  readonly #onClose: (events: number) => void;
  #resourceVersion: string | undefined;
  #lastActivityAt = Date.now();
  #events = 0;
  #iterated = false;
  #done = false;

  /** @internal constructed by {@link openWatch} */
  constructor(init: {
    body: AsyncIterable<Uint8Array> & { destroy(error?: Error): unknown };
    describe: RequestDescription;
    controller: AbortController;
    signal?: AbortSignal;
    errorEvents?: "throw" | "yield";
    resourceVersion?: string;
    onClose?: (events: number) => void;
  }) {
    this.#body = init.body;
    this.#describe = init.describe;
    this.#controller = init.controller;
    this.#signal = init.signal;
    this.#errorEvents = init.errorEvents ?? "throw";
    this.#resourceVersion = init.resourceVersion;
    this.#onClose = init.onClose ?? (() => {});
  }

  /**
   * The resource version of the last event (bookmarks included), or the one the watch started
   * from: where to resume after the stream ends.
   */
  get resourceVersion(): string | undefined {
    return this.#resourceVersion;
  }

  /** When data last arrived (epoch ms); a watch silent for much longer than the bookmark interval is dead. */
  get lastActivityAt(): number {
    return this.#lastActivityAt;
  }

  /** Events delivered so far. */
  get eventCount(): number {
    return this.#events;
  }

  /** Ends the watch; a running iteration finishes without error. */
  close(): void {
    this.#controller.abort();
    if (!this.#iterated) this.#finish();
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#body.destroy();
    this.#onClose(this.#events);
  }

  #stopped(): boolean {
    return this.#controller.signal.aborted || this.#signal?.aborted === true;
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchEvent<T>> {
    if (this.#iterated) throw new Error("a watch stream can be iterated only once");
    this.#iterated = true;
    return this.#run();
  }

  async *#run(): AsyncGenerator<WatchEvent<T>> {
    const parser = new NdjsonParser();
    try {
      if (this.#stopped()) return;
      for await (const chunk of this.#body) {
        this.#lastActivityAt = Date.now();
        for (const raw of parser.push(chunk)) {
          const event = this.#accept(raw);
          if (event) yield event;
          if (event?.type === "ERROR") return;
        }
      }
      for (const raw of parser.end()) {
        const event = this.#accept(raw);
        if (event) yield event;
      }
    } catch (err) {
      if (this.#stopped()) return;
      if (err instanceof KubeError) throw err;
      if (err instanceof SyntaxError) {
        throw new KubeError({ request: this.#describe, cause: err, detail: err.message });
      }
      const code = (err as { code?: unknown }).code;
      throw new ConnectionError({
        request: this.#describe,
        cause: err,
        detail: `watch stream broke: ${(err as Error).message}`,
        ...(typeof code === "string" ? { errorCode: code } : {}),
      });
    } finally {
      this.#finish();
    }
  }

  #accept(raw: unknown): WatchEvent<T> | undefined {
    const event = toWatchEvent<T>(raw, this.#describe);
    if (event.type === "ERROR") {
      if (this.#errorEvents === "throw") throw event.error;
      this.#events++;
      return event;
    }
    const rv = event.object.metadata?.resourceVersion;
    if (rv) this.#resourceVersion = rv;
    this.#events++;
    return event;
  }
}

/**
 * Opens a watch on a collection path. Resolves once the server accepted it (errors such as
 * 403 or 404 reject here).
 * @internal used by `KubeClient.watch`
 */
export async function openWatch<T extends KubeObject>(
  requester: Requester,
  request: Omit<ApiRequest, "method" | "replaySafe" | "signal" | "query">,
  options: WatchOptions,
): Promise<WatchStream<T>> {
  const controller = new AbortController();
  const signal = options.signal
    ? AbortSignal.any([options.signal, controller.signal])
    : controller.signal;
  const response = await requester.stream({
    ...request,
    ...(options.metadataOnly ? { accept: metadataAccept.object } : {}),
    method: "GET",
    query: watchQuery(options),
    replaySafe: true,
    signal,
  });
  const metrics: ClientMetrics | undefined = requester.metrics;
  const host = new URL(requester.connection.origin).host;
  const metric = {
    resource: request.describe.resource ?? "",
    group: request.describe.group ?? "",
    host,
  };
  const opened = performance.now();
  safely(() => metrics?.watchOpened?.(metric));
  return new WatchStream<T>({
    body: response.body,
    describe: { ...request.describe, server: requester.connection.cluster.server },
    controller,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.errorEvents ? { errorEvents: options.errorEvents } : {}),
    ...(options.resourceVersion ? { resourceVersion: options.resourceVersion } : {}),
    onClose: (events) =>
      safely(() =>
        metrics?.watchClosed?.({
          ...metric,
          durationSeconds: (performance.now() - opened) / 1000,
          events,
        }),
      ),
  });
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // Metrics hooks must never break a watch.
  }
}
