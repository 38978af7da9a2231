/**
 * An OTLP/HTTP trace receiver for the `operon-otel` contender: it accepts every export (protobuf
 * or JSON) and answers success, counting requests and bytes, so the contender pays for making
 * and sending its spans and nothing more. Prints `OTLP_SINK_READY` once listening, and its
 * counts when stopped.
 *
 *   node bench/otlp-sink.ts 127.0.0.1:4318
 */
import { createServer } from "node:http";

const [host = "127.0.0.1", port = "4318"] = (process.argv[2] ?? "").split(":");
let requests = 0;
let bytes = 0;
const server = createServer((request, response) => {
  request.on("data", (chunk: Buffer) => {
    bytes += chunk.length;
  });
  request.on("end", () => {
    requests++;
    const json = (request.headers["content-type"] ?? "").includes("json");
    response.writeHead(200, {
      "content-type": json ? "application/json" : "application/x-protobuf",
    });
    response.end(json ? "{}" : "");
  });
});
server.listen(Number(port), host, () => process.stdout.write("OTLP_SINK_READY\n"));
const stop = () => {
  process.stdout.write(`OTLP sink: ${requests} exports, ${bytes} bytes\n`);
  server.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
