/**
 * The list/watch loop: obtains a full state, then follows changes, and recovers from everything a
 * long-lived watch meets — servers that end streams, restart, compact history or go silent.
 *
 * One attempt goes:
 * 1. without a resource version to resume from, a full list: a streaming list (a watch with
 *    `sendInitialEvents`, ending at the `k8s.io/initial-events-end` bookmark) when the server
 *    takes it, else a paginated list; the result replaces the store in one step;
 * 2. a watch from the last resource version seen, bookmarks requested so that version stays fresh
 *    even when nothing in the selection changes.
 *
 * Then, depending on how the attempt ended:
 * - the server closed the stream normally: resume at once (no backoff, not an error);
 * - 410 Gone (HTTP status or `ERROR` event): forget the resource version and relist, at once the
 *   first time, with backoff when the relisted watch is refused again without progress;
 * - silence past `silenceTimeoutMs` (not even a bookmark): abort the stream and resume, with
 *   backoff;
 * - any other failure: backoff (exponential, jittered, reset after a healthy spell), then resume
 *   from the last resource version, which the server replays from, so nothing is missed;
 * - 404 on the list or watch: the resource type is not served (its CRD is not installed yet).
 *   Said once, at warn, with how to install it; retried every few seconds at most, so the
 *   informer starts as soon as the type appears, without a restart.
 *
 * @module
 */

import { type Logger, silentLogger } from "../logger.ts";
import type { KubeList, KubeObject, ResourceType } from "../resources/object.ts";
import { objectKey } from "../resources/object.ts";
import { type BackoffOptions, ReconnectBackoff } from "./backoff.ts";
import {
  describeFailure,
  failureCode,
  isGoneFailure,
  isStreamingListRefusal,
  retryAfterMs,
  WatchErrorEvent,
} from "./failures.ts";
import {
  describeInformer,
  type InformerId,
  type InformerObserver,
  type ListInfo,
  type ListMode,
  type RestartInfo,
  type RestartReason,
} from "./observer.ts";
import {
  INITIAL_EVENTS_END_ANNOTATION,
  type ListWatchClient,
  type ListWatchEvent,
  type Selection,
  type WatchRequest,
} from "./source.ts";

/** Where the reflector delivers what it learns: the informer. */
export interface ReflectorSink<T extends KubeObject> {
  /** A complete state, to replace everything held so far. */
  replace(objects: T[], info: ListInfo): void;
  /** One change seen by the watch, in the order the server sent it. */
  apply(type: "ADDED" | "MODIFIED" | "DELETED", object: T): void;
}

/** Tuning of the list/watch loop; every field has a default meant for production. */
export interface ReflectorTuning {
  /**
   * Use streaming lists (watch with `sendInitialEvents`) when the server takes them; the reflector
   * falls back to lists by itself when the server refuses them. Default false: measured on
   * Kubernetes 1.36, a streaming list of 10,000 objects takes several times longer than one list
   * from the API server's watch cache (the server flushes every event on its own).
   */
  streamingList?: boolean;
  /**
   * Start from a list at `resourceVersion=0`, which the API server answers from its watch cache
   * in one response (client-go's reflector does the same); the watch that follows delivers
   * whatever happened since. Default true. Relists after a 410 read the latest state with pages.
   */
  listFromCache?: boolean;
  /** Page size of paginated lists. Default 500; 0 lists everything in one response. */
  pageSize?: number;
  /**
   * A watch with no event, not even a bookmark, for this long is considered dead and restarted.
   * Default 90,000 ms: the API server sends a bookmark about every minute to watches that ask for
   * them, so 1.5 minutes of silence leaves room for a late one without keeping a dead connection
   * (a half-open TCP connection, a stuck proxy) for long.
   */
  silenceTimeoutMs?: number;
  /**
   * `timeoutSeconds` asked of the server for each watch, after which it ends the stream and the
   * reflector resumes. Default: a random value between 5 and 10 minutes, so watches are spread
   * over API server replicas again after a rolling restart. `null` asks for none.
   */
  watchTimeoutSeconds?: number | null;
  /** Retry delays after failures. Defaults: 800 ms doubling to 30 s, reset after 2 minutes. */
  backoff?: BackoffOptions;
  /**
   * A stream the server closes sooner than this (ms) without any event counts as a failure (with
   * backoff) rather than a normal end, so a server that answers and hangs up at once is not
   * hammered. Default 1,000.
   */
  minWatchDurationMs?: number;
}

