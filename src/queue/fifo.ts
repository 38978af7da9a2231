/**
 * A first-in first-out list of strings with O(1) push and shift.
 *
 * @module
 */

/**
 * A FIFO backed by an array and a moving head. `Array.prototype.shift` is O(n), which adds up
 * when tens of thousands of keys are queued at once (a full resync); here the consumed prefix is
 * dropped only once it is at least half of the array, so each item is copied O(1) times.
 */
export class Fifo {
  #items: string[] = [];
  #head = 0;

  /** The number of items waiting. */
  get length(): number {
    return this.#items.length - this.#head;
  }

  /** Appends `item` at the back. */
  push(item: string): void {
    this.#items.push(item);
  }

  /** Removes and returns the front item, or `undefined` when empty. */
  shift(): string | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head++];
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** Removes every item. */
  clear(): void {
    this.#items = [];
    this.#head = 0;
  }
}
