/**
 * Informer benchmark: initial list+watch time and memory for N ConfigMaps of about 1 KB, Operon's
 * informer against @kubernetes/client-node's, each in its own process, side by side in one run on
 * the same local control plane.
 *
 *   node --conditions=operon-source bench/informer/run.ts [--objects 10000] [--rounds 2]
 */
import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { KubeClient } from "../../src/client/client.ts";
import { ConfigMap } from "../../src/resources/index.ts";
import { startControlPlane } from "../../src/testkit/control-plane.ts";
import type { InformerMeasurement } from "./measure.ts";

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    objects: { type: "string", default: "10000" },
    rounds: { type: "string", default: "2" },
  },
});
const objects = Number(values.objects);
const rounds = Number(values.rounds);
const contenders = {
  operon: "operon-informer.ts",
  "client-node": "client-node-informer.ts",
} as const;

const plane = await startControlPlane({ nodes: 0, controllerManager: false });
try {
  const client = await KubeClient.fromKubeConfig({
    kubeconfig: plane.kubeconfigPath,
    fieldManager: "bench",
  });
  const namespace = await plane.createNamespace("informer");
  const payload = "x".repeat(900);
  const started = Date.now();
  for (let i = 0; i < objects; i += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, objects - i) }, (_, j) =>
        client.create(ConfigMap, {
          metadata: {
            name: `cm-${i + j}`,
            namespace,
            labels: { bench: "informer", index: String(i + j) },
          },
          data: { payload },
        }),
      ),
    );
    if ((i / 100) % 20 === 0) process.stderr.write(`created ${i + 100}/${objects} ConfigMaps\n`);
  }
  process.stderr.write(
    `created ${objects} ConfigMaps in ${((Date.now() - started) / 1000).toFixed(1)}s\n`,
  );
  await client.close();

  const results: InformerMeasurement[] = [];
  for (let round = 0; round < rounds; round++) {
    // Alternate the order so neither contender always runs on a warmer API server.
    const order =
      round % 2 === 0 ? (["operon", "client-node"] as const) : (["client-node", "operon"] as const);
    for (const name of order) {
      const script = fileURLToPath(new URL(contenders[name], import.meta.url));
      const { stdout } = await run(
        process.execPath,
        [
          "--conditions=operon-source",
          "--expose-gc",
          script,
          plane.kubeconfigPath,
          namespace,
          String(objects),
        ],
        { maxBuffer: 1 << 20 },
      );
      const measurement = JSON.parse(stdout.trim().split("\n").pop()!) as InformerMeasurement;
      results.push(measurement);
      process.stderr.write(`round ${round + 1}: ${JSON.stringify(measurement)}\n`);
    }
  }
  const best = (name: string) => {
    const mine = results.filter((r) => r.contender === name);
    return {
      syncSeconds: Math.min(...mine.map((r) => r.syncSeconds)),
      rssBytes: Math.min(...mine.map((r) => r.rssBytes)),
      heapUsedBytes: Math.min(...mine.map((r) => r.heapUsedBytes)),
      peakRssBytes: Math.min(...mine.map((r) => r.peakRssBytes)),
    };
  };
  const operon = best("operon");
  const peer = best("client-node");
  const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  const table = [
    `| ${objects} ConfigMaps (~1 KB) | Operon | @kubernetes/client-node | Operon / client-node |`,
    "| --- | --- | --- | --- |",
    `| list+watch until synced | ${operon.syncSeconds.toFixed(2)} s | ${peer.syncSeconds.toFixed(2)} s | ${ratio(operon.syncSeconds, peer.syncSeconds)} |`,
    `| RSS after sync (GC'd) | ${mib(operon.rssBytes)} | ${mib(peer.rssBytes)} | ${ratio(operon.rssBytes, peer.rssBytes)} |`,
    `| heap used after sync | ${mib(operon.heapUsedBytes)} | ${mib(peer.heapUsedBytes)} | ${ratio(operon.heapUsedBytes, peer.heapUsedBytes)} |`,
    `| peak RSS | ${mib(operon.peakRssBytes)} | ${mib(peer.peakRssBytes)} | ${ratio(operon.peakRssBytes, peer.peakRssBytes)} |`,
  ].join("\n");
  process.stdout.write(
    `${table}\n\n(best of ${rounds} rounds per contender, each in its own process)\n`,
  );
  await mkdir(new URL("../results/", import.meta.url), { recursive: true });
  await writeFile(
    new URL("../results/informer.json", import.meta.url),
    JSON.stringify({ scenario: "informer", objects, rounds, results }, null, 2),
  );
} finally {
  await plane.stop();
}
