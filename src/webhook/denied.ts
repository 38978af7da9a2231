/**
 * `Denied`: the exception a handler throws to refuse a request, so that a check deep inside helper
 * functions can refuse without threading a result back up.
 *
 * @module
 */

/** Options of {@link Denied}. */
export interface DeniedOptions {
  /** HTTP status code the client receives; default 403 (Forbidden). Below 400 is raised to 400 by the API server. */
  code?: number;
  /** Warnings shown to the client along with the refusal. */
  warnings?: string[];
}

/**
 * Refuses the admission request with `reason` (shown to the client after
 * `admission webhook "<name>" denied the request: `).
 *
 * @example
 * validate: ({ object }) => {
 *   if (!object?.data?.owner) throw new Denied("data.owner is required", { code: 422 });
 * }
 */
export class Denied extends Error {
  readonly code: number;
  readonly warnings: string[];

  constructor(reason: string, options: DeniedOptions = {}) {
    super(reason);
    this.name = "Denied";
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
