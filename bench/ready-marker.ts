/**
 * Tells the harness, on stdout, when an operator has had its first sync of every parent: the
 * restart scenario's "ready". The line is printed on the next turn of the event loop after the
 * last first sync, so that the (write-free, on a converged state) rest of that reconcile is done.
 */
export const readyLine = "BENCH_READY";

export class ReadyMarker {
  readonly #expected: number;
  readonly #seen = new Set<string>();
  #printed = false;

  constructor(expected: number) {
    this.#expected = expected;
  }

  saw(key: string): void {
    if (this.#printed || this.#expected <= 0) return;
    this.#seen.add(key);
    if (this.#seen.size < this.#expected) return;
    this.#printed = true;
    this.#seen.clear();
    setImmediate(() => process.stdout.write(`${readyLine}\n`));
  }
}
