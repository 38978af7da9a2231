/**
 * The manifests that run Metacontroller mode in a cluster: the Namespace, the CRDs, a
 * ServiceAccount with the least-privilege RBAC the given controllers need (derived from their
 * parent, child, attachment and target resources and the Secrets their hooks read), the
 * Deployment of `operon metacontroller run` and a Dockerfile for its image.
 */
import { readFileSync } from "node:fs";
import {
  defaultHealthProbePort,
  defaultMetricsPort,
  type GeneratedFile,
  operatorEnvironment,
  operatorNodeFlags,
} from "../manifests/deployment.ts";
import { toYaml } from "../manifests/yaml.ts";
import type { Deployment } from "../resources/apps.ts";
import type { Namespace, Service, ServiceAccount } from "../resources/core.ts";
import { groupOf, type KubeObject } from "../resources/object.ts";
import type {
  ClusterRole,
  ClusterRoleBinding,
  PolicyRule,
  Role,
  RoleBinding,
} from "../resources/rbac.ts";
import { metacontrollerCrds } from "./crds.ts";
import type {
  AnyController,
  CompositeController,
  DecoratorController,
  Hook,
  ResourceRule,
} from "./types.ts";

export interface MetacontrollerManifestOptions {
  /** Namespace of the manager. Default `metacontroller`. */
  namespace?: string;
  /** Names the Deployment, ServiceAccount and roles. Default `operon-metacontroller`. */
  name?: string;
  image?: string;
  /** Default 2 (with leader election, one works at a time). */
  replicas?: number;
  /** Resources the customize hooks select (`relatedResources`): read access is granted. */
  related?: readonly ResourceRule[];
}

const readVerbs = ["get", "list", "watch"];
const childVerbs = [...readVerbs, "create", "delete", "patch"];
const rbacApiVersion = "rbac.authorization.k8s.io/v1";

class Grants {
  readonly #byScope = new Map<string, Map<string, Set<string>>>();
  readonly #named = new Map<string, Map<string, Set<string>>>();

  add(scope: string, group: string, resource: string, verbs: readonly string[]): void {
    const resources = this.#byScope.get(scope) ?? new Map<string, Set<string>>();
    this.#byScope.set(scope, resources);
    const key = `${group}\u0000${resource}`;
    const set = resources.get(key) ?? new Set<string>();
    resources.set(key, set);
    for (const verb of verbs) set.add(verb);
  }

  /** `get` on one named object (a Secret or ConfigMap a hook's settings name). */
  addNamed(namespace: string, resource: string, name: string): void {
    const names = this.#named.get(namespace) ?? new Map<string, Set<string>>();
    this.#named.set(namespace, names);
    const set = names.get(resource) ?? new Set<string>();
    names.set(resource, set);
    set.add(name);
  }

