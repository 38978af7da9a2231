import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Fifo } from "./fifo.ts";

describe("Fifo", () => {
  it("returns items in insertion order", () => {
    const fifo = new Fifo();
    fifo.push("a");
    fifo.push("b");
    fifo.push("c");
    assert.equal(fifo.length, 3);
    assert.equal(fifo.shift(), "a");
    fifo.push("d");
    assert.deepEqual([fifo.shift(), fifo.shift(), fifo.shift()], ["b", "c", "d"]);
    assert.equal(fifo.shift(), undefined);
    assert.equal(fifo.length, 0);
  });

  it("keeps order across compaction with interleaved pushes and shifts", () => {
    const fifo = new Fifo();
    const out: string[] = [];
    let next = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 300; i++) fifo.push(String(next++));
      for (let i = 0; i < 200; i++) out.push(fifo.shift()!);
    }
    while (fifo.length > 0) out.push(fifo.shift()!);
    assert.equal(out.length, next);
    assert.deepEqual(
      out,
      Array.from({ length: next }, (_, i) => String(i)),
    );
  });

  it("clear empties it", () => {
    const fifo = new Fifo();
    fifo.push("a");
    fifo.clear();
    assert.equal(fifo.length, 0);
    assert.equal(fifo.shift(), undefined);
  });
});
