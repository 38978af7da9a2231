/**
 * The shared informer factory: one informer per (resource type, namespace, label selector, field
 * selector, metadata-only), handed to every consumer in the process, started once.
 *
 * Sharing is what keeps an operator with many controllers cheap: ten controllers that watch Pods
 * hold one list, one watch and one copy of each Pod, not ten.
 *
 * @module
 */

import { type Logger, silentLogger } from "../logger.ts";
import type { KubeObject, ResourceType } from "../resources/object.ts";
import type { Indexers } from "./indexes.ts";
import { Informer, informerId } from "./informer.ts";
import type { InformerObserver, InformerStats } from "./observer.ts";
import type { ReflectorTuning } from "./reflector.ts";
import type { ListWatchClient, PartialObjectMetadata } from "./source.ts";
import type { Transform } from "./transform.ts";

/** Options of {@link InformerFactory}; they apply to every informer it creates. */
export interface InformerFactoryOptions extends ReflectorTuning {
  client: ListWatchClient;
  /** Default: silent. */
  logger?: Logger;
  observer?: InformerObserver;
  /** Applied to every object before it is stored. Default: strip `metadata.managedFields`. */
  transform?: Transform<KubeObject>;
  /** Include the built-in namespace, controller and label indexes. Default true. */
  builtinIndexes?: boolean;
  /** Uniform random source in [0, 1) for jitter; injectable for tests. */
  random?: () => number;
}

/** What to watch of a resource type. */
export interface InformerSelection<T extends KubeObject = KubeObject> {
  /** Only objects in this namespace; ignored for cluster-scoped types. Default: all. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /**
   * Indexes this consumer needs. Added to the shared informer (also when it runs already); the
   * same name with another function is an error, as consumers would read each other's index.
   */
  indexers?: Indexers<T>;
}

/**
 * Splits a selector at its top-level commas (not those inside `in (a,b)` sets), trims and sorts
 * the terms, so `b=2, a=1` and `a=1,b=2` name the same informer.
 */
export function normalizeSelector(selector: string | undefined): string | undefined {
  if (selector === undefined) return undefined;
  const terms: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (c === "(") depth++;
    else if (c === ")") depth = Math.max(0, depth - 1);
    else if (c === "," && depth === 0) {
      terms.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(selector.slice(start));
  const cleaned = terms
    .map((term) => term.trim())
    .filter((term) => term !== "")
    .sort();
  return cleaned.length ? cleaned.join(",") : undefined;
}

/**
 * Hands out shared informers and runs them.
 *
 * @example
 * const factory = new InformerFactory({ client: clientListWatch(kube), logger });
 * const pods = factory.informer(Pod, { namespace: "prod" });
 * pods.addHandler({ add: (pod) => queue.add(objectKey(pod)) });
 * factory.start(signal);
 * await factory.waitForSync(signal);
 */
export class InformerFactory {
  readonly #options: InformerFactoryOptions;
  readonly #logger: Logger;
  readonly #informers = new Map<string, Informer<KubeObject>>();
  #started = false;
  #stopped = false;
  #signal: AbortSignal | undefined;

  constructor(options: InformerFactoryOptions) {
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
  }

  /** The shared informer of whole objects for this type and selection. */
  informer<T extends KubeObject>(
    type: ResourceType<T>,
    selection: InformerSelection<T> = {},
  ): Informer<T> {
    return this.#get(type, selection as InformerSelection, false) as unknown as Informer<T>;
  }

  /**
   * The shared metadata-only informer for this type and selection: it stores
   * `PartialObjectMetadata`, for consumers that read only names, labels, owners or finalizers.
   */
  metadataInformer(
    type: ResourceType,
    selection: InformerSelection<PartialObjectMetadata> = {},
  ): Informer<PartialObjectMetadata> {
    return this.#get(
      type,
      selection as InformerSelection,
      true,
    ) as unknown as Informer<PartialObjectMetadata>;
  }

  /** Every informer handed out so far. */
  informers(): Informer<KubeObject>[] {
    return [...this.#informers.values()];
  }

  /**
   * Starts every informer, and every informer handed out later, until `signal` aborts or
   * {@link stop} is called. Calling it again does nothing.
   */
  start(signal?: AbortSignal): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    this.#signal = signal;
    for (const informer of this.#informers.values()) informer.start(signal);
    signal?.addEventListener(
      "abort",
      () => {
        this.#stopped = true;
      },
      { once: true },
    );
  }

  /** Resolves once every informer handed out so far has synced; rejects when `signal` aborts. */
  async waitForSync(signal?: AbortSignal): Promise<void> {
    await Promise.all(this.informers().map((informer) => informer.waitForSync(signal)));
  }

  /** Whether every informer handed out so far has synced. */
  hasSynced(): boolean {
    return this.informers().every((informer) => informer.hasSynced());
  }

  /** Stops every informer; resolves once all their streams are released. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.informers().map((informer) => informer.stop()));
  }

  /** Counters of every informer, e.g. objects cached per type. */
  stats(): InformerStats[] {
    return this.informers().map((informer) => informer.stats());
  }

  #get(
    type: ResourceType,
    selection: InformerSelection<KubeObject>,
    metadataOnly: boolean,
  ): Informer<KubeObject> {
    const namespace = type.namespaced === false ? undefined : selection.namespace || undefined;
    const labelSelector = normalizeSelector(selection.labelSelector);
    const fieldSelector = normalizeSelector(selection.fieldSelector);
    const key = JSON.stringify([
      type.apiVersion,
      type.kind,
      namespace ?? "",
      labelSelector ?? "",
      fieldSelector ?? "",
      metadataOnly,
    ]);
    let informer = this.#informers.get(key);
    if (!informer) {
      if (this.#stopped) {
        throw new Error("the informer factory is stopped; it hands out no new informers");
      }
      const o = this.#options;
      informer = new Informer<KubeObject>({
        ...o,
        type,
        ...(namespace ? { namespace } : {}),
        ...(labelSelector ? { labelSelector } : {}),
        ...(fieldSelector ? { fieldSelector } : {}),
        metadataOnly,
        logger: this.#logger,
      });
      this.#informers.set(key, informer);
      this.#logger.debug(
        { informer: informerId({ type, namespace, labelSelector, fieldSelector, metadataOnly }) },
        "informer created",
      );
      if (this.#started) informer.start(this.#signal);
    }
    if (selection.indexers) informer.addIndexers(selection.indexers);
    return informer;
  }
}
