/**
 * The README's demo (`npm run demo`): brings up the local control plane, runs the `myapp` example
 * operator against it, and shows parents converging: Deployments and Services created, Pods
 * becoming ready on the simulated nodes, a scale change followed, and no API writes once
 * everything is converged. It ends by itself; `--keep` keeps everything running until Ctrl-C.
 */

import { parseArgs } from "node:util";
import myapp, { MyApp } from "../examples/myapp/myapp.ts";
import { KubeClient } from "../src/client/client.ts";
import { silentLogger } from "../src/logger.ts";
import { installCustomResources } from "../src/manager/install.ts";
import { Manager } from "../src/manager/manager.ts";
import { isConditionTrue } from "../src/resources/conditions.ts";
import { startControlPlane } from "../src/testkit/control-plane.ts";

const apps = [
  { name: "shop", replicas: 3, image: "nginx:1.27" },
  { name: "blog", replicas: 2, image: "ghost:5" },
  { name: "api", replicas: 4, image: "node:24-alpine" },
];

async function demo(keep: boolean, stdout: NodeJS.WritableStream): Promise<number> {
  const say = (line: string) => stdout.write(`${line}\n`);
  const started = Date.now();
  const at = () => `[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s]`;
  say("Operon demo: the myapp operator (examples/myapp) on a local Kubernetes control plane");
  say(
    `${at()} starting etcd, kube-apiserver, controller-manager, scheduler and 2 simulated nodes...`,
  );
  const plane = await startControlPlane({ nodes: 2 });
  let writes = 0;
  const client = await KubeClient.fromKubeConfig({
    kubeconfig: plane.kubeconfigPath,
    fieldManager: "operon-demo",
  });
  const operatorClient = await KubeClient.fromKubeConfig({
    kubeconfig: plane.kubeconfigPath,
    metrics: {
      request: ({ verb }) => {
        if (!["get", "list", "watch"].includes(verb)) writes++;
      },
    },
  });
  const manager = new Manager({ client: operatorClient, logger: silentLogger });
  try {
    say(`${at()} API server ready at ${plane.server}`);
    await installCustomResources(client, [MyApp], { fieldManager: "operon-demo" });
    say(`${at()} installed CustomResourceDefinition myapps.apps.example.com`);
    manager.add(myapp);
    await manager.start();
    say(`${at()} operator "myapp" running (caches synced)`);
    const namespace = await plane.createNamespace("demo");
    for (const app of apps) {
      await client.create(MyApp, {
        metadata: { name: app.name, namespace },
        spec: { replicas: app.replicas, image: app.image, port: 8080 },
      });
    }
    say(
      `${at()} created ${apps.length} MyApps in namespace ${namespace}: ${apps.map((a) => `${a.name} (${a.replicas} replicas)`).join(", ")}`,
    );

    const progress = async (want: Record<string, number>) => {
      let last = "";
      for (;;) {
        const list = await client.list(MyApp, { namespace });
        const line = list.items
          .map(
            (app) => `${app.metadata.name} ${app.status?.readyReplicas ?? 0}/${app.spec.replicas}`,
          )
          .sort()
          .join("  ");
        if (line !== last) {
          say(`${at()} ready: ${line}`);
          last = line;
        }
        const done = list.items.every(
          (app) =>
            app.status?.observedGeneration === app.metadata.generation &&
            app.status?.readyReplicas === want[app.metadata.name!] &&
            isConditionTrue(app.status?.conditions, "Ready"),
        );
        if (done && list.items.length === Object.keys(want).length) return;
        if (Date.now() - started > 180_000)
          throw new Error("the apps did not converge within 3 minutes");
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    };
    await progress(Object.fromEntries(apps.map((a) => [a.name, a.replicas])));
    say(`${at()} all apps Ready: each has a Deployment and a Service owned by its MyApp`);

    await client.patch(MyApp, "shop", { spec: { replicas: 5 } }, { namespace });
    say(`${at()} scaled shop to 5 replicas`);
    await progress(
      Object.fromEntries(apps.map((a) => [a.name, a.name === "shop" ? 5 : a.replicas])),
    );

    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const before = writes;
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const idleWrites = writes - before;
    say(`${at()} idle for 3 s with everything converged: ${idleWrites} API writes by the operator`);
    say("");
    say(
      `Summary: ${apps.length} MyApps converged (Deployments and Services created, Pods Ready on simulated nodes), ` +
        `a scale change followed, ${writes} API writes in total, ${idleWrites} while idle; ${((Date.now() - started) / 1000).toFixed(1)}s.`,
    );
    if (keep && process.stdin.isTTY && !process.env.CI) {
      say(
        `The control plane keeps running: kubectl --kubeconfig ${plane.kubeconfigPath} get myapps,deployments,pods -n ${namespace}`,
      );
      say("Press Ctrl-C to stop.");
      const keepAlive = setInterval(() => {}, 60_000);
      await new Promise<void>((resolve) => process.once("SIGINT", () => resolve()));
      clearInterval(keepAlive);
    }
    return idleWrites === 0 ? 0 : 1;
  } finally {
    await manager.stop().catch(() => undefined);
    await client.close();
    await operatorClient.close();
    await plane.stop();
  }
}

const { values } = parseArgs({ options: { keep: { type: "boolean", default: false } } });
process.exitCode = await demo(values.keep === true, process.stdout).catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  return 1;
});