  scopes(): string[] {
    return [...new Set([...this.#byScope.keys(), ...this.#named.keys()])].sort();
  }

  rules(scope: string): PolicyRule[] {
    const merged = new Map<string, { group: string; verbs: string[]; resources: string[] }>();
    for (const [key, verbs] of this.#byScope.get(scope) ?? []) {
      const [group, resource] = key.split("\u0000") as [string, string];
      const sorted = [...verbs].sort();
      const id = `${group}\u0000${sorted.join(",")}`;
      const entry = merged.get(id) ?? { group, verbs: sorted, resources: [] };
      entry.resources.push(resource);
      merged.set(id, entry);
    }
    const rules: PolicyRule[] = [...merged.values()]
      .map((entry) => ({ ...entry, resources: entry.resources.sort() }))
      .sort(
        (a, b) =>
          a.group.localeCompare(b.group) ||
          a.resources[0]!.localeCompare(b.resources[0]!) ||
          a.verbs.join().localeCompare(b.verbs.join()),
      )
      .map((entry) => ({
        apiGroups: [entry.group],
        resources: entry.resources,
        verbs: entry.verbs,
      }));
    for (const [resource, names] of [...(this.#named.get(scope) ?? [])].sort()) {
      rules.push({
        apiGroups: [""],
        resources: [resource],
        resourceNames: [...names].sort(),
        verbs: ["get"],
      });
    }
    return rules;
  }
}

function hooksOf(controller: AnyController): Hook[] {
  const hooks = (controller.spec.hooks ?? {}) as Record<string, Hook | undefined>;
  return Object.values(hooks).filter((hook): hook is Hook => hook !== undefined);
}

/** Grants reading the Secrets and ConfigMaps a controller's hooks take their settings from. */
function grantHookSecrets(grants: Grants, controller: AnyController): void {
  const sources = [
    ...hooksOf(controller).map((hook) => hook.webhook),
    ...(controller.spec.endpointConfigs ?? []),
  ];
  for (const source of sources) {
    if (!source) continue;
    const { caBundle, clientTLS, authorization, basicAuth } = source;
    if (caBundle?.secretRef)
      grants.addNamed(caBundle.secretRef.namespace, "secrets", caBundle.secretRef.name);
    if (caBundle?.configMapRef) {
      grants.addNamed(caBundle.configMapRef.namespace, "configmaps", caBundle.configMapRef.name);
    }
    for (const ref of [clientTLS?.secretRef, authorization?.secretRef, basicAuth?.secretRef]) {
      if (ref) grants.addNamed(ref.namespace, "secrets", ref.name);
    }
  }
}

/**
 * The rules Metacontroller mode needs to run `controllers`: a cluster-wide part (key `""`) and
 * per-namespace parts (the Lease, the hooks' Secrets).
 *
 * @example
 * const rules = metacontrollerRbacRules([catsetController], { namespace: "metacontroller" });
 */
export function metacontrollerRbacRules(
  controllers: readonly AnyController[],
  options: { namespace: string; related?: readonly ResourceRule[] },
): Record<string, PolicyRule[]> {
  const grants = new Grants();
  const cluster = "";
  grants.add(cluster, "metacontroller.k8s.io", "compositecontrollers", readVerbs);
  grants.add(cluster, "metacontroller.k8s.io", "decoratorcontrollers", readVerbs);
  // Events about parents (in their namespaces) and about controllers (in `default`).
  grants.add(cluster, "events.k8s.io", "events", ["create", "patch"]);
  grants.add(options.namespace, "coordination.k8s.io", "leases", ["create", "get", "update"]);
  const parent = (rule: ResourceRule) => {
    const group = groupOf(rule.apiVersion);
    // Informer, finalizer and adoption patches; status; blockOwnerDeletion on children.
    grants.add(cluster, group, rule.resource, [...readVerbs, "patch"]);
    grants.add(cluster, group, `${rule.resource}/status`, ["patch"]);
    grants.add(cluster, group, `${rule.resource}/finalizers`, ["update"]);
  };
  const child = (rule: ResourceRule) =>
    grants.add(cluster, groupOf(rule.apiVersion), rule.resource, childVerbs);
  let customize = false;
  for (const controller of controllers) {
    if (controller.kind === "CompositeController") {
      const spec = (controller as CompositeController).spec;
      parent(spec.parentResource);
      for (const rule of spec.childResources ?? []) child(rule);
      if (
        (spec.childResources ?? []).some((rule) =>
          rule.updateStrategy?.method?.startsWith("Rolling"),
        )
      ) {
        grants.add(cluster, "metacontroller.k8s.io", "controllerrevisions", childVerbs);
      }
    } else {
      const spec = (controller as DecoratorController).spec;
      for (const rule of spec.resources ?? []) parent(rule);
      for (const rule of spec.attachments ?? []) child(rule);
    }
    if (controller.spec.hooks?.customize) customize = true;
    grantHookSecrets(grants, controller);
  }
  if (customize) grants.add(cluster, "", "namespaces", readVerbs);
  for (const rule of options.related ?? [])
    grants.add(cluster, groupOf(rule.apiVersion), rule.resource, readVerbs);
  return Object.fromEntries(grants.scopes().map((scope) => [scope, grants.rules(scope)]));
}

function packageVersion(): string {
  try {
    const text = readFileSync(new URL("../../package.json", import.meta.url), "utf8");
    return (JSON.parse(text) as { version?: string }).version ?? "latest";
  } catch {
    return "latest";
  }
}

/**
 * A Dockerfile for the image of `operon metacontroller run`: Operon installed from npm in a
 * build stage, copied into a Node.js image without npm, running as uid 1000.
 */
export function metacontrollerDockerfile(
  options: { version?: string; baseImage?: string } = {},
): string {
  const base = options.baseImage ?? "node:24-alpine";
  const version = options.version ?? packageVersion();
  const entrypoint = [
    "node",
    ...operatorNodeFlags,
    "node_modules/kube-operon/bin/operon.js",
    "metacontroller",
    "run",
  ];
  return `# syntax=docker/dockerfile:1
# The image of \`operon metacontroller run\`: docker build -t <image> -f Dockerfile .

FROM ${base} AS build
WORKDIR /app
RUN npm init -y >/dev/null && npm install --omit=dev --no-audit --no-fund kube-operon@${version}

FROM ${base}
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx /opt/yarn* /usr/local/bin/yarn /usr/local/bin/yarnpkg
ENV NODE_ENV=production${Object.entries(operatorEnvironment)
    .map(([name, value]) => ` ${name}=${value}`)
    .join("")}
WORKDIR /app
COPY --from=build /app /app
USER 1000:1000
EXPOSE ${defaultMetricsPort} ${defaultHealthProbePort}
ENTRYPOINT ${JSON.stringify(entrypoint)}
`;
}

/**
 * The Deployment of `operon metacontroller run` (2 replicas with leader election, probes,
 * metrics, a restricted security context, replicas spread over nodes) and its metrics Service:
 * the shape `operon generate` gives an operator's Deployment.
 */
function workload(options: {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  image: string;
  replicas: number;
}): { deployment: Deployment; metricsService: Service } {
  const { name, namespace, labels } = options;
  const selector = { "app.kubernetes.io/name": name, "app.kubernetes.io/component": "operator" };
  const podLabels = { ...labels, ...selector };
  const deployment: Deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace, labels: { ...podLabels } },
    spec: {
      replicas: options.replicas,
      selector: { matchLabels: { ...selector } },
      template: {
        metadata: { labels: { ...podLabels } },
        spec: {
          serviceAccountName: name,
          // Longer than the 30 s graceful shutdown: syncs finish and the Lease is released first.
          terminationGracePeriodSeconds: 40,
          securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
          affinity: {
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
              image: options.image,
              args: [
                "--leader-elect",
                `--metrics-bind-address=:${defaultMetricsPort}`,
                `--health-probe-bind-address=:${defaultHealthProbePort}`,
              ],
              ports: [
                { name: "metrics", containerPort: defaultMetricsPort, protocol: "TCP" },
                { name: "health", containerPort: defaultHealthProbePort, protocol: "TCP" },
              ],
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
              resources: {
                requests: { cpu: "50m", memory: "128Mi" },
                limits: { cpu: "1", memory: "512Mi" },
              },
              securityContext: {
                runAsNonRoot: true,
                readOnlyRootFilesystem: true,
                allowPrivilegeEscalation: false,
                capabilities: { drop: ["ALL"] },
                seccompProfile: { type: "RuntimeDefault" },
              },
              volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
            },
          ],
          volumes: [{ name: "tmp", emptyDir: {} }],
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
      ports: [
        { name: "metrics", port: defaultMetricsPort, targetPort: "metrics", protocol: "TCP" },
      ],
    },
  };
  return { deployment, metricsService };
}

/**
 * Every object to run Metacontroller mode, in the order to apply them.
 *
 * @example
 * import { metacontrollerManifests, toYaml } from "kube-operon";
 * process.stdout.write(toYaml(metacontrollerManifests([myCompositeController])));
 */
export function metacontrollerManifests(
  controllers: readonly AnyController[],
  options: MetacontrollerManifestOptions = {},
): KubeObject[] {
  const namespace = options.namespace ?? "metacontroller";
  const name = options.name ?? "operon-metacontroller";
  const labels = { "app.kubernetes.io/name": name };
  const namespaceObject: Namespace = {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name: namespace,
      labels: { ...labels, "pod-security.kubernetes.io/enforce": "restricted" },
    },
  };
  const serviceAccount: ServiceAccount = {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name, namespace, labels: { ...labels } },
  };
  const subjects = [{ kind: "ServiceAccount" as const, name, namespace }];
  const rules = metacontrollerRbacRules(controllers, {
    namespace,
    ...(options.related ? { related: options.related } : {}),
  });
  const rbac: KubeObject[] = [serviceAccount];
  for (const [scope, scopeRules] of Object.entries(rules)) {
    if (scope === "") {
      const role: ClusterRole = {
        apiVersion: rbacApiVersion,
        kind: "ClusterRole",
        metadata: { name, labels: { ...labels } },
        rules: scopeRules,
      };
      const binding: ClusterRoleBinding = {
        apiVersion: rbacApiVersion,
        kind: "ClusterRoleBinding",
        metadata: { name, labels: { ...labels } },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name },
        subjects,
      };
      rbac.push(role, binding);
    } else {
      const role: Role = {
        apiVersion: rbacApiVersion,
        kind: "Role",
        metadata: { name, namespace: scope, labels: { ...labels } },
        rules: scopeRules,
      };
      const binding: RoleBinding = {
        apiVersion: rbacApiVersion,
        kind: "RoleBinding",
        metadata: { name, namespace: scope, labels: { ...labels } },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
        subjects,
      };
      rbac.push(role, binding);
    }
  }
  const { deployment, metricsService } = workload({
    name,
    namespace,
    labels,
    image: options.image ?? "operon-metacontroller:latest",
    replicas: options.replicas ?? 2,
  });
  return [
    namespaceObject,
    ...metacontrollerCrds(),
    ...rbac,
    metricsService,
    deployment,
  ] as KubeObject[];
}

/** The folder `operon metacontroller generate` writes (for `kubectl apply -k`). */
export function metacontrollerFiles(
  controllers: readonly AnyController[],
  options: MetacontrollerManifestOptions = {},
): GeneratedFile[] {
  const objects = metacontrollerManifests(controllers, options);
  const header =
    "# Generated by `operon metacontroller generate`; regenerate it rather than edit it.\n";
  const crds = objects.filter((o) => o.kind === "CustomResourceDefinition");
  const rbac = objects.filter(
    (o) => o.apiVersion.startsWith("rbac.") || o.kind === "ServiceAccount",
  );
  const files: GeneratedFile[] = [
    {
      path: "namespace.yaml",
      content: header + toYaml(objects.filter((o) => o.kind === "Namespace")),
    },
    ...crds.map((crd) => ({
      path: `crds/${crd.metadata.name}.yaml`,
      content: header + toYaml(crd),
    })),
    { path: "rbac.yaml", content: header + toYaml(rbac) },
    {
      path: "manager.yaml",
      content:
        header + toYaml(objects.filter((o) => o.kind === "Service" || o.kind === "Deployment")),
    },
  ];
  const kustomization = {
    apiVersion: "kustomize.config.k8s.io/v1beta1",
    kind: "Kustomization",
    resources: files.map((file) => file.path),
  };
  return [
    { path: "kustomization.yaml", content: header + toYaml(kustomization) },
    ...files,
    { path: "Dockerfile", content: metacontrollerDockerfile() },
  ];
}
