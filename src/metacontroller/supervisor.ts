/**
 * Metacontroller mode's entry point: a manager runnable that watches CompositeController and
 * DecoratorController objects and runs one controller per object, started, restarted with the
 * new spec, and stopped as the objects are added, changed and deleted, while the manager supplies
 * the shared informers, metrics, leader election and graceful shutdown.
 */
import type { HandlerRegistration, Informer } from "../cache/index.ts";
import { jsonEqual } from "../common/json.ts";
import type { Runnable, RunnableContext } from "../manager/runnable.ts";
import { EventRecorder } from "../operator/events.ts";
import type { KubeObject, ResourceType } from "../resources/object.ts";
import { CompositeRuntime, ControllerStartError } from "./composite.ts";
import type { MetacontrollerContext } from "./context.ts";
import { DecoratorRuntime } from "./decorator.ts";
import { defaultServiceAccess, type ServiceAccess } from "./hook.ts";
import {
  type AnyController,
  type CompositeController,
  CompositeControllerType,
  type DecoratorController,
  DecoratorControllerType,
} from "./types.ts";

/** Options of {@link Metacontroller}. */
export interface MetacontrollerOptions {
  /** Parents synced at once per controller. Default 16. */
  workers?: number;
  /** Field manager of children writes. Default `metacontroller`, Metacontroller's own. */
  fieldManager?: string;
  /** How hooks given as a Service are reached. Default: cluster DNS in a pod, the API server's proxy elsewhere. */
  serviceAccess?: ServiceAccess;
  /** Only controllers whose labels match this selector (`--target-label-selector`). */
  targetLabelSelector?: string;
  /** Every parent is synced again this often unless its controller sets `resyncPeriodSeconds`. Default 30 min; 0: never. */
  resyncPeriodMs?: number;
  /** Restarting a controller that could not start waits this long at first, doubling to 5 min. Default 5 s. */
  retryStartMs?: number;
}

type Runtime = CompositeRuntime | DecoratorRuntime;

interface Entry {
  controller: AnyController;
  runtime: Runtime | undefined;
  /** Serializes the starts and stops of one controller. */
  chain: Promise<void>;
  retryTimer: NodeJS.Timeout | undefined;
  failures: number;
  /** Record a `Started` Event once it runs (not for controllers found at startup). */
  announce: boolean;
}

function idOf(controller: KubeObject): string {
  return `${controller.kind}/${controller.metadata.name}`;
}

/**
 * Runs the CompositeControllers and DecoratorControllers of a cluster on a {@link Manager}.
 *
 * @example
 * import { Manager, Metacontroller } from "kube-operon";
 *
 * const manager = new Manager({ leaderElection: { id: "metacontroller" } });
 * manager.add(new Metacontroller({ workers: 16 }));
 * await manager.run();
 */
export class Metacontroller implements Runnable {
  readonly name = "metacontroller";
  /** It writes: it runs on the elected leader only. */
  readonly needLeaderElection = true;
  readonly #options: MetacontrollerOptions;
  readonly #entries = new Map<string, Entry>();
  #context: MetacontrollerContext | undefined;
  #informers: Informer<KubeObject>[] = [];
  #registrations: HandlerRegistration[] = [];
  #signal: AbortSignal | undefined;
  #running = false;
  #stopped = false;

  constructor(options: MetacontrollerOptions = {}) {
    this.#options = options;
  }

  /** @internal Creates the informers of the controller objects (before the caches start). */
  setup(context: RunnableContext): void {
    const selection = this.#options.targetLabelSelector
      ? { labelSelector: this.#options.targetLabelSelector }
      : {};
    this.#informers = [
      context.informers.informer(CompositeControllerType as ResourceType, selection),
      context.informers.informer(DecoratorControllerType as ResourceType, selection),
    ];
    const recorder = new EventRecorder({
      ...context.events,
      client: context.client,
      controller: "metacontroller",
      onError: (error) => context.logger.debug({ err: error }, "could not record an event"),
    });
    this.#context = {
      client: context.client,
      informers: context.informers,
      logger: context.logger,
      recorder,
      serviceAccess: this.#options.serviceAccess ?? defaultServiceAccess(),
      fieldManager: this.#options.fieldManager ?? "metacontroller",
      workers: this.#options.workers ?? 16,
      resyncPeriodMs: this.#options.resyncPeriodMs ?? 30 * 60_000,
      instrumentation: (name) => context.instrumentation(name, this.#options.workers ?? 16),
    };
  }

  /** @internal The running controller for a CompositeController or DecoratorController name. */
  runtime(kind: "CompositeController" | "DecoratorController", name: string): Runtime | undefined {
    return this.#entries.get(`${kind}/${name}`)?.runtime;
  }

