/**
 * The arithmetic behind docs/scaling.md: memory, CPU and API server load of a sharded operator
 * at N parents on R replicas, from figures measured with
 * `npm run bench -- --scenario shards --parents <N>`. Put your own figures in `measured` (or
 * pass them to `plan`) and run it again:
 *
 *   node docs/samples/scaling-model.ts 100000 10
 */

/** What the `shards` benchmark measures; the defaults are a 10,000-parent run on a quiet 2-core machine. */
export interface Measured {
  /** Steady RSS of a replica with no parents (Node, Operon, its clients), MiB. */
  idleRssMiB: number;
  /** Steady RSS above idle per parent with its children, cached by one replica, KiB. */
  kibPerParent: number;
  /** The coordinator's extra RSS per parent (the metadata of every parent), KiB. */
  coordinatorKibPerParent: number;
  /** Operator CPU per parent on a cold converge (sync, diff, apply, status), ms. */
  cpuMsPerParent: number;
  /** Writes the API server took per second while one replica converged. */
  apiWritesPerSecond: number;
  /** Writes of a cold parent: its children, its status, an Event. */
  writesPerParent: number;
  /** Children per parent. */
  childrenPerParent: number;
  /** Mean stored size (JSON, with managedFields) of a parent and of a child, bytes. */
  parentBytes: number;
  childBytes: number;
}

export const measured: Measured = {
  idleRssMiB: 106,
  // (217 MiB single replica at 10,000 parents - 106 MiB idle) / 10,000
  kibPerParent: 11.4,
  // coordinator 211 MiB - the other two replicas' mean 144.5 MiB, over 10,000 parents
  coordinatorKibPerParent: 6.8,
  // 12.4 CPU s for the single replica's converge of 10,000 parents (start-up included)
  cpuMsPerParent: 1.25,
  // 10,000 parents × 3 writes (ConfigMap, Secret, status; Normal Events are thinned) in 39.7 s
  apiWritesPerSecond: 756,
  writesPerParent: 3,
  childrenPerParent: 2,
  parentBytes: 1_471,
  childBytes: 1_163,
};

/** etcd's default storage quota (`--quota-backend-bytes`), and the largest it recommends. */
export const etcdDefaultQuotaGiB = 2;
export const etcdRecommendedMaxGiB = 8;
/** Operon's default resync period. */
export const resyncSeconds = 600;
/** The most loaded member holds at most this × the average (the ring's bound, ring.test.ts). */
export const ringImbalance = 1.15;

/** What N parents on R replicas come to. */
export interface Plan {
  parents: number;
  replicas: number;
  /** RSS of the most loaded member, MiB (the coordinator adds `coordinatorExtraMiB`). */
  memberRssMiB: number;
  coordinatorExtraMiB: number;
  /** Cold converge time if the API server is the limit (every replica starts at once), minutes. */
  convergeApiMinutes: number;
  /** Cold converge time if the operators' CPU is the limit (one core each), minutes. */
  convergeCpuMinutes: number;
  /** CPU of each member for the periodic resync (no writes when nothing changed), cores. */
  resyncCores: number;
  /** What etcd stores for the parents and children, GiB. */
  etcdGiB: number;
  /** Parents that move when one more replica joins, and the writes that takes. */
  joinMoves: number;
  joinWrites: number;
}

/**
 * N parents on R replicas, from the measured figures.
 *
 * @example
 * plan(100_000, 10).memberRssMiB; // the most loaded of ten replicas
 */
export function plan(parents: number, replicas: number, figures: Measured = measured): Plan {
  const share = replicas === 1 ? parents : (parents / replicas) * ringImbalance;
  const sharded = replicas > 1;
  // Sharded: one more write per parent (its assignment).
  const writes = parents * (figures.writesPerParent + (sharded ? 1 : 0));
  // A move: drain, release, assign (three parent label writes), and one relabel per child.
  const writesPerMove = 3 + figures.childrenPerParent;
  const joinMoves = Math.round(parents / (replicas + 1));
  return {
    parents,
    replicas,
    memberRssMiB: figures.idleRssMiB + (share * figures.kibPerParent) / 1024,
    coordinatorExtraMiB: sharded ? (parents * figures.coordinatorKibPerParent) / 1024 : 0,
    convergeApiMinutes: writes / figures.apiWritesPerSecond / 60,
    convergeCpuMinutes: (share * figures.cpuMsPerParent) / 1000 / 60,
    resyncCores: (share / resyncSeconds) * (figures.cpuMsPerParent / 1000),
    etcdGiB:
      (parents * (figures.parentBytes + figures.childrenPerParent * figures.childBytes)) / 2 ** 30,
    joinMoves,
    joinWrites: joinMoves * writesPerMove,
  };
}

/** The table of docs/scaling.md. */
export function table(cases: readonly [number, number][], figures: Measured = measured): string {
  const rows = [
    "| parents | replicas | member RSS MiB | + coordinator MiB | converge, API-bound min | converge, CPU-bound min | resync cores per member | etcd GiB | a join moves | its writes |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  const n = (value: number, digits = 0) =>
    value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
  for (const [parents, replicas] of cases) {
    const p = plan(parents, replicas, figures);
    rows.push(
      `| ${n(parents)} | ${replicas} | ${n(p.memberRssMiB)} | ${n(p.coordinatorExtraMiB)} | ${n(p.convergeApiMinutes, 1)} | ${n(p.convergeCpuMinutes, 1)} | ${n(p.resyncCores, 3)} | ${n(p.etcdGiB, 2)} | ${n(p.joinMoves)} | ${n(p.joinWrites)} |`,
    );
  }
  return rows.join("\n");
}

/** The cases docs/scaling.md shows. */
export const documentedCases: [number, number][] = [
  [10_000, 1],
  [10_000, 3],
  [100_000, 1],
  [100_000, 10],
  [1_000_000, 10],
  [1_000_000, 50],
];

if (import.meta.main) {
  const [parents, replicas] = process.argv.slice(2).map(Number);
  process.stdout.write(`${table(parents && replicas ? [[parents, replicas]] : documentedCases)}\n`);
}
