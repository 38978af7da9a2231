/**
 * An in-memory API server for one resource type, behind the {@link ListWatchClient} interface:
 * for tests of informers and of code built on them, with no real server.
 *
 * It keeps a history of changes so watches can resume from a resource version, can compact that
 * history (resumes then get 410 Gone), paginates lists, serves streaming lists, and lets a test
 * end, break or silence open watches.
 *
 * @module
 */
import { GoneError, InvalidError, KubeError } from "../client/errors.ts";
import type { KubeList, KubeObject, ResourceType } from "../resources/object.ts";
import { objectKey } from "../resources/object.ts";
import {
  INITIAL_EVENTS_END_ANNOTATION,
  type ListRequest,
  type ListWatchClient,
  type ListWatchEvent,
  type WatchRequest,
} from "./source.ts";

type Change = { revision: number; type: "ADDED" | "MODIFIED" | "DELETED"; object: KubeObject };

/** Options of {@link FakeSource}. */
export interface FakeSourceOptions {
  /** Serve streaming lists. Default true; false refuses them with 422 like an older server. */
  streamingLists?: boolean;
  /** How a resume from a compacted version fails: an HTTP 410 (default) or an ERROR event. */
  goneAs?: "http" | "event";
}

/** A request the fake received, for assertions. */
export type RecordedRequest =
  | { verb: "list"; request: Omit<ListRequest, "signal"> }
  | { verb: "watch"; request: Omit<WatchRequest, "signal"> };

/** The resource version text for a revision: deliberately not a plain number. */
function version(revision: number): string {
  return `r${revision.toString(16)}`;
}

