/** Contender: @kubernetes/client-node's informer (its documented usage). */
import { CoreV1Api, KubeConfig, makeInformer, type V1ConfigMap } from "@kubernetes/client-node";
import { report } from "./measure.ts";

const [kubeconfig, namespace, expected] = process.argv.slice(2);
const config = new KubeConfig();
config.loadFromFile(kubeconfig!);
const api = config.makeApiClient(CoreV1Api);
const informer = makeInformer<V1ConfigMap>(
  config,
  `/api/v1/namespaces/${namespace}/configmaps`,
  () => api.listNamespacedConfigMap({ namespace: namespace! }),
);
informer.on("error", (error) =>
  process.stderr.write(`client-node informer error: ${String(error)}\n`),
);
const started = performance.now();
await informer.start();
while (informer.list().length < Number(expected))
  await new Promise((resolve) => setTimeout(resolve, 10));
const syncSeconds = (performance.now() - started) / 1000;
await report("client-node", informer.list().length, syncSeconds);
await informer.stop();
process.exit(0);
