/**
 * The README's demo (`npm run demo`): brings up the local control plane, runs the `myapp` example
 * operator against it, and shows parents converging: Deployments and Services created, Pods
 * becoming ready on the simulated nodes, a scale change followed, and no API writes once
 * everything is converged. It ends by itself; `--keep` keeps everything running until Ctrl-C.
 *
 * The control-plane binaries are built first (once per machine, with progress), so the time the
 * apps are given to converge starts when the operator starts, not before a 10-minute build.
 */

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import myapp, { MyApp } from "../examples/myapp/myapp.ts";
import { KubeClient } from "../src/client/client.ts";
import { silentLogger } from "../src/logger.ts";
import { installCustomResources } from "../src/manager/install.ts";
import { Manager } from "../src/manager/manager.ts";
import { Deployment } from "../src/resources/apps.ts";
import { findCondition, isConditionTrue } from "../src/resources/conditions.ts";
import { Node, Pod, Service } from "../src/resources/core.ts";
import { binaryNames, ensureAssets } from "../src/testkit/assets.ts";
import { startControlPlane } from "../src/testkit/control-plane.ts";

const apps = [
  { name: "shop", replicas: 3, image: "nginx:1.27" },
  { name: "blog", replicas: 2, image: "ghost:5" },
  { name: "api", replicas: 4, image: "node:24-alpine" },
];

/** How long the apps get to converge, counted from the operator's start. */
const convergeTimeoutMs = 180_000;

class NotConverged extends Error {}

/**
 * What stands between each app and Ready, read from the cluster: the MyApp's conditions, its
 * Deployment and Service, the Pods and the nodes.
 */
async function diagnose(client: KubeClient, namespace: string): Promise<string[]> {
  const lines: string[] = [];
  const [parents, deployments, services, pods, nodes] = await Promise.all([
    client.list(MyApp, { namespace }),
    client.list(Deployment, { namespace }),
    client.list(Service, { namespace }),
    client.list(Pod, { namespace }),
    client.list(Node),
  ]);
  const readyNodes = nodes.items.filter((node) =>
    isConditionTrue(node.status?.conditions, "Ready"),
  );
  lines.push(`nodes: ${readyNodes.length} of ${nodes.items.length} Ready`);
  for (const app of apps) {
    const parent = parents.items.find((item) => item.metadata.name === app.name);
    if (!parent) {
      lines.push(`${app.name}: the MyApp is missing`);
      continue;
    }
    const problems: string[] = [];
    const synced = findCondition(parent.status?.conditions, "Synced");
    if (!synced) problems.push("the operator has not synced it (no Synced condition)");
    else if (synced.status !== "True") {
      problems.push(`Synced is ${synced.status}: ${synced.reason}: ${synced.message ?? ""}`);
    }
    const deployment = deployments.items.find((item) => item.metadata.name === app.name);
    if (!deployment) problems.push(`Deployment ${namespace}/${app.name} is missing`);
    else {
      const ready = deployment.status?.readyReplicas ?? 0;
      const wanted = deployment.spec?.replicas ?? 1;
      if (ready < wanted) problems.push(`Deployment has ${ready}/${wanted} ready replicas`);
    }
    if (!services.items.some((item) => item.metadata.name === app.name)) {
      problems.push(`Service ${namespace}/${app.name} is missing`);
    }
    const own = pods.items.filter(
      (pod) => pod.metadata.labels?.["app.kubernetes.io/name"] === app.name,
    );
    const waiting = own.filter((pod) => !isConditionTrue(pod.status?.conditions, "Ready"));
    for (const pod of waiting.slice(0, 3)) {
      const scheduled = pod.status?.conditions?.find((c) => c.type === "PodScheduled");
      const why =
        scheduled?.status === "False"
          ? `unscheduled: ${scheduled.message ?? scheduled.reason ?? ""}`
          : `phase ${pod.status?.phase ?? "unknown"}`;
      problems.push(`Pod ${pod.metadata.name} not Ready (${why})`);
    }
    const status = `${parent.status?.readyReplicas ?? 0}/${parent.spec.replicas} ready`;
    lines.push(
      problems.length === 0
        ? `${app.name}: ${status}, nothing missing`
        : `${app.name}: ${status}; ${problems.join("; ")}`,
    );
  }
  return lines;
}

async function demo(keep: boolean, stdout: NodeJS.WritableStream): Promise<number> {
  const say = (line: string) => stdout.write(`${line}\n`);
  const started = Date.now();
  const at = () => `[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s]`;
  say("Operon demo: the myapp operator (examples/myapp) on a local Kubernetes control plane");
  say(`${at()} control-plane binaries: ${binaryNames.join(", ")} (built once, then cached)`);
  await ensureAssets();
  say(
    `${at()} starting etcd, kube-apiserver, controller-manager, scheduler and 2 simulated nodes...`,
  );
  // A directory of our own, kept when the demo fails so the components' logs can be read.
  const dir = await mkdtemp(join(tmpdir(), "operon-demo-"));
  const plane = await startControlPlane({ nodes: 2, dir, removeDirOnStop: false });
  let writes = 0;
  let failed = true;
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
  let namespace = "";
  try {
    say(`${at()} API server ready at ${plane.server}`);
    await installCustomResources(client, [MyApp], { fieldManager: "operon-demo" });
    say(`${at()} installed CustomResourceDefinition myapps.apps.example.com`);
    manager.add(myapp);
    await manager.start();
    const deadline = Date.now() + convergeTimeoutMs;
    say(`${at()} operator "myapp" running (caches synced)`);
    namespace = await plane.createNamespace("demo");
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
        if (Date.now() > deadline) {
          throw new NotConverged(
            `the apps did not converge within ${convergeTimeoutMs / 60_000} minutes of the operator's start`,
          );
        }
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
    failed = idleWrites !== 0;
    return failed ? 1 : 0;
  } catch (error) {
    if (error instanceof NotConverged && namespace) {
      say(`${at()} ${error.message}. What is missing or not ready:`);
      for (const line of await diagnose(client, namespace).catch((e: unknown) => [
        `(could not read the cluster: ${e instanceof Error ? e.message : String(e)})`,
      ])) {
        say(`  ${line}`);
      }
    }
    throw error;
  } finally {
    await manager.stop().catch(() => undefined);
    await client.close();
    await operatorClient.close();
    await plane.stop();
    if (failed) {
      say(`Control-plane logs are kept in ${join(dir, "logs")}:`);
      for (const name of [
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kwok",
      ]) {
        say(`  ${join(dir, "logs", `${name}.log`)}`);
      }
    } else {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

const { values } = parseArgs({ options: { keep: { type: "boolean", default: false } } });
process.exitCode = await demo(values.keep === true, process.stdout).catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  return 1;
});
