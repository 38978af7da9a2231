/**
 * The names sharding writes into the cluster: the label that assigns a parent (and its children)
 * to a member, the label that asks a member to let a parent go, the member Leases and the
 * label that finds them.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";

/**
 * The label that assigns a parent, and each of its children, to a member:
 * `shard.operon.dev/<operator>: <member>`. Each replica watches only its own value.
 *
 * @example
 * shardLabel("greeter"); // "shard.operon.dev/greeter"
 */
export function shardLabel(operator: string): string {
  return `shard.operon.dev/${operator}`;
}

/**
 * The label the coordinator puts on a parent to move it: `drain.shard.operon.dev/<operator>:
 * <next member>`. The member that holds the parent finishes its sync in progress, starts no
 * other, hands the children to the next member and removes both labels; the coordinator then
 * assigns the parent to the next member.
 *
 * @example
 * drainLabel("greeter"); // "drain.shard.operon.dev/greeter"
 */
export function drainLabel(operator: string): string {
  return `drain.shard.operon.dev/${operator}`;
}

/** On member Leases: the operator whose ring they belong to. */
export const ringLabel = "operon.dev/shard-ring";

/** The member Lease of `member` in `operator`'s ring. */
export function memberLeaseName(operator: string, member: string): string {
  return `${operator}-shard-${member}`;
}

/** A label value that is also a DNS label: what a member id must be. */
const memberPattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Throws unless `member` can be a member id: a label value and part of a Lease name, so at most
 * 63 lowercase letters, digits and '-', starting and ending with a letter or digit.
 */
export function validateMemberId(member: string): void {
  if (!memberPattern.test(member) || member.length > 63) {
    throw new RangeError(
      `shard member id "${member}" must be at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit`,
    );
  }
}

/**
 * `<hostname>-<6 hex digits>`: the pod's name where it runs in a cluster (its hostname), made
 * unique per process, so a restarted container is a new member and never mistaken for the one
 * that died.
 *
 * @example
 * defaultMemberId(); // "greeter-7d9f8c6b5-x2x9k-3fa91c"
 */
export function defaultMemberId(host = hostname()): string {
  const base = host
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .slice(0, 56)
    .replace(/^-+|-+$/g, "");
  return `${base || "member"}-${randomBytes(3).toString("hex")}`;
}
