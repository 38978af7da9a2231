import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, test } from "node:test";
import { ConnectionError, GoneError, isGone, KubeError, NotFoundError } from "./errors.ts";
import {
  isInitialEventsEnd,
  NdjsonParser,
  toWatchEvent,
  type WatchEvent,
  WatchStream,
  watchQuery,
} from "./watch.ts";

const describeWatch = { verb: "watch", resource: "configmaps", group: "", namespace: "ns" };

const events = [
  {
    type: "ADDED",
    object: {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "a", resourceVersion: "10" },
      data: { text: "héllo wörld ✓ 🚀" },
    },
  },
  {
    type: "MODIFIED",
    object: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a", resourceVersion: "11" } },
  },
  {
    type: "BOOKMARK",
    object: { apiVersion: "v1", kind: "ConfigMap", metadata: { resourceVersion: "12" } },
  },
  {
    type: "DELETED",
    object: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a", resourceVersion: "13" } },
  },
];
const wire = Buffer.from(events.map((e) => `${JSON.stringify(e)}\n`).join(""));

describe("NdjsonParser", () => {
  test("whole chunks", () => {
    const parser = new NdjsonParser();
    assert.deepEqual(parser.push(wire), events);
    assert.deepEqual(parser.end(), []);
  });

  test("every split point, including inside multi-byte characters", () => {
    for (let cut = 1; cut < wire.length; cut++) {
      const parser = new NdjsonParser();
      const out = [
        ...parser.push(wire.subarray(0, cut)),
        ...parser.push(wire.subarray(cut)),
        ...parser.end(),
      ];
      assert.deepEqual(out, events, `cut at ${cut}`);
    }
  });

  test("byte by byte, three-way splits", () => {
    const parser = new NdjsonParser();
    const out: unknown[] = [];
    for (let i = 0; i < wire.length; i++) out.push(...parser.push(wire.subarray(i, i + 1)));
    assert.deepEqual(out, events);
    for (let a = 5; a < wire.length; a += 37) {
      for (let b = a + 1; b < wire.length; b += 53) {
        const p = new NdjsonParser();
        const got = [
          ...p.push(wire.subarray(0, a)),
          ...p.push(wire.subarray(a, b)),
          ...p.push(wire.subarray(b)),
        ];
        assert.deepEqual(got, events);
      }
    }
  });

  test("does not keep references to the caller's chunk buffers", () => {
    const parser = new NdjsonParser();
    const chunk = Buffer.from('{"a":');
    parser.push(chunk);
    chunk.fill(0x20);
    assert.deepEqual(parser.push(Buffer.from("1}\n")), [{ a: 1 }]);
  });

  test("blank lines and CRLF are tolerated; a final line without newline is flushed", () => {
    const parser = new NdjsonParser();
    assert.deepEqual(parser.push('\n{"a":1}\r\n\n{"b":2}'), [{ a: 1 }]);
    assert.deepEqual(parser.end(), [{ b: 2 }]);
  });

  test("a line that is not JSON is an error", () => {
    assert.throws(
      () => new NdjsonParser().push("<html>\n"),
      /watch stream line is not JSON: <html>/,
    );
  });
});

describe("toWatchEvent", () => {
  test("typed events", () => {
    const added = toWatchEvent(events[0], describeWatch);
    assert.equal(added.type, "ADDED");
    const bookmark = toWatchEvent(events[2], describeWatch);
    assert.equal(bookmark.type, "BOOKMARK");
  });

  test("an ERROR event with a 410 Status becomes a GoneError", () => {
    const event = toWatchEvent(
      {
        type: "ERROR",
        object: {
          kind: "Status",
          apiVersion: "v1",
          status: "Failure",
          message: "too old resource version: 5 (100)",
          reason: "Expired",
          code: 410,
        },
      },
      describeWatch,
    );
    assert.equal(event.type, "ERROR");
    assert.ok(event.type === "ERROR" && event.error instanceof GoneError);
    assert.ok(
      event.type === "ERROR" &&
        /^watch configmaps in namespace "ns": expired: too old resource version/.test(
          event.error.message,
        ),
    );
  });

  test("malformed events are errors", () => {
    assert.throws(() => toWatchEvent({ object: {} }, describeWatch), KubeError);
    assert.throws(
      () => toWatchEvent({ type: "WHAT", object: {} }, describeWatch),
      /unknown watch event type "WHAT"/,
    );
    assert.throws(() => toWatchEvent({ type: "ADDED" }, describeWatch), /has no object/);
  });

  test("isInitialEventsEnd", () => {
    const end = toWatchEvent(
      {
        type: "BOOKMARK",
        object: {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { resourceVersion: "5", annotations: { "k8s.io/initial-events-end": "true" } },
        },
      },
      describeWatch,
    );
    assert.equal(isInitialEventsEnd(end), true);
    assert.equal(isInitialEventsEnd(toWatchEvent(events[2], describeWatch)), false);
  });
});

