/**
 * Everything to run operators in a cluster: the Namespace, the CRDs of their custom kinds, the
 * RBAC, a Deployment of the `operon run` manager (leader election, probes, metrics over HTTPS
 * behind the API server's authentication and authorization, a restricted security context), a
 * Service for its metrics, and for webhooks their Service, configurations and certificates, plus
 * a Dockerfile for the image and a kustomization, written as a folder `kubectl apply -k` takes.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Operator } from "../operator/declaration.ts";
import type { CustomResourceDefinition } from "../resources/apiextensions.ts";
import type { Deployment } from "../resources/apps.ts";
import type { ContainerPort, Namespace, ResourceRequirements, Service } from "../resources/core.ts";
import { type CustomResourceType, isCustomResourceType } from "../resources/define.ts";
import type { KubeObject, ResourceType } from "../resources/object.ts";
import type { PodDisruptionBudget } from "../resources/policy.ts";
import type { ConversionDefinition } from "../webhook/conversion.ts";
import type { Webhook } from "../webhook/webhook.ts";
import { customResourceDefinition } from "./crd.ts";
import { type OperatorRbac, type RbacOptions, rbacManifests } from "./rbac.ts";
import {
  type CertificateProviderName,
  defaultSecureMetricsPort,
  defaultWebhookPort,
  type MetricsRbac,
  metricsRbac,
  type WebhookManifests,
  webhookManifests,
} from "./webhooks.ts";
import { toYaml } from "./yaml.ts";

/** The port `operon run` serves `/metrics` on (`--metrics-bind-address`). */
export const defaultMetricsPort = 8080;
/** The port `operon run` serves `/healthz` and `/readyz` on (`--health-probe-bind-address`). */
export const defaultHealthProbePort = 8081;

/**
 * Options of {@link deploymentManifests} and {@link deploymentFiles}.
 *
 * @example
 * const options: DeploymentOptions = {
 *   namespace: "greeter-system",
 *   image: "ghcr.io/me/greeter:1.0.0",
 *   replicas: 2,
 *   module: "src/operator.ts",
 * };
 */
export interface DeploymentOptions {
  /**
   * Names the Deployment, its ServiceAccount, roles and bindings. Default: the first operator's
   * name.
   */
  name?: string;
  /** The namespace the operator runs in. Default `<name>-system`. */
  namespace?: string;
  /** Include the Namespace object. Default true; false when the namespace exists already. */
  createNamespace?: boolean;
  /** The operator's container image. Default `<name>:latest`. */
  image?: string;
  /**
   * Replicas; with leader election one works at a time, the others stand by; with sharding each
   * reconciles a share of the parents. Default 2, or 3 with sharding.
   */
  replicas?: number;
  /** Run with `--leader-elect` and grant the Lease. Default true. */
  leaderElection?: boolean;
  /**
   * Split the parents among the replicas (`operon run --sharding`): grants the member Leases, and
   * adds a PodDisruptionBudget so a node drain takes one replica at a time. Default: when an
   * operator is declared with `sharding: true`.
   */
  sharding?: boolean;
  /**
   * The module `operon run` loads, relative to the project root (the image's working directory).
   * Default `src/operator.ts`.
   */
  module?: string;
  /** The container's resources. Default: requests 50m CPU / 128Mi, limits 1 CPU / 512Mi. */
  resources?: ResourceRequirements;
  /**
   * The Dockerfile's base image: Node.js 24 or later with `node` on the PATH and a shell (e.g.
   * `node:24-slim`). Default `node:24-alpine`.
   */
  baseImage?: string;
  /** Labels of every object, next to `app.kubernetes.io/name`. */
  labels?: Record<string, string>;
  /** Extra RBAC rules for calls your own code makes; see {@link RbacOptions.extraRules}. */
  extraRules?: RbacOptions["extraRules"];
  /** Admission webhooks the operator serves: their Service, configurations and certificates. */
  webhooks?: readonly Webhook[];
  /** Conversions the operator serves: their CRDs convert through its webhook server. */
  conversions?: readonly ConversionDefinition[];
  /**
   * Who provides the webhooks' certificate: `operon` (default; a Secret Operon fills, rotates
   * and injects) or `cert-manager` (an Issuer, a Certificate and CA-injection annotations).
   */
  certificates?: CertificateProviderName;
  /**
   * Serve metrics over HTTPS on 8443, each scrape authorized by the API server (with a
   * `<name>-metrics-reader` ClusterRole for scrapers). Default true; false serves plain HTTP on
   * 8080 to anyone who reaches the pod.
   */
  metricsSecure?: boolean;
}

