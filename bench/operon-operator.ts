/**
 * The benchmark's Operon operator, run by the harness as the image `operon generate` writes runs
 * an operator: `node dist/cli/main.js run bench/operon-operator.ts --kubeconfig <path>`, Operon
 * built to JavaScript (`npm run build`) and this module type-stripped by Node. It imports Operon by
 * its package name, which resolves to `dist/` (or to `src/` under `--conditions=operon-source`).
 *
 * Environment:
 * - `BENCH_CONCURRENCY`: parents synced at once (default: Operon's);
 * - `BENCH_EXPECT_PARENTS`: when set, prints `BENCH_READY` on stdout once that many distinct
 *   parents have had their first sync (the harness's "ready" for the restart scenario).
 */
import { ConfigMap, defineOperator, Secret } from "kube-operon";
import {
  BenchParent,
  configMapData,
  configMapName,
  parentLabel,
  secretData,
  secretName,
  statusSummary,
} from "./model.ts";
import { ReadyMarker } from "./ready-marker.ts";

const concurrency = Number(process.env.BENCH_CONCURRENCY ?? "") || undefined;
const ready = new ReadyMarker(Number(process.env.BENCH_EXPECT_PARENTS ?? "") || 0);

export default defineOperator({
  name: "bench",
  parent: BenchParent,
  children: { configMaps: ConfigMap, secrets: Secret },
  ...(concurrency ? { concurrency } : {}),
  sync({ parent }) {
    const name = parent.metadata.name!;
    const labels = { [parentLabel]: name };
    ready.saw(`${parent.metadata.namespace}/${name}`);
    return {
      status: statusSummary(name),
      children: [
        {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: configMapName(name), labels },
          data: configMapData(parent.spec),
        },
        {
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name: secretName(name), labels },
          type: "Opaque",
          data: secretData(parent.spec),
        },
      ],
    };
  },
});
