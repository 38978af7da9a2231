/**
 * The ordered set of keys waiting for a future time, behind a single timer.
 *
 * @module
 */

interface Slot {
  key: string;
  at: number;
  /** Tie-breaker so keys due at the same instant come out in the order they were scheduled. */
  seq: number;
}

/**
 * A binary min-heap of keys ordered by due time, holding each key at most once.
 *
 * Scheduling a key that is already present keeps the earlier of the two times, which is the
 * "earliest request wins" rule of the work queue. An index from key to heap position makes
 * reschedule and removal O(log n), so the queue can use one timer for all delayed keys (armed
 * for {@link DelayHeap.nextAt}) instead of one timer per key.
 */
export class DelayHeap {
  #slots: Slot[] = [];
  #index = new Map<string, number>();
  #seq = 0;

  /** The number of keys waiting. */
  get size(): number {
    return this.#slots.length;
  }

  /** Whether `key` is waiting. */
  has(key: string): boolean {
    return this.#index.has(key);
  }

  /** When `key` falls due, or `undefined` when it is not waiting. */
  dueAt(key: string): number | undefined {
    const i = this.#index.get(key);
    return i === undefined ? undefined : this.#slots[i]!.at;
  }

  /** The earliest due time, or `undefined` when empty. */
  nextAt(): number | undefined {
    return this.#slots[0]?.at;
  }

  /**
   * Makes `key` due at `at`, unless it is already due no later than that.
   *
   * @returns `true` when the key was added or moved earlier, `false` when an earlier or equal
   *   time was already set.
   */
  schedule(key: string, at: number): boolean {
    const i = this.#index.get(key);
    if (i === undefined) {
      const slot = { key, at, seq: this.#seq++ };
      this.#slots.push(slot);
      this.#index.set(key, this.#slots.length - 1);
      this.#up(this.#slots.length - 1);
      return true;
    }
    const slot = this.#slots[i]!;
    if (slot.at <= at) return false;
    slot.at = at;
    slot.seq = this.#seq++;
    this.#up(i);
    return true;
  }

  /** Removes `key`. @returns whether it was waiting. */
  remove(key: string): boolean {
    const i = this.#index.get(key);
    if (i === undefined) return false;
    this.#removeAt(i);
    return true;
  }

  /** Removes and returns the earliest key if it is due at or before `now`. */
  popDue(now: number): string | undefined {
    const top = this.#slots[0];
    if (top === undefined || top.at > now) return undefined;
    this.#removeAt(0);
    return top.key;
  }

  /** Removes every key. */
  clear(): void {
    this.#slots = [];
    this.#index.clear();
  }

  #removeAt(i: number): void {
    const slots = this.#slots;
    const removed = slots[i]!;
    const last = slots.pop()!;
    this.#index.delete(removed.key);
    if (i === slots.length) return;
    slots[i] = last;
    this.#index.set(last.key, i);
    // The moved slot may belong either above or below its new position.
    this.#up(i);
    this.#down(this.#index.get(last.key)!);
  }

  #less(a: Slot, b: Slot): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  #swap(i: number, j: number): void {
    const slots = this.#slots;
    const a = slots[i]!;
    const b = slots[j]!;
    slots[i] = b;
    slots[j] = a;
    this.#index.set(b.key, i);
    this.#index.set(a.key, j);
  }

  #up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(this.#slots[i]!, this.#slots[parent]!)) return;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(i: number): void {
    const n = this.#slots.length;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < n && this.#less(this.#slots[left]!, this.#slots[least]!)) least = left;
      if (right < n && this.#less(this.#slots[right]!, this.#slots[least]!)) least = right;
      if (least === i) return;
      this.#swap(i, least);
      i = least;
    }
  }
}
