/**
 * `Denied`: the exception a handler throws to refuse a request, so that a check deep inside helper
 * functions can refuse without threading a result back up.
 *
 * @module
 */

import type { FieldCause } from "./types.ts";

/** Options of {@link Denied}. */
export interface DeniedOptions {
  /**
   * HTTP status code the client receives; default 403 (Forbidden). Below 400 is raised to 400 by
   * the API server. With 422 (Invalid) kubectl prints only the causes, not the message.
   */
  code?: number;
  /** The fields at fault, listed after the reason and sent as the Status' causes. */
  causes?: FieldCause[];
  /** Warnings shown to the client along with the refusal. */
  warnings?: string[];
}

/**
 * Refuses the admission request with `reason` (shown to the client after
 * `admission webhook "<name>" denied the request: `).
 *
 * @example
 * validate: ({ object }) => {
 *   if (!object?.data?.owner) throw new Denied("data.owner is required");
 *   if (object.data.owner.length > 63) {
 *     throw new Denied("the owner is invalid", {
 *       causes: [{ field: "data.owner", message: "must be at most 63 characters" }],
 *     });
 *   }
 * }
 */
export class Denied extends Error {
  /** The HTTP status code the client receives. */
  readonly code: number;
  /** Warnings shown to the client along with the refusal. */
  readonly warnings: string[];
  /** The fields at fault. */
  readonly causes: FieldCause[];

  constructor(reason: string, options: DeniedOptions = {}) {
    super(reason);
    this.name = "Denied";
    this.causes = options.causes ?? [];
    this.code = options.code ?? 403;
    this.warnings = options.warnings ?? [];
  }

  /** The reason given to the client (the error's message). */
  get reason(): string {
    return this.message;
  }
}

/** True for a {@link Denied}, also one thrown by another copy of this module. */
export function isDenied(error: unknown): error is Denied {
  return (
    error instanceof Denied ||
    (error instanceof Error &&
      error.name === "Denied" &&
      typeof (error as Denied).code === "number")
  );
}