  /** @internal Starts running the controllers (on the leader). */
  async start(signal: AbortSignal): Promise<void> {
    if (this.#running || this.#stopped) return;
    // Aborted without a stop: the leadership is gone, stop at once.
    signal.addEventListener("abort", () => void this.stop(0), { once: true });
    this.#running = true;
    this.#signal = signal;
    for (const informer of this.#informers) {
      this.#registrations.push(
        informer.addHandler(
          {
            add: (object, info) => this.#changed(object as AnyController, info.initial),
            update: (_old, object) => this.#changed(object as AnyController, false),
            delete: (object) => this.#deleted(object as AnyController),
          },
          { name: "metacontroller" },
        ),
      );
    }
    await Promise.all(this.#registrations.map((registration) => registration.waitForSync(signal)));
  }

  /**
   * A controller object appeared or changed. `initial`: found when this process started; its
   * start is then not worth an Event (a write on every restart of a converged cluster).
   */
  #changed(controller: AnyController, initial: boolean): void {
    if (this.#stopped) return;
    const id = idOf(controller);
    const entry = this.#entries.get(id);
    if (
      entry &&
      jsonEqual(entry.controller.spec, controller.spec) &&
      entry.controller.metadata.uid === controller.metadata.uid
    ) {
      entry.controller = controller;
      return;
    }
    const next: Entry = entry ?? {
      controller,
      runtime: undefined,
      chain: Promise.resolve(),
      retryTimer: undefined,
      failures: 0,
      announce: !initial,
    };
    next.controller = controller;
    next.failures = 0;
    next.announce = !initial;
    clearTimeout(next.retryTimer);
    this.#entries.set(id, next);
    this.#schedule(next, () => this.#restart(next));
  }

  #deleted(controller: AnyController): void {
    const id = idOf(controller);
    const entry = this.#entries.get(id);
    if (!entry) return;
    this.#entries.delete(id);
    clearTimeout(entry.retryTimer);
    this.#schedule(entry, async () => {
      await this.#stopRuntime(entry, controller);
    });
  }

  #schedule(entry: Entry, step: () => Promise<void>): void {
    entry.chain = entry.chain
      .then(step)
      .catch((error: unknown) =>
        this.#context!.logger.error(
          { err: error, controller: idOf(entry.controller) },
          "controller change failed",
        ),
      );
  }

  async #stopRuntime(entry: Entry, controller: AnyController): Promise<void> {
    const runtime = entry.runtime;
    if (!runtime) return;
    entry.runtime = undefined;
    await runtime.stop(30_000);
    this.#context!.recorder.record(controller, {
      type: "Normal",
      reason: "Stopped",
      message: `Stopped controller: ${controller.metadata.name}`,
      action: "Stop",
    });
    this.#context!.logger.info({ controller: idOf(controller) }, "stopped controller");
  }

  async #restart(entry: Entry): Promise<void> {
    if (this.#stopped || this.#entries.get(idOf(entry.controller)) !== entry) return;
    await this.#stopRuntime(entry, entry.controller);
    const context = this.#context!;
    const controller = entry.controller;
    const runtime =
      controller.kind === "CompositeController"
        ? new CompositeRuntime(controller as CompositeController, context)
        : new DecoratorRuntime(controller as DecoratorController, context);
    entry.runtime = runtime;
    try {
      const started = runtime.start(this.#signal);
      // The controller counts as started once its workers may run; its caches fill meanwhile.
      await started;
      entry.failures = 0;
      context.logger.info({ controller: idOf(controller) }, "started controller");
      if (entry.announce) {
        context.recorder.record(controller, {
          type: "Normal",
          reason: "Started",
          message: `Started controller: ${controller.metadata.name}`,
          action: "Start",
        });
      }
    } catch (error) {
      entry.runtime = undefined;
      await runtime.stop(0).catch(() => {});
      if (this.#stopped || this.#signal?.aborted) return;
      const reason = error instanceof ControllerStartError ? error.reason : "CreateError";
      const message =
        reason === "CreateError"
          ? `Cannot create new controller: ${error instanceof Error ? error.message : String(error)}`
          : error instanceof Error
            ? error.message
            : String(error);
      context.recorder.record(controller, { type: "Warning", reason, message, action: "Start" });
      entry.failures++;
      const base = this.#options.retryStartMs ?? 5_000;
      const delay = Math.min(base * 2 ** (entry.failures - 1), 5 * 60_000);
      context.logger.warn(
        { controller: idOf(controller), retryInMs: delay },
        `controller ${idOf(controller)} could not start: ${message}`,
      );
      entry.retryTimer = setTimeout(() => this.#schedule(entry, () => this.#restart(entry)), delay);
      entry.retryTimer.unref();
    }
  }

  /** @internal Stops the controllers; running syncs get `graceMs` to finish. */
  async stop(graceMs: number): Promise<void> {
    await this.#shutdown(graceMs);
  }

  async #shutdown(timeoutMs: number): Promise<boolean> {
    if (this.#stopped) return true;
    this.#stopped = true;
    for (const registration of this.#registrations) registration.remove();
    const entries = [...this.#entries.values()];
    for (const entry of entries) clearTimeout(entry.retryTimer);
    const results = await Promise.all(
      entries.map(async (entry) => {
        // Stopping a runtime also ends a start still waiting for its caches.
        const drained = (await entry.runtime?.stop(timeoutMs)) ?? true;
        await Promise.race([
          entry.chain,
          new Promise((resolve) => setTimeout(resolve, 1_000).unref()),
        ]);
        return drained && ((await entry.runtime?.stop(timeoutMs)) ?? true);
      }),
    );
    await this.#context?.recorder.flush();
    return results.every(Boolean);
  }
}