/** The objects to run operators in a cluster; see {@link deploymentManifests}. */
export interface OperatorDeployment {
  /** When `createNamespace` is not false. */
  namespace?: Namespace;
  customResourceDefinitions: CustomResourceDefinition[];
  rbac: OperatorRbac;
  /** A ClusterIP Service in front of the metrics port, for scrapers. */
  metricsService: Service;
  /** The roles of secure metrics (when `metricsSecure` is not false). */
  metricsRbac?: MetricsRbac;
  /** The webhooks' Service, configurations, certificates and roles (when there are any). */
  webhooks?: WebhookManifests;
  deployment: Deployment;
  /** With sharding: at most one replica taken away at a time by voluntary disruptions. */
  podDisruptionBudget?: PodDisruptionBudget;
  /** Every object, in the order to apply them: Namespace, CRDs, RBAC, Service, Deployment. */
  objects: KubeObject[];
}

/** A file of a generated folder: a path relative to the folder, and its text. */
export interface GeneratedFile {
  path: string;
  content: string;
}

const defaultResources: ResourceRequirements = {
  requests: { cpu: "50m", memory: "128Mi" },
  limits: { cpu: "1", memory: "512Mi" },
};

const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * The custom kinds (declared with `defineResource`) the operators, webhooks and conversions use,
 * each once, by CRD name.
 */
function customTypes(
  operators: readonly Operator[],
  webhooks: readonly Webhook[] = [],
  conversions: readonly ConversionDefinition[] = [],
): CustomResourceType[] {
  const found = new Map<string, CustomResourceType>();
  const consider = (type: ResourceType) => {
    if (isCustomResourceType(type)) found.set(`${type.plural}.${type.group}`, type);
  };
  for (const operator of operators) {
    consider(operator.parent);
    for (const declaration of operator.childTypes.values()) consider(declaration.type);
    for (const declaration of Object.values(operator.related ?? {})) consider(declaration.type);
  }
  for (const webhook of webhooks) consider(webhook.type);
  for (const conversion of conversions) consider(conversion.type);
  return [...found.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, type]) => type);
}

function settle(operators: Operator | readonly Operator[], options: DeploymentOptions) {
  const list = Array.isArray(operators) ? operators : [operators as Operator];
  if (list.length === 0) throw new Error("no operators given");
  if (
    options.certificates &&
    options.certificates !== "operon" &&
    options.certificates !== "cert-manager"
  ) {
    throw new Error(
      `certificates must be "operon" or "cert-manager", got "${options.certificates}"`,
    );
  }
  const name = options.name ?? list[0]!.name;
  const namespace = options.namespace ?? `${name}-system`;
  for (const [what, value] of [
    ["name", name],
    ["namespace", namespace],
  ] as const) {
    if (!dns1123Label.test(value) || value.length > 63) {
      throw new Error(
        `${what} "${value}" must be a DNS-1123 label: at most 63 lowercase letters, digits and '-'`,
      );
    }
  }
  const sharding = options.sharding ?? list.some((operator) => operator.sharding === true);
  const replicas = options.replicas ?? (sharding ? 3 : 2);
  if (!Number.isInteger(replicas) || replicas < 0) {
    throw new Error(`replicas must be a whole number of at least 0, got ${replicas}`);
  }
  return {
    list,
    name,
    namespace,
    replicas,
    image: options.image ?? `${name}:latest`,
    module: options.module ?? "src/operator.ts",
    leaderElection: options.leaderElection ?? true,
    sharding,
    metricsSecure: options.metricsSecure ?? true,
    labels: { ...options.labels, "app.kubernetes.io/name": name },
  };
}

/**
 * The objects that run operators in a cluster with `operon run`:
 *
 * - the Namespace (labelled to enforce the `restricted` Pod Security Standard);
 * - the CustomResourceDefinitions of the custom kinds the operators use;
 * - the ServiceAccount, roles and bindings of {@link rbacManifests};
 * - a Deployment: `replicas` pods (default 2) with `--leader-elect`, so one reconciles while the
 *   others stand by (with sharding, default 3 with `--sharding`: each reconciles a share, and a
 *   PodDisruptionBudget lets voluntary disruptions take one at a time); liveness on `/healthz` and readiness on `/readyz` (port 8081); metrics on
 *   port 8080; resource requests and limits; a restricted security context (non-root, read-only
 *   root filesystem, no privilege escalation, all capabilities dropped, the runtime's default
 *   seccomp profile) with a writable `/tmp`;
 * - a Service for the metrics port.
 *
 * @example
 * import { deploymentManifests, toYaml } from "kube-operon";
 * import myapp from "./myapp.ts";
 *
 * const { objects } = deploymentManifests(myapp, { image: "ghcr.io/me/myapp:1.0.0" });
 * process.stdout.write(toYaml(objects));
 */