/** Options of {@link Reflector}. */
export interface ReflectorOptions<T extends KubeObject> extends ReflectorTuning {
  client: ListWatchClient;
  type: ResourceType;
  id: InformerId;
  selection: Selection;
  sink: ReflectorSink<T>;
  /** Applied to each object before the sink sees it. */
  transform: (object: T) => T;
  logger?: Logger;
  observer?: InformerObserver;
  /** Uniform random source in [0, 1); injectable for tests. */
  random?: () => number;
}

/** Counters of the loop, read by the informer's `stats()`. */
export interface ReflectorStats {
  lists: number;
  restarts: Record<RestartReason, number>;
  lastSyncTime: number | undefined;
  lastEventTime: number | undefined;
  resourceVersion: string | undefined;
  listMode: ListMode;
}

/** How one attempt ended. */
type Outcome =
  | { kind: "stopped" }
  | { kind: "closed"; events: number }
  | { kind: "silence"; events: number }
  | { kind: "gone"; events: number; error: unknown }
  | { kind: "error"; events: number; error: unknown }
  /** The server does not do streaming lists; list with pages instead, right away. */
  | { kind: "refused" };

const ABORTED = Symbol("aborted");

/** While a resource type is not served, how long at most between two tries. */
const notServedRetryMs = 5_000;

/** What a 404 on a collection means, and what to do about it. */
function notServedMessage(type: ResourceType): string {
  const slash = type.apiVersion.indexOf("/");
  const group = slash < 0 ? "" : type.apiVersion.slice(0, slash);
  const name = `${type.plural}${group ? `.${group}` : ""} ${type.apiVersion.slice(slash + 1)}`;
  const custom = group.includes(".") && !group.endsWith(".k8s.io");
  return custom
    ? `the API server does not serve ${type.kind} (${name}): its CustomResourceDefinition is not installed. ` +
        "`operon install <module>` installs the CRDs of a module's operators. Waiting for it to appear"
    : `the API server does not serve ${type.kind} (${name}): the API is not enabled there. Waiting for it to appear`;
}

/** Thrown when the server ends a watch without events right after opening it. */
class ShortWatchError extends Error {
  constructor(durationMs: number) {
    super(`watch closed after ${Math.round(durationMs)} ms without any event`);
    this.name = "ShortWatchError";
  }
}

/**
 * Runs list and watch for one selection of one resource type until stopped, feeding a sink.
 * See the module documentation for the recovery rules.
 */
export class Reflector<T extends KubeObject> {
  readonly #client: ListWatchClient;
  readonly #type: ResourceType;
  readonly #id: InformerId;
  readonly #label: string;
  readonly #selection: Selection;
  readonly #sink: ReflectorSink<T>;
  readonly #transform: (object: T) => T;
  readonly #logger: Logger;
  readonly #observer: InformerObserver | undefined;
  readonly #random: () => number;
  readonly #backoff: ReconnectBackoff;
  readonly #pageSize: number;
  readonly #silenceTimeoutMs: number;
  readonly #watchTimeoutSeconds: number | null | undefined;
  readonly #minWatchDurationMs: number;

  #streaming: boolean;
  /** After a streaming list broke midway, the next full list uses pages (then streaming again). */
  #paginateNext = false;
  /** The last attempt ended in 410 without any event: a further 410 backs off. */
  #previousGone = false;
  #resourceVersion: string | undefined;
  readonly #listFromCache: boolean;
  /** Set by a 410: the cache's answer may be as old as what expired, so read the latest state. */
  #needConsistentList = false;
  #lists = 0;
  #restarts: Record<RestartReason, number> = { closed: 0, gone: 0, silence: 0, error: 0 };
  #lastSyncTime: number | undefined;
  #lastEventTime: number | undefined;
  /** The type answered 404 (not served) and has not been listed since: said once until then. */
  #notServed = false;

