/**
 * `operon demo`: brings up the local control plane and shows a workload converging on it.
 */

import { AdminClient } from "../testkit/admin-client.ts";
import { startControlPlane, waitFor } from "../testkit/control-plane.ts";
import type { Command } from "./command.ts";

export const demo: Command = {
  path: ["demo"],
  summary: "Start a local control plane and watch a Deployment become ready on simulated nodes",
  options: {
    keep: {
      type: "boolean",
      description: "Keep the control plane running after the demo until Ctrl-C",
      default: false,
    },
  },
  async run({ values, stdout }) {
    const say = (line: string) => stdout.write(`${line}\n`);
    const started = Date.now();
    const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
    say(
      "Starting a local Kubernetes control plane (etcd, kube-apiserver, controller-manager, scheduler, 2 simulated nodes)...",
    );
    const plane = await startControlPlane({ nodes: 2 });
    try {
      say(`[${elapsed()}] API server ready at ${plane.server}`);
      say(`           kubeconfig: ${plane.kubeconfigPath}`);
      const namespace = await plane.createNamespace("demo");
      const { readFile } = await import("node:fs/promises");
      const { parse } = await import("yaml");
      const config = parse(await readFile(plane.kubeconfigPath, "utf8"));
      const user = config.users[0].user;
      const admin = new AdminClient(plane.server, {
        ca: plane.caCertificatePem,
        cert: Buffer.from(user["client-certificate-data"], "base64").toString(),
        key: Buffer.from(user["client-key-data"], "base64").toString(),
      });
      const replicas = 3;
      await admin.must("POST", `/apis/apps/v1/namespaces/${namespace}/deployments`, {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "web" },
        spec: {
          replicas,
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "web" } },
            spec: { containers: [{ name: "web", image: "nginx:1.27" }] },
          },
        },
      });
      say(`[${elapsed()}] created Deployment ${namespace}/web with ${replicas} replicas`);
      let last = -1;
      await waitFor(
        async () => {
          const deployment = (await admin.must(
            "GET",
            `/apis/apps/v1/namespaces/${namespace}/deployments/web`,
          )) as { status?: { readyReplicas?: number } };
          const ready = deployment.status?.readyReplicas ?? 0;
          if (ready !== last) {
            say(`[${elapsed()}] web: ${ready}/${replicas} replicas ready`);
            last = ready;
          }
          return ready === replicas;
        },
        120_000,
        async () => new Error(`the Deployment did not become ready (${last}/${replicas} ready)`),
      );
      await admin.close();
      say("");
      say(
        `Summary: control plane up, Deployment ${namespace}/web reached ${replicas}/${replicas} ready replicas in ${elapsed()}.`,
      );
      if (values.keep && process.stdin.isTTY && !process.env.CI) {
        say(
          `The control plane keeps running: kubectl --kubeconfig ${plane.kubeconfigPath} get pods -A`,
        );
        say("Press Ctrl-C to stop it.");
        await new Promise<void>((resolve) => process.once("SIGINT", () => resolve()));
      }
      return 0;
    } finally {
      await plane.stop();
    }
  },
};
