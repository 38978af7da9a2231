/**
 * The client-node peer of the benchmark: the same BenchParent semantics as
 * bench/operon-operator.ts, written the way a TypeScript user writes an operator today without
 * Operon, with @kubernetes/client-node alone:
 *
 * - one informer (`makeInformer`) each on BenchParents, ConfigMaps and Secrets in every namespace,
 *   restarted after an error as the library's README shows;
 * - a work queue keyed by parent (`namespace/name`): a key is queued once however many events
 *   arrive, never reconciled twice at once, retried with exponential backoff after a failure;
 * - children written create-or-update against the informers' caches (create when missing,
 *   replace when the data, labels or controller ownerReference differ, nothing otherwise);
 * - the status written with a merge patch of `/status` when it differs from the cached parent's.
 *
 * It loads nothing from Operon. Environment:
 *
 *   KUBECONFIG              the cluster
 *   BENCH_CONCURRENCY       parents reconciled at once (default 1: one worker drains the queue)
 *   BENCH_EXPECT_PARENTS    print BENCH_READY once that many parents reconciled once
 *
 *   node bench/peers/client-node/operator.ts
 */
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  type V1ConfigMap,
  type V1ObjectMeta,
  type V1OwnerReference,
  type V1Secret,
} from "@kubernetes/client-node";
import { ReadyMarker } from "../../ready-marker.ts";

const group = "bench.operon.dev";
const version = "v1";
const plural = "benchparents";
const kind = "BenchParent";
const parentLabel = "bench.operon.dev/parent";
const synced = {
  type: "Synced",
  status: "True",
  reason: "Synced",
  message: "children and status are up to date",
};

interface Condition {
  type: string;
  status: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

interface BenchParentStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  children?: number;
  configMap?: string;
  secret?: string;
}

interface BenchParent extends KubernetesObject {
  metadata: V1ObjectMeta;
  spec: { value: string; tier?: string };
  status?: BenchParentStatus;
}

const concurrency = Number(process.env.BENCH_CONCURRENCY ?? "") || 1;
const ready = new ReadyMarker(Number(process.env.BENCH_EXPECT_PARENTS ?? "") || 0);

const config = new KubeConfig();
config.loadFromDefault();
const core = config.makeApiClient(CoreV1Api);
const custom = config.makeApiClient(CustomObjectsApi);

const parents = makeInformer<BenchParent>(
  config,
  `/apis/${group}/${version}/${plural}`,
  () =>
    custom.listClusterCustomObject({ group, version, plural }) as Promise<
      KubernetesListObject<BenchParent>
    >,
);
const configMaps = makeInformer<V1ConfigMap>(config, "/api/v1/configmaps", () =>
  core.listConfigMapForAllNamespaces(),
);
const secrets = makeInformer<V1Secret>(config, "/api/v1/secrets", () =>
  core.listSecretForAllNamespaces(),
);

// -- the queue -------------------------------------------------------------------------------------

/** Keys waiting, in arrival order (a Set keeps each once). */
const waiting = new Set<string>();
/** Keys being reconciled; a key queued meanwhile runs again afterwards. */
const active = new Set<string>();
const failures = new Map<string, number>();
let started = false;
let idleWorkers: (() => void)[] = [];

function enqueue(key: string): void {
  waiting.add(key);
  const wake = idleWorkers;
  idleWorkers = [];
  for (const resume of wake) resume();
}

function next(): string | undefined {
  for (const key of waiting) {
    if (active.has(key)) continue;
    waiting.delete(key);
    return key;
  }
  return undefined;
}

async function worker(): Promise<void> {
  for (;;) {
    const key = next();
    if (key === undefined) {
      await new Promise<void>((resume) => idleWorkers.push(resume));
      continue;
    }
    active.add(key);
    try {
      await reconcile(key);
      failures.delete(key);
    } catch (error) {
      // 5 ms doubling up to 1000 s, as client-go's per-item backoff.
      const attempt = (failures.get(key) ?? 0) + 1;
      failures.set(key, attempt);
      const delay = Math.min(5 * 2 ** (attempt - 1), 1_000_000);
      process.stderr.write(`reconcile ${key} failed (retry in ${delay} ms): ${describe(error)}\n`);
      setTimeout(() => enqueue(key), delay).unref();
    } finally {
      active.delete(key);
      if (waiting.has(key)) enqueue(key);
    }
  }
}

function describe(error: unknown): string {
  const code = (error as { code?: number }).code;
  const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
  return code ? `${code} ${message}` : String(message);
}

// -- reconcile -------------------------------------------------------------------------------------