  constructor(options: ReflectorOptions<T>) {
    this.#client = options.client;
    this.#type = options.type;
    this.#id = options.id;
    this.#label = describeInformer(options.id);
    this.#selection = options.selection;
    this.#sink = options.sink;
    this.#transform = options.transform;
    this.#logger = options.logger ?? silentLogger;
    this.#observer = options.observer;
    this.#random = options.random ?? Math.random;
    this.#backoff = new ReconnectBackoff(options.backoff, () => performance.now(), this.#random);
    this.#streaming = options.streamingList ?? false;
    this.#listFromCache = options.listFromCache ?? true;
    this.#pageSize = options.pageSize ?? 500;
    this.#silenceTimeoutMs = options.silenceTimeoutMs ?? 90_000;
    this.#watchTimeoutSeconds = options.watchTimeoutSeconds;
    this.#minWatchDurationMs = options.minWatchDurationMs ?? 1000;
    if (!(this.#pageSize >= 0))
      throw new RangeError(`pageSize must be >= 0, got ${this.#pageSize}`);
    if (!(this.#silenceTimeoutMs > 0))
      throw new RangeError(`silenceTimeoutMs must be positive, got ${this.#silenceTimeoutMs}`);
  }

  /** The resource version the next watch resumes from; undefined when a relist is due. */
  get resourceVersion(): string | undefined {
    return this.#resourceVersion;
  }

  stats(): ReflectorStats {
    return {
      lists: this.#lists,
      restarts: { ...this.#restarts },
      lastSyncTime: this.#lastSyncTime,
      lastEventTime: this.#lastEventTime,
      resourceVersion: this.#resourceVersion,
      listMode: this.#streaming ? "streaming" : "paginated",
    };
  }

  /** Lists and watches until `signal` aborts; resolves once the open stream is released. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let outcome: Outcome;
      try {
        outcome = await this.#attempt(signal);
      } catch (error) {
        // Attempts report their failures as outcomes; this is a last line of defence, so a bug
        // in a sink or transform cannot end the loop for good.
        outcome = signal.aborted ? { kind: "stopped" } : { kind: "error", events: 0, error };
      }
      if (signal.aborted || outcome.kind === "stopped") break;
      if (outcome.kind === "refused") continue;
      const delayMs = this.#delayAfter(outcome);
      const error = outcome.kind === "gone" || outcome.kind === "error" ? outcome.error : undefined;
      const info: RestartInfo = {
        reason: outcome.kind,
        delayMs,
        relist: this.#resourceVersion === undefined,
        ...(error !== undefined ? { error } : {}),
      };
      this.#restarts[outcome.kind]++;
      this.#logRestart(info);
      this.#notify(() => this.#observer?.restarted?.(this.#id, info));
      if (delayMs > 0) await sleep(delayMs, signal);
    }
  }

  #delayAfter(outcome: Exclude<Outcome, { kind: "stopped" | "refused" }>): number {
    const previousGone = this.#previousGone;
    this.#previousGone = outcome.kind === "gone" && outcome.events === 0;
    switch (outcome.kind) {
      case "closed":
        return 0;
      case "gone":
        // 410 is routine after compaction; only a 410 straight after a relist suggests a loop.
        return previousGone && outcome.events === 0 ? this.#backoff.next() : 0;
      case "silence":
        return this.#backoff.next();
      case "error":
        // A type that is not served yet is polled for, so it is picked up soon after it appears.
        if (failureCode(outcome.error) === 404) {
          return Math.min(this.#backoff.next(), notServedRetryMs);
        }
        return Math.max(this.#backoff.next(), retryAfterMs(outcome.error) ?? 0);
    }
  }

  #logRestart(info: RestartInfo): void {
    const fields = {
      informer: this.#label,
      reason: info.reason,
      delayMs: Math.round(info.delayMs),
      relist: info.relist,
      resourceVersion: this.#resourceVersion,
      ...(info.error !== undefined ? { error: describeFailure(info.error) } : {}),
    };
    switch (info.reason) {
      case "closed":
        this.#logger.debug(fields, "watch closed by the server; resuming");
        break;
      case "gone":
        this.#logger.info(fields, "watch resource version expired (410); relisting");
        break;
      case "silence":
        this.#logger.warn(
          { ...fields, silenceTimeoutMs: this.#silenceTimeoutMs },
          "watch silent for too long; restarting it",
        );
        break;
      case "error":
        if (failureCode(info.error) === 404) {
          if (this.#notServed) this.#logger.debug(fields, "still not served; retrying");
          else this.#logger.warn(fields, notServedMessage(this.#type));
          this.#notServed = true;
          break;
        }
        this.#logger.warn(fields, "list/watch failed; retrying");
        break;
    }
  }

  async #attempt(signal: AbortSignal): Promise<Outcome> {
    if (this.#resourceVersion === undefined) {
      if (this.#streaming && !this.#paginateNext) {
        const outcome = await this.#watch(signal, true);
        if (outcome.kind !== "refused") return outcome;
      }
      this.#paginateNext = false;
      try {
        await this.#listPages(signal);
      } catch (error) {
        if (signal.aborted) return { kind: "stopped" };
        if (!isGoneFailure(error)) return { kind: "error", events: 0, error };
        this.#needConsistentList = true;
        return { kind: "gone", events: 0, error };
      }
    }
    return this.#watch(signal, false);
  }

  /** A paginated list, applied to the sink as one complete state. */
  async #listPages(signal: AbortSignal): Promise<void> {
    const started = performance.now();
    const items: T[] = [];
    let pages = 0;
    let resourceVersion: string | undefined;
    let token: string | undefined;
    const fromCache = this.#listFromCache && !this.#needConsistentList;
    for (;;) {
      let page: KubeList;
      try {
        page = await this.#client.list(this.#type, {
          ...this.#selection,
          // The watch cache ignores `limit` at resourceVersion 0 and answers in one response.
          ...(fromCache
            ? { resourceVersion: "0" }
            : this.#pageSize > 0
              ? { limit: this.#pageSize }
              : {}),
          ...(token !== undefined ? { continue: token } : {}),
          signal,
        });
      } catch (error) {
        if (token === undefined || !isGoneFailure(error)) throw error;
        // The continue token expired midway (compaction): the pages read so far no longer belong
        // to one snapshot. One unpaginated request cannot expire midway.
        this.#logger.info(
          { informer: this.#label, pages },
          "list continue token expired; listing again without pages",
        );
        items.length = 0;
        pages = 0;
        page = await this.#client.list(this.#type, { ...this.#selection, signal });
        token = undefined;
      }
      pages++;
      this.#collect(page, items);
      resourceVersion = page.metadata?.resourceVersion;
      token = page.metadata?.continue || undefined;
      if (token === undefined) break;
    }
    if (!resourceVersion) throw new Error("list response carries no metadata.resourceVersion");
    this.#resourceVersion = resourceVersion;
    this.#needConsistentList = false;
    this.#completeList(items, {
      mode: "paginated",
      objects: items.length,
      pages,
      durationMs: performance.now() - started,
      resourceVersion,
    });
  }

  #collect(page: KubeList, into: T[]): void {
    // List items come without apiVersion and kind; the list's own kind names them.
    const kind = page.kind?.endsWith("List") ? page.kind.slice(0, -4) : undefined;
    for (const item of page.items ?? []) {
      into.push(this.#prepare(item, page.apiVersion, kind));
    }
  }

  #completeList(objects: T[], info: ListInfo): void {
    if (this.#notServed) {
      this.#notServed = false;
      this.#logger.info({ informer: this.#label }, "the resource type is served now; listed it");
    }
    this.#lists++;
    this.#lastSyncTime = Date.now();
    this.#sink.replace(objects, info);
    this.#logger.debug(
      {
        informer: this.#label,
        mode: info.mode,
        objects: info.objects,
        pages: info.pages,
        durationMs: Math.round(info.durationMs),
      },
      "listed",
    );
    this.#notify(() => this.#observer?.listed?.(this.#id, info));
  }

  #watchTimeout(): number | undefined {
    const option = this.#watchTimeoutSeconds;
    if (option === null) return undefined;
    if (option !== undefined) return option;
    return 300 + Math.floor(this.#random() * 300);
  }

  /**
   * One watch, until it ends. With `streaming`, it is a streaming list first: objects are
   * gathered until the initial-events-end bookmark, which applies them as one complete state,
   * and the same stream then goes on as an ordinary watch.
   */
  async #watch(signal: AbortSignal, streaming: boolean): Promise<Outcome> {
    // Stopped while listing: an abort listener added now would never fire.
    if (signal.aborted) return { kind: "stopped" };
    const controller = new AbortController();
    const stop = () => controller.abort(signal.reason);
    signal.addEventListener("abort", stop, { once: true });

    // Silence watchdog: one timer per silence period rather than one per event.
    let silent = false;
    let lastActivity = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const check = () => {
      const idle = performance.now() - lastActivity;
      if (idle >= this.#silenceTimeoutMs) {
        silent = true;
        controller.abort(new Error(`watch silent for ${Math.round(idle)} ms`));
      } else {
        timer = setTimeout(check, this.#silenceTimeoutMs - idle);
      }
    };
    timer = setTimeout(check, this.#silenceTimeoutMs);

    const started = performance.now();
    const streamStarted = Date.now();
    let events = 0;
    let initial = streaming;
    let buffer: Map<string, T> | undefined = streaming ? new Map() : undefined;
    let iterator: AsyncIterator<ListWatchEvent<T>> | undefined;
    let finished = false;
    try {
      const timeoutSeconds = this.#watchTimeout();
      const request: WatchRequest = {
        ...this.#selection,
        allowWatchBookmarks: true,
        signal: controller.signal,
        ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
        ...(streaming
          ? { sendInitialEvents: true, resourceVersionMatch: "NotOlderThan", resourceVersion: "" }
          : { resourceVersion: this.#resourceVersion! }),
      };
      const opening = Promise.resolve(this.#client.watch(this.#type as ResourceType<T>, request));
      const opened = await untilAborted(opening, controller.signal);
      if (opened === ABORTED) {
        // The stream may still open after all; release it when it does.
        opening.then(closeStream, () => {});
        finished = true;
        return silent ? { kind: "silence", events } : { kind: "stopped" };
      }
      iterator = opened[Symbol.asyncIterator]();
      for (;;) {
        const next = await untilAborted(iterator.next(), controller.signal);
        if (next === ABORTED) break;
        if (next.done) {
          finished = true;
          break;
        }
        lastActivity = performance.now();
        this.#lastEventTime = Date.now();
        events++;
        const event = next.value;
        if (event.type === "ERROR") {
          throw typeof event.error === "object" && event.error !== null
            ? withStatus(event.error, event.object)
            : new WatchErrorEvent(event.object);
        }
        if (event.type === "BOOKMARK") {
          const rv = event.object.metadata?.resourceVersion;
          if (!initial) {
            if (rv) this.#resourceVersion = rv;
            continue;
          }
          if (event.object.metadata?.annotations?.[INITIAL_EVENTS_END_ANNOTATION] !== "true") {
            // Only a server that ignored sendInitialEvents sends an ordinary bookmark here.
            this.#refuseStreaming("a bookmark arrived before the initial-events-end bookmark");
            return { kind: "refused" };
          }
          if (!rv) throw new Error("initial-events-end bookmark carries no resourceVersion");
          const objects = [...buffer!.values()];
          buffer = undefined;
          initial = false;
          this.#resourceVersion = rv;
          this.#completeList(objects, {
            mode: "streaming",
            objects: objects.length,
            pages: 1,
            durationMs: performance.now() - started,
            resourceVersion: rv,
          });
          continue;
        }
        const object = this.#prepare(event.object);
        if (initial) {
          // Only ADDED is expected before the end bookmark; the others are handled for safety.
          if (event.type === "DELETED") buffer!.delete(objectKey(object));
          else buffer!.set(objectKey(object), object);
          continue;
        }
        const rv = object.metadata.resourceVersion;
        this.#sink.apply(event.type, object);
        if (rv) this.#resourceVersion = rv;
      }
      if (silent) return { kind: "silence", events };
      if (signal.aborted) return { kind: "stopped" };
      if (initial) throw new Error("watch ended before its initial events were complete");
      const durationMs = performance.now() - started;
      if (events === 0 && durationMs < this.#minWatchDurationMs) {
        throw new ShortWatchError(durationMs);
      }
      this.#logger.debug(
        { informer: this.#label, events, seconds: Math.round((Date.now() - streamStarted) / 1000) },
        "watch ended",
      );
      return { kind: "closed", events };
    } catch (error) {
      if (silent) return { kind: "silence", events };
      if (signal.aborted) return { kind: "stopped" };
      if (initial) {
        if (events === 0 && isStreamingListRefusal(error)) {
          this.#refuseStreaming(describeFailure(error));
          return { kind: "refused" };
        }
        // Like client-go: when a streaming list breaks, the next full list uses pages, since
        // making progress matters more than the cheaper list.
        if (!isGoneFailure(error)) this.#paginateNext = true;
      }
      if (isGoneFailure(error)) {
        this.#resourceVersion = undefined;
        this.#needConsistentList = true;
        return { kind: "gone", events, error };
      }
      return { kind: "error", events, error };
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", stop);
      // Releases the HTTP stream if it is still open (silence, a throw, a refusal).
      controller.abort();
      if (iterator && !finished) closeQuietly(iterator);
    }
  }

  #refuseStreaming(why: string): void {
    this.#streaming = false;
    this.#logger.info(
      { informer: this.#label, why },
      "the server does not support streaming lists; using paginated lists",
    );
  }

  /** Fills in apiVersion and kind when absent (list items), then applies the transform. */
  #prepare(raw: KubeObject, apiVersion?: string, kind?: string): T {
    let object = raw;
    if (!object.apiVersion || !object.kind) {
      object = {
        ...object,
        apiVersion: object.apiVersion || apiVersion || this.#defaultApiVersion(),
        kind: object.kind || kind || this.#defaultKind(),
      };
    }
    try {
      return this.#transform(object as T);
    } catch (error) {
      this.#logger.error(
        { informer: this.#label, key: objectKey(object), error: describeFailure(error) },
        "transform threw; storing the object untransformed",
      );
      return object as T;
    }
  }

  #defaultApiVersion(): string {
    return this.#selection.metadataOnly ? "meta.k8s.io/v1" : this.#type.apiVersion;
  }

  #defaultKind(): string {
    return this.#selection.metadataOnly ? "PartialObjectMetadata" : this.#type.kind;
  }

  #notify(hook: () => void): void {
    try {
      hook();
    } catch {
      // Observer hooks must never break the loop.
    }
  }
}