export function deploymentManifests(
  operators: Operator | readonly Operator[],
  options: DeploymentOptions = {},
): OperatorDeployment {
  const settled = settle(operators, options);
  const { list, name, namespace, labels } = settled;
  const selector = { "app.kubernetes.io/name": name, "app.kubernetes.io/component": "operator" };
  const podLabels = { ...labels, ...selector };

  const namespaceObject: Namespace | undefined =
    options.createNamespace === false
      ? undefined
      : {
          apiVersion: "v1",
          kind: "Namespace",
          metadata: {
            name: namespace,
            labels: {
              ...labels,
              // The operator's pods meet the restricted standard; refuse anything that does not.
              "pod-security.kubernetes.io/enforce": "restricted",
            },
          },
        };
  const rbac = rbacManifests(list, {
    namespace,
    name,
    leaderElection: settled.leaderElection,
    sharding: settled.sharding,
    labels: options.labels ?? {},
    ...(options.extraRules ? { extraRules: options.extraRules } : {}),
  });
  const serviceAccountName = rbac.serviceAccount.metadata.name!;
  const webhooks =
    (options.webhooks?.length ?? 0) + (options.conversions?.length ?? 0) > 0
      ? webhookManifests({
          name,
          namespace,
          serviceAccountName,
          webhooks: options.webhooks ?? [],
          conversions: options.conversions ?? [],
          ...(options.certificates ? { certificates: options.certificates } : {}),
          labels: { ...podLabels },
          selector,
        })
      : undefined;
  const customResourceDefinitions = customTypes(list, options.webhooks, options.conversions).map(
    (type) => {
      const conversion = webhooks?.crdConversions.get(`${type.plural}.${type.group}`);
      return customResourceDefinition(type, {
        labels: { ...labels },
        ...(conversion ? { conversion: conversion.conversion } : {}),
        ...(conversion && Object.keys(conversion.annotations).length > 0
          ? { annotations: conversion.annotations }
          : {}),
      });
    },
  );
  const secureMetrics = settled.metricsSecure
    ? metricsRbac({ name, namespace, serviceAccountName, labels: { ...labels } })
    : undefined;
  const metricsPort = settled.metricsSecure ? defaultSecureMetricsPort : defaultMetricsPort;
  const metricsPortName = settled.metricsSecure ? "https" : "metrics";

  const args = [
    ...(settled.leaderElection || settled.sharding ? ["--leader-elect"] : []),
    ...(settled.sharding ? ["--sharding"] : []),
    `--metrics-bind-address=:${metricsPort}`,
    ...(settled.metricsSecure ? ["--metrics-secure"] : []),
    `--health-probe-bind-address=:${defaultHealthProbePort}`,
    ...(webhooks?.args ?? []),
  ];
  const ports: ContainerPort[] = [
    { name: metricsPortName, containerPort: metricsPort, protocol: "TCP" },
    { name: "health", containerPort: defaultHealthProbePort, protocol: "TCP" },
    ...(webhooks
      ? [{ name: "webhook-server", containerPort: defaultWebhookPort, protocol: "TCP" as const }]
      : []),
  ];
  const deployment: Deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace, labels: { ...podLabels } },
    spec: {
      replicas: settled.replicas,
      selector: { matchLabels: { ...selector } },
      template: {
        metadata: { labels: { ...podLabels } },
        spec: {
          serviceAccountName: rbac.serviceAccount.metadata.name!,
          // Longer than operon run's 30 s graceful shutdown, so syncs finish and the Lease is
          // released before the kubelet kills the process.
          terminationGracePeriodSeconds: 40,
          securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
          affinity: {
            // Replicas on different nodes: losing a node then costs a failover, not an outage.
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                {
                  weight: 100,
                  podAffinityTerm: {
                    labelSelector: { matchLabels: { ...selector } },
                    topologyKey: "kubernetes.io/hostname",
                  },
                },
              ],
            },
          },
          containers: [
            {
              name: "operator",
              image: settled.image,
              args,
              ports,
              livenessProbe: {
                httpGet: { path: "/healthz", port: "health" },
                initialDelaySeconds: 15,
                periodSeconds: 20,
              },
              readinessProbe: {
                httpGet: { path: "/readyz", port: "health" },
                initialDelaySeconds: 5,
                periodSeconds: 10,
              },
              resources: structuredClone(options.resources ?? defaultResources),
              securityContext: {
                runAsNonRoot: true,
                readOnlyRootFilesystem: true,
                allowPrivilegeEscalation: false,
                capabilities: { drop: ["ALL"] },
                seccompProfile: { type: "RuntimeDefault" },
              },
              volumeMounts: [{ name: "tmp", mountPath: "/tmp" }, ...(webhooks?.volumeMounts ?? [])],
            },
          ],
          volumes: [{ name: "tmp", emptyDir: {} }, ...(webhooks?.volumes ?? [])],
        },
      },
    },
  };
  const metricsService: Service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: `${name}-metrics`, namespace, labels: { ...podLabels } },
    spec: {
      selector: { ...selector },
      // A named port a ServiceMonitor can select (`port: https`, or `metrics` over plain HTTP).
      ports: [
        { name: metricsPortName, port: metricsPort, targetPort: metricsPortName, protocol: "TCP" },
      ],
    },
  };
  // Sharding spreads the parents over every replica: a drain of several nodes at once would
  // leave more of them waiting for a member at the same time.
  const podDisruptionBudget: PodDisruptionBudget | undefined = settled.sharding
    ? {
        apiVersion: "policy/v1",
        kind: "PodDisruptionBudget",
        metadata: { name, namespace, labels: { ...podLabels } },
        spec: { maxUnavailable: 1, selector: { matchLabels: { ...selector } } },
      }
    : undefined;
  return {
    ...(namespaceObject ? { namespace: namespaceObject } : {}),
    customResourceDefinitions,
    rbac,
    metricsService,
    ...(secureMetrics ? { metricsRbac: secureMetrics } : {}),
    ...(webhooks ? { webhooks } : {}),
    deployment,
    ...(podDisruptionBudget ? { podDisruptionBudget } : {}),
    objects: [
      ...(namespaceObject ? [namespaceObject] : []),
      ...customResourceDefinitions,
      ...rbac.objects,
      ...(secureMetrics?.objects ?? []),
      ...(webhooks?.rbac ?? []),
      metricsService,
      deployment,
      ...(podDisruptionBudget ? [podDisruptionBudget] : []),
      ...(webhooks?.objects ?? []),
    ] as KubeObject[],
  };
}