describe("watchQuery", () => {
  test("bookmarks on by default; selectors; timeout", () => {
    assert.deepEqual(watchQuery({}), { watch: "true", allowWatchBookmarks: "true" });
    assert.deepEqual(
      watchQuery({
        labelSelector: { app: "web" },
        fieldSelector: "status.phase=Running",
        name: "a",
        resourceVersion: "42",
        timeoutSeconds: 300,
        allowWatchBookmarks: false,
      }),
      {
        watch: "true",
        labelSelector: "app=web",
        fieldSelector: "status.phase=Running,metadata.name=a",
        resourceVersion: "42",
        timeoutSeconds: 300,
      },
    );
  });

  test("sendInitialEvents implies NotOlderThan and bookmarks", () => {
    assert.deepEqual(watchQuery({ sendInitialEvents: true, allowWatchBookmarks: false }), {
      watch: "true",
      sendInitialEvents: "true",
      resourceVersionMatch: "NotOlderThan",
      allowWatchBookmarks: "true",
    });
  });
});

function streamOf(chunks: Array<string | Error>): Readable & { destroyed: boolean } {
  let i = 0;
  return new Readable({
    read() {
      const next = chunks[i++];
      if (next === undefined) this.push(null);
      else if (next instanceof Error) this.destroy(next);
      else this.push(Buffer.from(next));
    },
  });
}

async function collect(stream: WatchStream): Promise<WatchEvent[]> {
  const out: WatchEvent[] = [];
  for await (const e of stream) out.push(e);
  return out;
}

describe("WatchStream", () => {
  test("yields events, tracks the resource version and activity, reports close", async () => {
    let closed = -1;
    const text = wire.toString("utf8");
    const stream = new WatchStream({
      body: streamOf([text.slice(0, 17), text.slice(17, 200), text.slice(200)]),
      describe: describeWatch,
      controller: new AbortController(),
      resourceVersion: "9",
      onClose: (n) => {
        closed = n;
      },
    });
    assert.equal(stream.resourceVersion, "9");
    const got = await collect(stream);
    assert.deepEqual(
      got.map((e) => e.type),
      ["ADDED", "MODIFIED", "BOOKMARK", "DELETED"],
    );
    assert.equal(stream.resourceVersion, "13");
    assert.equal(closed, 4);
    assert.ok(Date.now() - stream.lastActivityAt < 5_000);
    assert.throws(() => stream[Symbol.asyncIterator](), /only once/);
  });

  test("an ERROR event ends iteration with the typed error", async () => {
    const status = {
      kind: "Status",
      apiVersion: "v1",
      code: 410,
      reason: "Expired",
      message: "too old",
    };
    const stream = new WatchStream({
      body: streamOf([
        `${JSON.stringify(events[0])}\n${JSON.stringify({ type: "ERROR", object: status })}\n${JSON.stringify(events[1])}\n`,
      ]),
      describe: describeWatch,
      controller: new AbortController(),
    });
    const seen: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const e of stream) seen.push(e.type);
      })(),
      (err: unknown) => isGone(err),
    );
    assert.deepEqual(seen, ["ADDED"]);
  });

  test("errorEvents: yield delivers the ERROR event, then ends", async () => {
    const status = {
      kind: "Status",
      apiVersion: "v1",
      code: 404,
      reason: "NotFound",
      message: "x",
    };
    const stream = new WatchStream({
      body: streamOf([
        `${JSON.stringify({ type: "ERROR", object: status })}\n${JSON.stringify(events[1])}\n`,
      ]),
      describe: describeWatch,
      controller: new AbortController(),
      errorEvents: "yield",
    });
    const got = await collect(stream);
    assert.equal(got.length, 1);
    assert.ok(got[0]?.type === "ERROR" && got[0].error instanceof NotFoundError);
  });

  test("a broken stream is a ConnectionError; a closed one ends quietly", async () => {
    const broken = new WatchStream({
      body: streamOf([
        `${JSON.stringify(events[0])}\n`,
        Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" }),
      ]),
      describe: describeWatch,
      controller: new AbortController(),
    });
    const seen: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const e of broken) seen.push(e.type);
      })(),
      (err: unknown) =>
        err instanceof ConnectionError &&
        err.errorCode === "UND_ERR_SOCKET" &&
        /watch stream broke/.test(err.message),
    );
    assert.deepEqual(seen, ["ADDED"]);

    const controller = new AbortController();
    const body = new Readable({ read() {} });
    const closing = new WatchStream({ body, describe: describeWatch, controller });
    body.push(`${JSON.stringify(events[0])}\n`);
    const iterated: string[] = [];
    const done = (async () => {
      for await (const e of closing) {
        iterated.push(e.type);
        closing.close();
        body.destroy(new Error("aborted"));
      }
    })();
    await done;
    assert.deepEqual(iterated, ["ADDED"]);
    assert.equal(body.destroyed, true);
  });

  test("breaking out of the loop destroys the body", async () => {
    const body = new Readable({ read() {} });
    body.push(`${JSON.stringify(events[0])}\n`);
    const stream = new WatchStream({
      body,
      describe: describeWatch,
      controller: new AbortController(),
    });
    for await (const _ of stream) break;
    assert.equal(body.destroyed, true);
  });
});