function ownerOf(parent: BenchParent): V1OwnerReference {
  return {
    apiVersion: `${group}/${version}`,
    kind,
    name: parent.metadata.name!,
    uid: parent.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

function sameRecord(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  const keys = Object.keys(b);
  return (
    a !== undefined &&
    Object.keys(a).length === keys.length &&
    keys.every((key) => a[key] === b[key])
  );
}

function ownedBy(meta: V1ObjectMeta, owner: V1OwnerReference): boolean {
  return (
    meta.ownerReferences?.some((ref) => ref.controller && ref.uid === owner.uid) === true &&
    meta.labels?.[parentLabel] === owner.name
  );
}

async function ensureConfigMap(parent: BenchParent, owner: V1OwnerReference): Promise<string> {
  const namespace = parent.metadata.namespace!;
  const name = `${parent.metadata.name}-config`;
  const data = { value: parent.spec.value, tier: parent.spec.tier ?? "standard" };
  const existing = configMaps.get(name, namespace);
  if (!existing) {
    await core.createNamespacedConfigMap({
      namespace,
      body: {
        metadata: {
          name,
          namespace,
          labels: { [parentLabel]: owner.name },
          ownerReferences: [owner],
        },
        data,
      },
    });
  } else if (!sameRecord(existing.data, data) || !ownedBy(existing.metadata!, owner)) {
    await core.replaceNamespacedConfigMap({
      name,
      namespace,
      body: {
        ...existing,
        metadata: {
          ...existing.metadata,
          labels: { ...existing.metadata?.labels, [parentLabel]: owner.name },
          ownerReferences: [owner],
        },
        data,
      },
    });
  }
  return name;
}

async function ensureSecret(parent: BenchParent, owner: V1OwnerReference): Promise<string> {
  const namespace = parent.metadata.namespace!;
  const name = `${parent.metadata.name}-secret`;
  const data = { value: Buffer.from(parent.spec.value).toString("base64") };
  const existing = secrets.get(name, namespace);
  if (!existing) {
    await core.createNamespacedSecret({
      namespace,
      body: {
        metadata: {
          name,
          namespace,
          labels: { [parentLabel]: owner.name },
          ownerReferences: [owner],
        },
        type: "Opaque",
        data,
      },
    });
  } else if (!sameRecord(existing.data, data) || !ownedBy(existing.metadata!, owner)) {
    await core.replaceNamespacedSecret({
      name,
      namespace,
      body: {
        ...existing,
        metadata: {
          ...existing.metadata,
          labels: { ...existing.metadata?.labels, [parentLabel]: owner.name },
          ownerReferences: [owner],
        },
        data,
      },
    });
  }
  return name;
}

function statusUpToDate(current: BenchParentStatus | undefined, want: BenchParentStatus): boolean {
  const condition = current?.conditions?.find((c) => c.type === synced.type);
  return (
    current?.observedGeneration === want.observedGeneration &&
    current?.children === want.children &&
    current?.configMap === want.configMap &&
    current?.secret === want.secret &&
    condition?.status === synced.status &&
    condition.reason === synced.reason &&
    condition.message === synced.message &&
    condition.observedGeneration === want.observedGeneration
  );
}

async function reconcile(key: string): Promise<void> {
  const [namespace, name] = key.split("/") as [string, string];
  const parent = parents.get(name, namespace);
  if (!parent || parent.metadata.deletionTimestamp) return;
  const owner = ownerOf(parent);
  const configMap = await ensureConfigMap(parent, owner);
  const secret = await ensureSecret(parent, owner);
  const generation = parent.metadata.generation ?? 0;
  const previous = parent.status?.conditions?.find((c) => c.type === synced.type);
  const status: BenchParentStatus = {
    observedGeneration: generation,
    children: 2,
    configMap,
    secret,
    conditions: [
      {
        ...synced,
        observedGeneration: generation,
        lastTransitionTime:
          previous?.status === synced.status && previous.lastTransitionTime
            ? previous.lastTransitionTime
            : new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      },
    ],
  };
  if (!statusUpToDate(parent.status, status)) {
    await custom.patchNamespacedCustomObjectStatus(
      { group, version, plural, namespace, name, body: { status } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
  }
  ready.saw(key);
}

// -- wiring ----------------------------------------------------------------------------------------

const keyOf = (object: KubernetesObject) =>
  `${object.metadata?.namespace}/${object.metadata?.name}`;
const enqueueOwner = (object: KubernetesObject) => {
  const owner = object.metadata?.ownerReferences?.find(
    (ref) => ref.controller && ref.kind === kind && ref.apiVersion === `${group}/${version}`,
  );
  if (owner) enqueue(`${object.metadata?.namespace}/${owner.name}`);
};

parents.on("add", (parent) => enqueue(keyOf(parent)));
parents.on("update", (parent) => enqueue(keyOf(parent)));
for (const event of ["add", "update", "delete"] as const) {
  configMaps.on(event, enqueueOwner);
  secrets.on(event, enqueueOwner);
}
for (const informer of [parents, configMaps, secrets]) {
  // As the library's README: an informer stops on an error, so start it again.
  informer.on("error", (error) => {
    process.stderr.write(`informer error: ${describe(error)}; restarting in 5 s\n`);
    setTimeout(() => void informer.start().catch(() => {}), 5_000);
  });
}

await Promise.all([parents.start(), configMaps.start(), secrets.start()]);
started = true;
for (let index = 0; index < concurrency; index++) void worker();
process.stderr.write(`client-node peer started with ${concurrency} worker(s)\n`);

const stop = async () => {
  if (!started) process.exit(0);
  await Promise.all([parents.stop(), configMaps.stop(), secrets.stop()]);
  process.exit(0);
};
process.once("SIGTERM", () => void stop());
process.once("SIGINT", () => void stop());