/**
 * Node flags the operator's image runs with. A 4 MiB semi-space keeps V8's young generation at
 * about 12 MiB instead of growing it to 128 MiB under load: an operator's allocations are short
 * JSON lifetimes, and the larger young generation mostly holds garbage that stays resident.
 * Measured with `npm run bench` (memory scenario): at 10,000 parents the steady RSS went from
 * 354 MiB to 258 MiB.
 */
export const operatorNodeFlags: readonly string[] = ["--max-semi-space-size=4"];

/**
 * Environment the operator's image sets. `MALLOC_ARENA_MAX=2`: glibc gives each thread that
 * allocates (Node's thread pool, V8's GC helpers) an arena of its own, up to eight per core, and
 * freed memory stays resident in them; two arenas bound that. Measured with `npm run bench`
 * (memory scenario, 3,000 parents, glibc): steady RSS 163 MiB → 145 MiB. musl-based images
 * (Alpine) ignore it.
 */
export const operatorEnvironment: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: "2" };

/**
 * A Dockerfile for the operator's image, built from the project root with
 * `docker build -f deploy/Dockerfile .`: production dependencies installed with `npm ci` in a
 * build stage, then copied with the project into a fresh Node.js image without npm, running
 * `operon run <module>` as an unprivileged user (uid 1000) with Node's TypeScript type stripping
 * and {@link operatorNodeFlags}.
 *
 * @example
 * import { dockerfile } from "kube-operon";
 * await writeFile("deploy/Dockerfile", dockerfile({ module: "src/operator.ts" }));
 */
export function dockerfile(
  options: { module?: string; baseImage?: string; ports?: readonly number[] } = {},
): string {
  const module = options.module ?? "src/operator.ts";
  const base = options.baseImage ?? "node:24-alpine";
  const entrypoint = [
    "node",
    ...operatorNodeFlags,
    "node_modules/kube-operon/bin/operon.js",
    "run",
    module,
  ];
  return `# syntax=docker/dockerfile:1
# The operator's image. Build it from the project root:
#   docker build -f deploy/Dockerfile -t <image> .
# The Deployment passes the flags (--leader-elect, the metrics and probe addresses) as args.

FROM ${base} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .

FROM ${base}
# The runtime needs node only: without npm and its dependencies the image is smaller and has
# less to patch.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx /opt/yarn* /usr/local/bin/yarn /usr/local/bin/yarnpkg
ENV NODE_ENV=production${Object.entries(operatorEnvironment)
    .map(([name, value]) => ` ${name}=${value}`)
    .join("")}
WORKDIR /app
# Owned by root and not writable by the process: the code cannot be changed at run time.
COPY --from=build /app /app
# A numeric user, so Kubernetes can verify runAsNonRoot.
USER 1000:1000
EXPOSE ${(options.ports ?? [defaultMetricsPort, defaultHealthProbePort]).join(" ")}
ENTRYPOINT ${JSON.stringify(entrypoint)}
`;
}

