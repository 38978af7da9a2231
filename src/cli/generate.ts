/**
 * `operon generate <module>`: the folder that runs a module's operators in a cluster (CRDs, RBAC,
 * Deployment, webhooks with their certificates, kustomization, Dockerfile), or its manifests on
 * stdout.
 */
import { relative, resolve, sep } from "node:path";
import {
  type DeploymentOptions,
  deploymentFiles,
  deploymentManifests,
  writeGeneratedFiles,
} from "../manifests/deployment.ts";
import { toYaml } from "../manifests/yaml.ts";
import { type Command, UsageError } from "./command.ts";
import { loadModule, loadOperators } from "./load-module.ts";

function text(values: Record<string, unknown>, name: string): string | undefined {
  const value = values[name];
  return typeof value === "string" ? value : undefined;
}

/** Where the manifests go: a folder, or stdout in a format. */
export type GenerateTarget = { folder: string } | { stdout: "yaml" | "json" };

/** Reads `--out` and `--output` into one target; `--out -` is `--output yaml`. */
export function generateTarget(values: Record<string, unknown>): GenerateTarget {
  const out = text(values, "out");
  const output = text(values, "output");
  if (output !== undefined && output !== "yaml" && output !== "json") {
    throw new UsageError(`--output must be yaml or json, got "${output}"`);
  }
  if (output && out !== undefined && out !== "-") {
    throw new UsageError(
      `--output ${output} prints to stdout; leave out --out ${out}, or leave out --output to write files`,
    );
  }
  if (output) return { stdout: output };
  if (out === "-") return { stdout: "yaml" };
  if (out === "") throw new UsageError("--out needs a folder, or - for stdout");
  return { folder: out ?? "deploy" };
}

function replicasOf(values: Record<string, unknown>): number | undefined {
  const value = text(values, "replicas");
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) {
    throw new UsageError(`--replicas must be a whole number, e.g. 2, got "${value}"`);
  }
  return Number.parseInt(value, 10);
}

/** The module's path as the image sees it: relative to the project root, with `/`. */
function modulePathInImage(modulePath: string): string {
  return relative(process.cwd(), resolve(modulePath)).split(sep).join("/");
}

