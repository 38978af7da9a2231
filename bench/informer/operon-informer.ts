/** Contender: Operon's informer (defaults: streaming list, managedFields stripped). */
import { clientListWatch } from "../../src/cache/client-source.ts";
import { InformerFactory } from "../../src/cache/shared-informers.ts";
import { KubeClient } from "../../src/client/client.ts";
import { ConfigMap } from "../../src/resources/index.ts";
import { report } from "./measure.ts";

const [kubeconfig, namespace, expected] = process.argv.slice(2);
const client = await KubeClient.fromKubeConfig({ kubeconfig: kubeconfig! });
const factory = new InformerFactory({
  client: clientListWatch(client),
  ...(process.env.OPERON_STREAMING_LIST === "0" ? { streamingList: false } : {}),
});
const informer = factory.informer(ConfigMap, { namespace: namespace! });
const started = performance.now();
factory.start();
await factory.waitForSync();
while (informer.store.size < Number(expected))
  await new Promise((resolve) => setTimeout(resolve, 10));
const syncSeconds = (performance.now() - started) / 1000;
await report("operon", informer.store.size, syncSeconds);
await factory.stop();
await client.close();
