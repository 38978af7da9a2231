/**
 * The harness's view of a namespace: one watch each on the bench parents, ConfigMaps and Secrets
 * (streaming lists, so no LIST requests), folded into the few fields convergence needs. Each
 * event re-checks only the parent it concerns, so watching stays cheap at 10,000 parents.
 */
import type { KubeClient } from "../src/client/client.ts";
import { GoneError } from "../src/client/errors.ts";
import { isInitialEventsEnd } from "../src/client/watch.ts";
import { ConfigMap, type KubeObject, type ResourceType, Secret } from "../src/index.ts";
import type { RequestCounts } from "./metrics.ts";
import { BenchParent, configMapName, parentLabel, secretName, syncedType } from "./model.ts";

/** What a parent must show to count as converged. */
export interface Expected {
  generation: number;
  value: string;
}

interface ParentState {
  generation: number;
  observedGeneration: number;
  synced: boolean;
  value: string;
}

type Kind = "parents" | "configMaps" | "secrets";

const kinds: { kind: Kind; type: ResourceType; resource: string }[] = [
  { kind: "parents", type: BenchParent as ResourceType, resource: "benchparents" },
  { kind: "configMaps", type: ConfigMap as ResourceType, resource: "configmaps" },
  { kind: "secrets", type: Secret as ResourceType, resource: "secrets" },
];

export class Observer {
  readonly #client: KubeClient;
  readonly #namespace: string;
  readonly #abort = new AbortController();
  readonly #parents = new Map<string, ParentState>();
  readonly #configValues = new Map<string, string>();
  readonly #secretValues = new Map<string, string>();
  readonly #opens: RequestCounts = {};
  #expected = new Map<string, Expected>();
  #pending = new Set<string>();
  #waiter: ((at: number) => void) | undefined;
  #failure: Error | undefined;
  readonly #loops: Promise<void>[] = [];

  private constructor(client: KubeClient, namespace: string) {
    this.#client = client;
    this.#namespace = namespace;
  }

  /** Opens the watches and resolves once their initial events are in. */
  static async open(client: KubeClient, namespace: string): Promise<Observer> {
    const observer = new Observer(client, namespace);
    const synced = kinds.map(
      ({ kind, type, resource }) =>
        new Promise<void>((resolve, reject) => {
          observer.#loops.push(observer.#run(kind, type, resource, resolve, reject));
        }),
    );
    await Promise.all(synced);
    return observer;
  }

  /** WATCH requests this observer made, to take out of the API server's counts. */
  get ownRequests(): RequestCounts {
    return { ...this.#opens };
  }

  async #run(
    kind: Kind,
    type: ResourceType,
    resource: string,
    synced: () => void,
    failed: (error: Error) => void,
  ): Promise<void> {
    let resourceVersion: string | undefined;
    let first = true;
    while (!this.#abort.signal.aborted) {
      try {
        this.#opens[`WATCH ${resource}`] = (this.#opens[`WATCH ${resource}`] ?? 0) + 1;
        const stream = await this.#client.watch(type, {
          namespace: this.#namespace,
          ...(resourceVersion
            ? { resourceVersion }
            : { sendInitialEvents: true, resourceVersionMatch: "NotOlderThan" as const }),
          signal: this.#abort.signal,
        });
        for await (const event of stream) {
          if (event.type === "BOOKMARK") {
            resourceVersion = event.object.metadata.resourceVersion;
            if (first && isInitialEventsEnd(event)) {
              first = false;
              synced();
            }
            continue;
          }
          if (event.type === "ERROR") continue;
          resourceVersion = event.object.metadata.resourceVersion;
          this.#apply(kind, event.type === "DELETED", event.object);
        }
      } catch (error) {
        if (this.#abort.signal.aborted) return;
        if (first) {
          failed(error as Error);
          return;
        }
        // Resume from the last version seen; a 410 starts over with a fresh streaming list.
        if (error instanceof GoneError) resourceVersion = undefined;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  #apply(kind: Kind, deleted: boolean, object: KubeObject): void {
    const name = object.metadata.name!;
    if (kind === "parents") {
      if (deleted) {
        this.#parents.delete(name);
      } else {
        const status = (object as BenchParent).status;
        this.#parents.set(name, {
          generation: object.metadata.generation ?? 0,
          observedGeneration: status?.observedGeneration ?? 0,
          synced:
            status?.conditions?.some((c) => c.type === syncedType && c.status === "True") ?? false,
          value: (object as BenchParent).spec.value,
        });
      }
      this.#check(name);
      return;
    }
    const parent = object.metadata.labels?.[parentLabel];
    if (!parent) return;
    const values = kind === "configMaps" ? this.#configValues : this.#secretValues;
    if (deleted) {
      values.delete(name);
    } else {
      const data = (object as { data?: Record<string, string> }).data ?? {};
      const value = data.value ?? "";
      values.set(name, kind === "secrets" ? Buffer.from(value, "base64").toString("utf8") : value);
    }
    this.#check(parent);
  }

  #converged(name: string, expected: Expected): boolean {
    const parent = this.#parents.get(name);
    if (!parent) return false;
    return (
      parent.generation >= expected.generation &&
      parent.observedGeneration === parent.generation &&
      parent.synced &&
      parent.value === expected.value &&
      this.#configValues.get(configMapName(name)) === expected.value &&
      this.#secretValues.get(secretName(name)) === expected.value
    );
  }

  #check(name: string): void {
    const expected = this.#expected.get(name);
    if (!expected) return;
    if (this.#converged(name, expected)) this.#pending.delete(name);
    else this.#pending.add(name);
    this.#maybeDone();
  }

  #maybeDone(): void {
    if (this.#pending.size === 0 && this.#waiter) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter(performance.now());
    }
  }

  /** Sets what converged means from now on: these parents with these generations and values. */
  expect(expected: ReadonlyMap<string, Expected>): void {
    this.#expected = new Map(expected);
    this.#pending = new Set();
    for (const [name, want] of this.#expected) {
      if (!this.#converged(name, want)) this.#pending.add(name);
    }
  }

  /** Parents not converged yet. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Resolves with the time (performance.now) the expected state was first seen complete. */
  converged(): Promise<number> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#pending.size === 0) return Promise.resolve(performance.now());
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  async close(): Promise<void> {
    this.#abort.abort();
    await Promise.allSettled(this.#loops);
  }
}
