/**
 * The trace over HTTP: the viewer page at `/`, the records as JSON under `/api`, and a stream
 * of new records (server-sent events) for live updates. Read-only (GET only), and served only
 * where asked: `operon dev`, `operon run --trace`, or `traceBindAddress` in code.
 *
 * | path | answers |
 * | --- | --- |
 * | `/` | the viewer (one static page, no build step) |
 * | `/api/parents?operator=&kind=&namespace=` | `{ parents: TraceParent[] }`, most recent first |
 * | `/api/records?key=&operator=&kind=&namespace=&errors=1&churn=1&since=&limit=` | `{ records: TraceRecord[] }`, oldest first |
 * | `/api/records/<reconcileId>` | one `TraceRecord`, or 404 |
 * | `/api/events?since=` | `text/event-stream`: an event `record` per new record (after `since`) |
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TraceQuery, TraceRecord, TraceStore } from "./trace-store.ts";
import { viewerContentSecurityPolicy, viewerPage } from "./viewer-page.ts";

type Handler = (request: IncomingMessage, response: ServerResponse, url: URL) => Promise<void>;

const jsonHeaders = {
  "content-type": "application/json; charset=utf-8",
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
};

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, jsonHeaders);
  response.end(JSON.stringify(body));
}

function numberParam(url: URL, name: string): number | undefined {
  const value = url.searchParams.get(name);
  if (value === null || value === "") return undefined;
  const number = Number(value);
  return Number.isFinite(number) ? number : undefined;
}

function flagParam(url: URL, name: string): boolean {
  const value = url.searchParams.get(name);
  return value !== null && value !== "0" && value !== "false";
}

/** The query a request's parameters describe. */
export function queryOf(url: URL): TraceQuery {
  const query: TraceQuery = {};
  for (const name of ["operator", "key", "kind", "namespace"] as const) {
    const value = url.searchParams.get(name);
    if (value) query[name] = value;
  }
  if (flagParam(url, "errors")) query.errors = true;
  if (flagParam(url, "churn")) query.churn = true;
  const since = numberParam(url, "since");
  if (since !== undefined) query.since = since;
  const limit = numberParam(url, "limit");
  if (limit !== undefined) query.limit = Math.max(0, Math.floor(limit));
  return query;
}

/** The API under `/api`: parents, records, one record, and the live stream. */
function apiHandler(store: TraceStore): Handler {
  return async (request, response, url) => {
    const path = url.pathname.replace(/\/+$/, "");
    if (path === "/api/parents") {
      const { operator, kind, namespace } = queryOf(url);
      sendJson(response, 200, {
        parents: store.parents({
          ...(operator ? { operator } : {}),
          ...(kind ? { kind } : {}),
          ...(namespace ? { namespace } : {}),
        }),
        size: store.size,
        limits: { perParent: store.perParent, total: store.total },
      });
      return;
    }
    if (path === "/api/records") {
      sendJson(response, 200, { records: store.records(queryOf(url)) });
      return;
    }
    if (path.startsWith("/api/records/")) {
      const record = store.record(decodeURIComponent(path.slice("/api/records/".length)));
      if (record) sendJson(response, 200, record);
      else sendJson(response, 404, { error: "no such record (it may have been dropped)" });
      return;
    }
    if (path === "/api/events") {
      stream(store, request, response, url);
      return;
    }
    sendJson(response, 404, { error: `no such path: ${url.pathname}` });
  };
}

/** Server-sent events: every new record, after those since `since` (or `Last-Event-ID`). */
function stream(
  store: TraceStore,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
): void {
  response.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    connection: "keep-alive",
  });
  const send = (record: TraceRecord) => {
    response.write(`id: ${record.seq}\nevent: record\ndata: ${JSON.stringify(record)}\n\n`);
  };
  // Browsers reconnect on their own and say where they were.
  const lastId = Number(request.headers["last-event-id"] ?? Number.NaN);
  const since = Number.isFinite(lastId) ? lastId : numberParam(url, "since");
  if (since !== undefined) for (const record of store.records({ since })) send(record);
  response.write(": connected\n\n");
  const unsubscribe = store.subscribe(send);
  // Proxies and idle timeouts close silent connections.
  const keepAlive = setInterval(() => response.write(": keep-alive\n\n"), 15_000);
  keepAlive.unref();
  const stop = () => {
    clearInterval(keepAlive);
    unsubscribe();
  };
  request.on("close", stop);
  response.on("close", stop);
}

/** Serves the viewer page. */
function pageHandler(): Handler {
  return async (_request, response, url) => {
    if (url.pathname !== "/" && url.pathname !== "/index.html") {
      response.writeHead(404, { "content-type": "text/plain" });
      response.end("not found\n");
      return;
    }
    response.writeHead(200, {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "content-security-policy": viewerContentSecurityPolicy,
    });
    response.end(viewerPage);
  };
}

/**
 * The routes serving a trace store: the viewer at `/` and the JSON API under `/api`, for
 * `serve()`.
 *
 * @example
 * const server = await serve({ host: "127.0.0.1", port: 0 }, traceRoutes(store));
 */
export function traceRoutes(store: TraceStore): Record<string, Handler> {
  return { "/": pageHandler(), "/index.html": pageHandler(), "/api": apiHandler(store) };
}