/**
 * What `docker build` leaves out of the build context: BuildKit reads it from
 * `<Dockerfile>.dockerignore` beside `deploy/Dockerfile`.
 *
 * @example
 * await writeFile("deploy/Dockerfile.dockerignore", dockerignore());
 */
export function dockerignore(): string {
  return ["node_modules", ".git", "deploy", "*.log", ".env", ".env.*", ""].join("\n");
}

const header = (module: string | undefined) =>
  `# Generated by \`operon generate\`${module ? ` from ${module}` : ""}; regenerate it rather than edit it.\n`;

function crdFileName(crd: CustomResourceDefinition): string {
  return `crds/${crd.metadata.name}.yaml`;
}

/**
 * The files of a deployment folder: `kustomization.yaml` listing `namespace.yaml`,
 * `crds/<name>.yaml` (one per CRD), `rbac.yaml` and `manager.yaml` (Service and Deployment),
 * plus `Dockerfile` and `Dockerfile.dockerignore` (which kustomize ignores). Apply the folder with
 * `kubectl apply -k <folder>`.
 *
 * @example
 * import { deploymentFiles, writeGeneratedFiles } from "kube-operon";
 * import myapp from "./myapp.ts";
 *
 * await writeGeneratedFiles("deploy", deploymentFiles(myapp, { image: "ghcr.io/me/myapp:1.0.0" }));
 */
export function deploymentFiles(
  operators: Operator | readonly Operator[],
  options: DeploymentOptions = {},
): GeneratedFile[] {
  const manifests = deploymentManifests(operators, options);
  const module = options.module;
  const files: GeneratedFile[] = [];
  if (manifests.namespace) {
    files.push({ path: "namespace.yaml", content: header(module) + toYaml(manifests.namespace) });
  }
  for (const crd of manifests.customResourceDefinitions) {
    files.push({ path: crdFileName(crd), content: header(module) + toYaml(crd) });
  }
  files.push({
    path: "rbac.yaml",
    content:
      header(module) +
      toYaml([
        ...manifests.rbac.objects,
        ...(manifests.metricsRbac?.objects ?? []),
        ...(manifests.webhooks?.rbac ?? []),
      ]),
  });
  files.push({
    path: "manager.yaml",
    content:
      header(module) +
      toYaml([
        manifests.metricsService,
        manifests.deployment,
        ...(manifests.podDisruptionBudget ? [manifests.podDisruptionBudget] : []),
      ]),
  });
  if (manifests.webhooks) {
    files.push({
      path: "webhooks.yaml",
      content: header(module) + toYaml(manifests.webhooks.objects),
    });
  }
  const kustomization = {
    apiVersion: "kustomize.config.k8s.io/v1beta1",
    kind: "Kustomization",
    // No `namespace:` here: it would move the Roles that must live elsewhere (an operator's
    // watched namespace, `default` for Events about cluster-scoped parents).
    resources: files.map((file) => file.path),
  };
  files.unshift({
    path: "kustomization.yaml",
    content: header(module) + toYaml(kustomization),
  });
  files.push({
    path: "Dockerfile",
    content: dockerfile({
      ...(options.module ? { module: options.module } : {}),
      ...(options.baseImage ? { baseImage: options.baseImage } : {}),
      ports: manifests.deployment.spec!.template.spec!.containers[0]!.ports!.map(
        (port) => port.containerPort,
      ),
    }),
  });
  files.push({ path: "Dockerfile.dockerignore", content: dockerignore() });
  return files;
}

/**
 * Writes generated files under `dir`, creating folders as needed, and returns the paths written.
 * Other files in `dir` are left alone.
 *
 * @example
 * await writeGeneratedFiles("deploy", deploymentFiles(myapp));
 */
export async function writeGeneratedFiles(
  dir: string,
  files: readonly GeneratedFile[],
): Promise<string[]> {
  const written: string[] = [];
  for (const file of files) {
    const path = join(dir, file.path);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, file.content);
    written.push(path);
  }
  return written;
}