export const generate: Command = {
  path: ["generate"],
  summary:
    "Write the CRDs, RBAC, Deployment, kustomization and Dockerfile for a module's operators",
  usage:
    "<module> [--out dir] [--namespace ns] [--image img] [--replicas n] [--certificates operon|cert-manager]",
  description:
    "Writes what runs a module's operators in a cluster to a folder (default ./deploy):\n" +
    "  kustomization.yaml        lists the manifests below: kubectl apply -k deploy\n" +
    "  namespace.yaml            the namespace, enforcing the restricted Pod Security Standard\n" +
    "  crds/<name>.yaml          one CustomResourceDefinition per custom kind the operators use\n" +
    "  rbac.yaml                 ServiceAccount, (Cluster)Roles and bindings: what the operators\n" +
    "                            need and nothing more\n" +
    "  manager.yaml              the Deployment (operon run --leader-elect, probes on :8081,\n" +
    "                            metrics over HTTPS on :8443 behind the API server's\n" +
    "                            authorization, restricted security context) and a metrics\n" +
    "                            Service; scrapers bind to the <name>-metrics-reader ClusterRole;\n" +
    "                            with sharding, 3 replicas that split the parents and a\n" +
    "                            PodDisruptionBudget\n" +
    "  webhooks.yaml             when the module exports webhooks or conversions: their Service\n" +
    "                            and configurations, and the certificate's Secret (Operon fills,\n" +
    "                            injects and rotates it) or cert-manager's Issuer and Certificate\n" +
    "  Dockerfile                the image: docker build -f deploy/Dockerfile -t <image> .\n" +
    "  Dockerfile.dockerignore   what the image build leaves out\n\n" +
    "Run it from the project root: the Dockerfile runs the module at its path relative to there.\n" +
    "With --output yaml (or --out -) the manifests are printed as a YAML stream instead, and with\n" +
    "--output json as a v1 List; both go straight into kubectl apply -f -. Nothing is written then.\n" +
    "Existing files in the folder are overwritten; others are left alone.",
  options: {
    out: {
      type: "string",
      description: "Folder to write (default ./deploy); - prints the manifests as YAML instead",
    },
    output: {
      type: "string",
      description: "Print the manifests to stdout instead of writing files: yaml or json",
    },
    namespace: {
      type: "string",
      description: "Namespace the operator runs in (default <name>-system)",
    },
    image: {
      type: "string",
      description: "The operator's container image (default <name>:latest)",
    },
    replicas: {
      type: "string",
      description:
        "Replicas; one leads, the others stand by (default 2); with sharding each takes a share (default 3)",
    },
    sharding: {
      type: "boolean",
      description:
        "Split the parents among the replicas: operon run --sharding, member Leases in the RBAC, a PodDisruptionBudget (default: when an operator declares sharding: true)",
    },
    name: {
      type: "string",
      description: "Name of the Deployment, ServiceAccount and roles (default: the operator's)",
    },
    certificates: {
      type: "string",
      description:
        "Who provides the webhooks' certificate: operon (a Secret Operon manages) or cert-manager (default operon)",
    },
    "insecure-metrics": {
      type: "boolean",
      description: "Serve metrics over plain HTTP on :8080 to anyone who reaches the pod",
      default: false,
    },
    "base-image": {
      type: "string",
      description:
        "Base image of the Dockerfile, Node.js 24+ with a shell (default node:24-alpine)",
    },
  },
  async run({ values, positionals, stdout, stderr }) {
    if (positionals.length > 1) {
      throw new UsageError(
        `expected one module, got ${positionals.length}: ${positionals.join(" ")}`,
      );
    }
    const target = generateTarget(values);
    const replicas = replicasOf(values);
    const name = text(values, "name");
    const namespace = text(values, "namespace");
    for (const [flag, value] of [
      ["name", name],
      ["namespace", namespace],
    ] as const) {
      if (
        value !== undefined &&
        (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(value) || value.length > 63)
      ) {
        throw new UsageError(
          `--${flag} "${value}" must be a DNS-1123 label: at most 63 lowercase letters, digits and '-'`,
        );
      }
    }
    const certificates = text(values, "certificates");
    if (
      certificates !== undefined &&
      certificates !== "operon" &&
      certificates !== "cert-manager"
    ) {
      throw new UsageError(`--certificates must be operon or cert-manager, got "${certificates}"`);
    }
    const operators = await loadOperators(positionals[0], "generate");
    const { webhooks, conversions } = await loadModule(positionals[0], "generate");
    const module = modulePathInImage(positionals[0]!);
    const image = text(values, "image");
    const baseImage = text(values, "base-image");
    const options: DeploymentOptions = {
      module,
      ...(name ? { name } : {}),
      ...(namespace ? { namespace } : {}),
      ...(image ? { image } : {}),
      ...(replicas !== undefined ? { replicas } : {}),
      ...(values.sharding === true ? { sharding: true } : {}),
      ...(baseImage ? { baseImage } : {}),
      ...(webhooks.length > 0 ? { webhooks } : {}),
      ...(conversions.length > 0 ? { conversions } : {}),
      ...(certificates ? { certificates } : {}),
      ...(values["insecure-metrics"] === true ? { metricsSecure: false } : {}),
    };

    if ("stdout" in target) {
      const { objects } = deploymentManifests(operators, options);
      stdout.write(
        target.stdout === "json"
          ? `${JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }, null, 2)}\n`
          : toYaml(objects),
      );
      return 0;
    }

    if (module.startsWith("../")) {
      stderr.write(
        `operon generate: warning: ${positionals[0]} is outside the current directory; the Dockerfile ` +
          "copies the current directory, so run operon generate from the project root\n",
      );
    }
    const files = deploymentFiles(operators, options);
    const written = await writeGeneratedFiles(target.folder, files);
    for (const path of written) stdout.write(`wrote ${path}\n`);
    const manifests = deploymentManifests(operators, options);
    const container = manifests.deployment.spec!.template.spec!.containers[0]!;
    stdout.write(
      `\nNext:\n` +
        `  docker build -f ${target.folder}/Dockerfile -t ${container.image} . && docker push ${container.image}\n` +
        `  kubectl apply -k ${target.folder}\n` +
        `  kubectl -n ${manifests.deployment.metadata.namespace} rollout status deployment/${manifests.deployment.metadata.name}\n`,
    );
    return 0;
  },
};
