/**
 * The consistent-hash ring that maps parent keys to shard members. Each member is placed on a
 * 48-bit circle at many points (virtual nodes), each point the hash of `<member>#<i>`; a key
 * belongs to the member of the first point at or after the key's hash, going round. With enough
 * points per member the arcs even out, so members hold about the same number of keys, and a
 * member that joins or leaves takes or gives up only the keys of its own arcs: about 1/N of them.
 *
 * The ring depends only on the member names, so every replica that knows the members computes the
 * same assignment.
 *
 * @module
 */
import { hash } from "node:crypto";

/**
 * Points per member. The load of a member is the sum of its arcs, whose spread shrinks with the
 * square root of the points: at 1,000 the most loaded of 50 members holds about 1.1 × the
 * average (at 100 it would be up to 1.35 ×; see ring.test.ts), and a ring of 50 members (50,000
 * points) still builds in well under a second. Only the coordinator builds it, once per change of
 * members.
 */
export const DEFAULT_VIRTUAL_NODES = 1_000;

/**
 * A 48-bit position on the ring (exact in a double): the first six bytes of the key's SHA-1.
 * Stable across processes, versions and platforms, which is all the ring needs of it.
 */
export function ringPosition(value: string): number {
  return hash("sha1", value, "buffer").readUIntBE(0, 6);
}

/**
 * An immutable ring of members.
 *
 * @example
 * const ring = new HashRing(["replica-a", "replica-b", "replica-c"]);
 * ring.owner("default/my-app"); // one of the three, the same on every replica
 */
export class HashRing {
  /** The members, sorted. */
  readonly members: readonly string[];
  readonly virtualNodes: number;
  readonly #positions: Float64Array;
  /** The member of each position, as an index into `members`. */
  readonly #owners: Uint32Array;

  constructor(members: Iterable<string>, virtualNodes = DEFAULT_VIRTUAL_NODES) {
    if (!Number.isInteger(virtualNodes) || virtualNodes < 1)
      throw new RangeError(`virtualNodes must be a positive integer, got ${virtualNodes}`);
    this.members = [...new Set(members)].sort();
    this.virtualNodes = virtualNodes;
    const count = this.members.length * virtualNodes;
    const points: { position: number; owner: number }[] = new Array(count);
    let n = 0;
    this.members.forEach((member, owner) => {
      for (let i = 0; i < virtualNodes; i++)
        points[n++] = { position: ringPosition(`${member}#${i}`), owner };
    });
    // Ties (two points at one position) go to the member that sorts first, on every replica.
    points.sort((a, b) => a.position - b.position || a.owner - b.owner);
    this.#positions = new Float64Array(count);
    this.#owners = new Uint32Array(count);
    points.forEach((point, i) => {
      this.#positions[i] = point.position;
      this.#owners[i] = point.owner;
    });
  }

  get size(): number {
    return this.members.length;
  }

  /** Whether `member` is on the ring. */
  has(member: string): boolean {
    return this.members.includes(member);
  }

  /** The member `key` belongs to, or `undefined` on an empty ring. */
  owner(key: string): string | undefined {
    const positions = this.#positions;
    if (positions.length === 0) return undefined;
    const at = ringPosition(key);
    // The first point at or after `at`; past the last point, the ring wraps to the first.
    let low = 0;
    let high = positions.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (positions[middle]! < at) low = middle + 1;
      else high = middle;
    }
    return this.members[this.#owners[low === positions.length ? 0 : low]!];
  }

  /** Whether another ring has the same members (and so maps every key the same way). */
  sameMembers(other: HashRing | undefined): boolean {
    return (
      other !== undefined &&
      other.virtualNodes === this.virtualNodes &&
      other.members.length === this.members.length &&
      other.members.every((member, i) => member === this.members[i])
    );
  }
}