/**
 * Resolves with the promise's value, or with {@link ABORTED} as soon as `signal` aborts, whichever
 * comes first, so a client that is slow to honour the signal cannot hold the loop. The listener
 * is removed each time: a long watch calls this once per event.
 */
function untilAborted<V>(promise: Promise<V>, signal: AbortSignal): Promise<V | typeof ABORTED> {
  if (signal.aborted) {
    promise.then(undefined, () => {});
    return Promise.resolve(ABORTED);
  }
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(ABORTED);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/** Releases a stream that was opened too late to be used. */
function closeStream(stream: AsyncIterable<unknown>): void {
  const closable = stream as { close?: unknown };
  if (typeof closable.close === "function") {
    try {
      (closable.close as () => void).call(stream);
    } catch {
      // Already closed.
    }
    return;
  }
  closeQuietly(stream[Symbol.asyncIterator]());
}

/** Ends an iterator without waiting for it (its pending `next` may settle later). */
function closeQuietly(iterator: AsyncIterator<unknown>): void {
  try {
    const result = iterator.return?.();
    if (result) result.then(undefined, () => {});
  } catch {
    // Already closed or closing.
  }
}

/** The typed error of an `ERROR` event, made sure to carry the Status code and reason. */
function withStatus(error: object, status: { code?: number; reason?: string }): unknown {
  const e = error as { code?: unknown; reason?: unknown };
  if (typeof e.code === "number" && e.code > 0) return error;
  if (status.code === undefined && status.reason === undefined) return error;
  return new WatchErrorEvent(status);
}

/** Waits `ms`, or less if `signal` aborts; never rejects. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
