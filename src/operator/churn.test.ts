import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { KubeObject } from "../resources/object.ts";
import {
  ChurnDetector,
  type ChurnObservation,
  fingerprintInputs,
  fingerprintOutput,
} from "./churn.ts";

const parent: KubeObject = {
  apiVersion: "example.com/v1",
  kind: "Chain",
  metadata: { name: "p", namespace: "ns", uid: "p-uid", generation: 1, resourceVersion: "1" },
  spec: { length: 12 },
};

function configMap(name: string, resourceVersion: string, data: Record<string, string> = {}) {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, namespace: "ns", uid: `${name}-uid`, resourceVersion },
    data,
  } satisfies KubeObject;
}

/** A cluster in miniature: children by name, and which states Operon itself wrote. */
class World {
  children = new Map<string, KubeObject>();
  own = new Set<string>();
  #version = 100;

  /** Operon writes a child: its new state is Operon's own. */
  write(name: string, data: Record<string, string> = {}): void {
    const child = configMap(name, String(this.#version++), data);
    this.children.set(name, child);
    this.own.add(`${child.metadata.uid}@${child.metadata.resourceVersion}`);
  }

  /** Someone else changes a child (a kubelet, a controller). */
  touch(name: string): void {
    const child = this.children.get(name)!;
    this.children.set(name, configMap(name, String(this.#version++), child.data as never));
  }

  remove(name: string): void {
    this.children.delete(name);
  }

  inputs(parentObject = parent) {
    return fingerprintInputs({
      parent: parentObject,
      children: this.children.values(),
      related: {},
      isOwnState: (child) =>
        this.own.has(`${child.metadata.uid}@${child.metadata.resourceVersion}`),
    });
  }
}

function round(
  world: World,
  output: { children: string[]; status?: Record<string, unknown> },
  pruned: string[] = [],
): ChurnObservation {
  return {
    inputs: world.inputs(),
    output: fingerprintOutput(output.children, output.status),
    pruned,
    changed: output.children,
  };
}

describe("ChurnDetector", () => {
  it("never flags a chain that creates one child per round, each after the previous exists", () => {
    const detector = new ChurnDetector({ threshold: 2 });
    const world = new World();
    for (let step = 0; step < 12; step++) {
      const desired = Array.from({ length: step + 1 }, (_, i) => `cm-${i}`);
      const verdict = detector.observe(
        "ns/p",
        round(world, { children: desired, status: { step } }),
      );
      assert.equal(verdict, undefined, `step ${step}`);
      world.write(`cm-${step}`);
    }
  });

  it("never flags an ordered start driven by the children's own state", () => {
    const detector = new ChurnDetector({ threshold: 2 });
    const world = new World();
    world.write("pod-0");
    for (let step = 1; step < 12; step++) {
      world.touch(`pod-${step - 1}`); // becomes ready: someone else's change
      const desired = Array.from({ length: step + 1 }, (_, i) => `pod-${i}`);
      assert.equal(detector.observe("ns/p", round(world, { children: desired })), undefined);
      world.write(`pod-${step}`);
    }
  });

  it("flags a result that changes on every round while nothing it reads changed", () => {
    const detector = new ChurnDetector({ threshold: 4, baseDelayMs: 1_000 });
    const world = new World();
    const verdicts = [];
    for (let i = 0; i < 7; i++) {
      const stamp = `2030-01-01T00:00:0${i}Z`;
      verdicts.push(detector.observe("ns/p", round(world, { children: [`cm@${stamp}`] })));
      world.write("cm", { time: stamp });
    }
    // The first round has nothing to compare with; the second sees the first child appear.
    assert.deepEqual(
      verdicts.map((verdict) => verdict?.rounds),
      [undefined, undefined, undefined, undefined, undefined, 4, 5],
    );
    assert.equal(verdicts[5]?.delayMs, 1_000);
    assert.equal(verdicts[6]?.delayMs, 2_000);
    assert.match(verdicts[6]!.message, /different result on every call/);
  });

  it("flags a status that changes on every round", () => {
    const detector = new ChurnDetector({ threshold: 3 });
    const world = new World();
    let verdict: unknown;
    for (let i = 0; i < 4; i++) {
      verdict = detector.observe("ns/p", round(world, { children: [], status: { seen: i } }));
    }
    assert.ok(verdict);
  });

  it("ignores a condition's lastTransitionTime, which Operon keeps", () => {
    const detector = new ChurnDetector({ threshold: 2 });
    const world = new World();
    for (let i = 0; i < 5; i++) {
      const status = {
        conditions: [{ type: "Ready", status: "True", lastTransitionTime: `t${i}` }],
      };
      assert.equal(detector.observe("ns/p", round(world, { children: [], status })), undefined);
    }
  });

  it("flags a random name replaced on every round", () => {
    const detector = new ChurnDetector({ threshold: 3 });
    const world = new World();
    let previous: string | undefined;
    let verdict: unknown;
    for (let i = 0; i < 5; i++) {
      const name = `random-${i}`;
      verdict = detector.observe(
        "ns/p",
        round(world, { children: [name] }, previous ? [previous] : []),
      );
      if (previous) world.remove(previous);
      world.write(name);
      previous = name;
    }
    assert.ok(verdict);
  });

  it("starts over when someone else changes an input", () => {
    const detector = new ChurnDetector({ threshold: 3 });
    const world = new World();
    world.write("cm");
    for (let i = 0; i < 10; i++) {
      if (i % 2 === 0) world.touch("cm");
      const verdict = detector.observe("ns/p", round(world, { children: [`cm-${i}`] }));
      assert.equal(verdict, undefined);
      world.write("cm");
    }
  });

  it("holds a slowed-down parent against its children's events but not against the parent's", () => {
    let now = 0;
    const detector = new ChurnDetector({ threshold: 1, baseDelayMs: 1_000, now: () => now });
    const world = new World();
    world.write("a");
    detector.observe("ns/p", round(world, { children: ["a"] }));
    assert.ok(detector.observe("ns/p", round(world, { children: ["b"] })));
    assert.equal(detector.holdRemaining("ns/p", new Set(["own-write"])), 1_000);
    now = 400;
    assert.equal(detector.holdRemaining("ns/p", new Set(["resync"])), 600);
    assert.equal(detector.holdRemaining("ns/p", new Set(["owned-changed"])), 600);
    assert.equal(detector.holdRemaining("ns/p", new Set(["primary-changed"])), 0);
    now = 1_000;
    assert.equal(detector.holdRemaining("ns/p", new Set(["own-write"])), 0);
  });

  it("sees a change of the parent's spec but not of its status", () => {
    const world = new World();
    const base = world.inputs();
    assert.equal(
      world.inputs({
        ...parent,
        status: { x: 1 },
        metadata: { ...parent.metadata, resourceVersion: "9" },
      }).parent,
      base.parent,
    );
    assert.notEqual(
      world.inputs({
        ...parent,
        spec: { length: 13 },
        metadata: { ...parent.metadata, generation: 2 },
      }).parent,
      base.parent,
    );
  });
});