function revisionOf(resourceVersion: string): number {
  if (!/^r[0-9a-f]+$/.test(resourceVersion)) {
    throw new InvalidError({
      request: { verb: "watch" },
      code: 422,
      detail: `invalid resourceVersion ${JSON.stringify(resourceVersion)}`,
    });
  }
  return Number.parseInt(resourceVersion.slice(1), 16);
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

/** One open watch stream of the fake. */
class FakeWatch implements AsyncIterable<ListWatchEvent> {
  readonly request: WatchRequest;
  /** A dead connection: open, but nothing arrives. */
  dead = false;
  #queue: ListWatchEvent[] = [];
  #waiting: ((result: IteratorResult<ListWatchEvent>) => void) | undefined;
  #failWaiting: ((error: unknown) => void) | undefined;
  #ended = false;
  #error: unknown;
  #onClose: () => void;
  #closed = false;

  constructor(request: WatchRequest, onClose: () => void) {
    this.request = request;
    this.#onClose = onClose;
    request.signal.addEventListener("abort", () => this.end(), { once: true });
  }

  get closed(): boolean {
    return this.#closed;
  }

  push(event: ListWatchEvent): void {
    if (this.#ended) return;
    if (this.#waiting) {
      const resolve = this.#waiting;
      this.#waiting = undefined;
      this.#failWaiting = undefined;
      resolve({ value: event, done: false });
    } else {
      this.#queue.push(event);
    }
  }

  /** Ends the stream normally (after the events already queued). */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#flushEnd();
  }

  /** Breaks the stream with an error (after the events already queued). */
  fail(error: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    this.#flushEnd();
  }

  #flushEnd(): void {
    if (this.#waiting && this.#queue.length === 0) {
      const resolve = this.#waiting;
      const reject = this.#failWaiting!;
      this.#waiting = undefined;
      this.#failWaiting = undefined;
      this.#close();
      if (this.#error !== undefined) reject(this.#error);
      else resolve({ value: undefined, done: true });
    }
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose();
  }

  [Symbol.asyncIterator](): AsyncIterator<ListWatchEvent> {
    return {
      next: () => {
        const event = this.#queue.shift();
        if (event) return Promise.resolve({ value: event, done: false });
        if (this.#ended) {
          this.#close();
          if (this.#error !== undefined) {
            const error = this.#error;
            this.#error = undefined;
            return Promise.reject(error);
          }
          return Promise.resolve({ value: undefined, done: true });
        }
        return new Promise((resolve, reject) => {
          this.#waiting = resolve;
          this.#failWaiting = reject;
        });
      },
      return: () => {
        this.#ended = true;
        this.#queue = [];
        this.#close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}

/**
 * An in-memory API server for one resource type.
 *
 * Label selectors support `key=value` terms only; field selectors `metadata.name=` and
 * `metadata.namespace=` only.
 */
export class FakeSource implements ListWatchClient {
  readonly requests: RecordedRequest[] = [];
  /** Make the next list calls fail with these errors, one per call. */
  readonly listFailures: unknown[] = [];
  /** Make the next watch calls fail (when opening) with these errors, one per call. */
  readonly watchFailures: unknown[] = [];
  streamingLists: boolean;
  goneAs: "http" | "event";
  #objects = new Map<string, KubeObject>();
  #history: Change[] = [];
  #revision = 1;
  /** History up to and including this revision is gone. */
  #compacted = 0;
  #watches = new Set<FakeWatch>();
  #openStreams = 0;
  #continueTokens = new Map<string, { revision: number; offset: number; items: KubeObject[] }>();
  #tokenCounter = 0;

  constructor(options: FakeSourceOptions = {}) {
    this.streamingLists = options.streamingLists ?? true;
    this.goneAs = options.goneAs ?? "http";
  }

  /** The current resource version. */
  get resourceVersion(): string {
    return version(this.#revision);
  }

  /** Streams currently open (not yet ended or released by the consumer). */
  get openStreams(): number {
    return this.#openStreams;
  }

  /** A copy of every stored object. */
  objects(): KubeObject[] {
    return [...this.#objects.values()].map(clone);
  }

  get(key: string): KubeObject | undefined {
    const object = this.#objects.get(key);
    return object ? clone(object) : undefined;
  }

  /** Creates or replaces an object; returns it with its new resource version and UID. */
  put(object: KubeObject): KubeObject {
    const key = objectKey(object);
    const old = this.#objects.get(key);
    this.#revision++;
    const stored = clone(object);
    stored.metadata.resourceVersion = version(this.#revision);
    stored.metadata.uid ??= old?.metadata.uid ?? `uid-${key}-${this.#revision}`;
    this.#objects.set(key, stored);
    this.#record(old ? "MODIFIED" : "ADDED", stored);
    return clone(stored);
  }

  /** Deletes an object; returns its final state. */
  remove(key: string): KubeObject | undefined {
    const old = this.#objects.get(key);
    if (!old) return undefined;
    this.#revision++;
    const final = clone(old);
    final.metadata.resourceVersion = version(this.#revision);
    this.#objects.delete(key);
    this.#record("DELETED", final);
    return clone(final);
  }

  /** Forgets the history up to now: watches resumed from an older version get 410. */
  compact(): void {
    this.#compacted = this.#revision;
    this.#history = [];
    this.#continueTokens.clear();
  }

  /** Sends a bookmark at the current version to every open watch. */
  bookmark(): void {
    for (const watch of this.#watches) {
      if (watch.request.allowWatchBookmarks && !watch.dead) {
        watch.push({
          type: "BOOKMARK",
          object: { metadata: { resourceVersion: this.resourceVersion } },
        });
      }
    }
  }

  /**
   * Makes every open watch a dead connection: it stays open but receives nothing more, not even
   * bookmarks. Watches opened later work.
   */
  silenceWatches(): void {
    for (const watch of this.#watches) watch.dead = true;
  }

  /** Ends every open watch normally, like the server's `timeoutSeconds`. */
  closeWatches(): void {
    for (const watch of this.#watches) watch.end();
    this.#watches.clear();
  }

  /** Breaks every open watch with an error. */
  breakWatches(error: unknown = new Error("connection reset")): void {
    for (const watch of this.#watches) watch.fail(error);
    this.#watches.clear();
  }

  /** Sends an `ERROR` event to every open watch, then ends it. */
  sendError(status: { code: number; reason: string; message?: string }): void {
    for (const watch of this.#watches) {
      watch.push({ type: "ERROR", object: status });
      watch.end();
    }
    this.#watches.clear();
  }

  /** Number of watches the fake is feeding. */
  get watchCount(): number {
    return this.#watches.size;
  }

  async list<T extends KubeObject>(
    type: ResourceType<T>,
    request: ListRequest,
  ): Promise<KubeList<T>> {
    const { signal: _signal, ...recorded } = request;
    this.requests.push({ verb: "list", request: recorded });
    await Promise.resolve();
    const failure = this.listFailures.shift();
    if (failure !== undefined) throw failure;
    let revision = this.#revision;
    let offset = 0;
    let items: KubeObject[];
    if (request.continue !== undefined) {
      const token = this.#continueTokens.get(request.continue);
      if (!token) {
        throw new GoneError({
          request: { verb: "list" },
          code: 410,
          status: { kind: "Status", apiVersion: "v1", code: 410, reason: "Expired" },
        });
      }
      // Pages of one list come from one snapshot, taken by its first page.
      ({ revision, offset, items } = token);
    } else {
      items = [...this.#objects.values()]
        .filter((object) => this.#matches(object, request))
        .map(clone)
        .sort((a, b) => objectKey(a).localeCompare(objectKey(b)));
    }
    const limit = request.limit && request.limit > 0 ? request.limit : items.length;
    const page = items.slice(offset, offset + limit);
    let next: string | undefined;
    if (offset + limit < items.length) {
      next = `c${++this.#tokenCounter}`;
      this.#continueTokens.set(next, { revision, offset: offset + limit, items });
    }
    return {
      apiVersion: type.apiVersion,
      kind: `${type.kind}List`,
      metadata: { resourceVersion: version(revision), ...(next ? { continue: next } : {}) },
      // List items carry no apiVersion/kind, like the real API.
      items: page.map((object) => {
        const { apiVersion: _a, kind: _k, ...rest } = clone(object);
        return rest as unknown as T;
      }),
    };
  }

  async watch<T extends KubeObject>(
    _type: ResourceType<T>,
    request: WatchRequest,
  ): Promise<AsyncIterable<ListWatchEvent<T>>> {
    const { signal: _signal, ...recorded } = request;
    this.requests.push({ verb: "watch", request: recorded });
    await Promise.resolve();
    const failure = this.watchFailures.shift();
    if (failure !== undefined) throw failure;
    if (request.sendInitialEvents && !this.streamingLists) {
      throw new InvalidError({
        request: { verb: "watch" },
        code: 422,
        detail: "sendInitialEvents is forbidden for watch unless the WatchList feature is enabled",
      });
    }
    this.#openStreams++;
    const watch = new FakeWatch(request, () => {
      this.#openStreams--;
      this.#watches.delete(watch);
    });
    if (request.signal.aborted) {
      watch.end();
      return watch as unknown as AsyncIterable<ListWatchEvent<T>>;
    }
    if (request.sendInitialEvents) {
      for (const object of this.#objects.values()) {
        if (this.#matches(object, request)) watch.push({ type: "ADDED", object: clone(object) });
      }
      watch.push({
        type: "BOOKMARK",
        object: {
          metadata: {
            resourceVersion: this.resourceVersion,
            annotations: { [INITIAL_EVENTS_END_ANNOTATION]: "true" },
          },
        },
      });
    } else {
      const from = revisionOf(request.resourceVersion ?? "");
      if (from < this.#compacted) {
        const status = { code: 410, reason: "Expired", message: "too old resource version" };
        if (this.goneAs === "http") {
          this.#openStreams--;
          throw new GoneError({
            request: { verb: "watch" },
            code: 410,
            status: { kind: "Status", apiVersion: "v1", ...status },
          });
        }
        watch.push({ type: "ERROR", object: status });
        watch.end();
        return watch as unknown as AsyncIterable<ListWatchEvent<T>>;
      }
      for (const change of this.#history) {
        if (change.revision > from && this.#matches(change.object, request)) {
          watch.push({ type: change.type, object: clone(change.object) });
        }
      }
    }
    this.#watches.add(watch);
    return watch as unknown as AsyncIterable<ListWatchEvent<T>>;
  }

  #record(type: Change["type"], object: KubeObject): void {
    this.#history.push({ revision: this.#revision, type, object: clone(object) });
    for (const watch of this.#watches) {
      if (!watch.dead && this.#matches(object, watch.request)) {
        watch.push({ type, object: clone(object) });
      }
    }
  }

  #matches(
    object: KubeObject,
    request: { namespace?: string; labelSelector?: string; fieldSelector?: string },
  ): boolean {
    if (request.namespace && object.metadata.namespace !== request.namespace) return false;
    if (request.fieldSelector) {
      for (const term of request.fieldSelector.split(",")) {
        const [field, value] = term.split("=").map((part) => part.trim());
        const actual =
          field === "metadata.name"
            ? object.metadata.name
            : field === "metadata.namespace"
              ? object.metadata.namespace
              : undefined;
        if (actual === undefined && field !== "metadata.namespace") {
          throw new KubeError({
            request: { verb: "list" },
            code: 400,
            detail: `field selector ${JSON.stringify(term)} is not supported by the fake`,
          });
        }
        if (actual !== value) return false;
      }
    }
    if (request.labelSelector) {
      for (const term of request.labelSelector.split(",")) {
        const [key, value] = term.split("=");
        if (object.metadata.labels?.[key!.trim()] !== value?.trim()) return false;
      }
    }
    return true;
  }
}
