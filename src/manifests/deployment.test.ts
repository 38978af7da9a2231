import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parse, parseAllDocuments } from "yaml";
import clusterHealth from "../../examples/cluster-health/cluster-health.ts";
import echoServer from "../../examples/echo-server/echo-server.ts";
import foo from "../../examples/foo/foo.ts";
import myapp from "../../examples/myapp/myapp.ts";
import { customResourceDefinition } from "./crd.ts";
import {
  defaultHealthProbePort,
  defaultMetricsPort,
  deploymentFiles,
  deploymentManifests,
  dockerfile,
  writeGeneratedFiles,
} from "./deployment.ts";
import { rbacManifests } from "./rbac.ts";

function container(manifests: ReturnType<typeof deploymentManifests>) {
  const found = manifests.deployment.spec?.template.spec?.containers[0];
  assert.ok(found);
  return found;
}

test("the objects come in apply order: Namespace, CRDs, RBAC, Service, Deployment", () => {
  const manifests = deploymentManifests(myapp, { image: "ghcr.io/me/myapp:1.0.0" });
  assert.deepEqual(
    manifests.objects.map(
      (object) => `${object.kind} ${object.metadata.namespace ?? ""}/${object.metadata.name}`,
    ),
    [
      "Namespace /myapp-system",
      "CustomResourceDefinition /myapps.apps.example.com",
      "ServiceAccount myapp-system/myapp",
      "ClusterRole /myapp",
      "ClusterRoleBinding /myapp",
      "Role myapp-system/myapp",
      "RoleBinding myapp-system/myapp",
      "Service myapp-system/myapp-metrics",
      "Deployment myapp-system/myapp",
    ],
  );
  assert.deepEqual(
    manifests.rbac,
    rbacManifests(myapp, { namespace: "myapp-system", labels: {} }),
    "the RBAC of rbacManifests",
  );
  const { metadata, ...crd } = manifests.customResourceDefinitions[0]!;
  const { metadata: plainMetadata, ...plain } = customResourceDefinition(
    myapp.parent as Parameters<typeof customResourceDefinition>[0],
  );
  assert.deepEqual(crd, plain, "the CRD of customResourceDefinition");
  assert.deepEqual(metadata, { ...plainMetadata, labels: { "app.kubernetes.io/name": "myapp" } });
  assert.equal(
    manifests.namespace?.metadata.labels?.["pod-security.kubernetes.io/enforce"],
    "restricted",
  );
});

test("the Deployment runs operon run with leader election, probes, metrics and resources", () => {
  const manifests = deploymentManifests(echoServer, { image: "ghcr.io/me/echo:2" });
  const { deployment } = manifests;
  assert.equal(deployment.spec?.replicas, 2);
  assert.deepEqual(deployment.spec?.selector.matchLabels, {
    "app.kubernetes.io/name": "echo-server",
    "app.kubernetes.io/component": "operator",
  });
  const pod = deployment.spec?.template;
  for (const [key, value] of Object.entries(deployment.spec?.selector.matchLabels ?? {})) {
    assert.equal(pod?.metadata?.labels?.[key], value, "the template matches the selector");
  }
  assert.equal(pod?.spec?.serviceAccountName, manifests.rbac.serviceAccount.metadata.name);
  const main = container(manifests);
  assert.equal(main.image, "ghcr.io/me/echo:2");
  assert.deepEqual(main.args, [
    "--leader-elect",
    "--metrics-bind-address=:8080",
    "--health-probe-bind-address=:8081",
  ]);
  assert.deepEqual(main.ports, [
    { name: "metrics", containerPort: defaultMetricsPort, protocol: "TCP" },
    { name: "health", containerPort: defaultHealthProbePort, protocol: "TCP" },
  ]);
  assert.deepEqual(main.livenessProbe?.httpGet, { path: "/healthz", port: "health" });
  assert.deepEqual(main.readinessProbe?.httpGet, { path: "/readyz", port: "health" });
  assert.deepEqual(main.resources, {
    requests: { cpu: "50m", memory: "128Mi" },
    limits: { cpu: "1", memory: "512Mi" },
  });
  assert.deepEqual(manifests.metricsService.spec?.selector, deployment.spec?.selector.matchLabels);
  assert.deepEqual(manifests.metricsService.spec?.ports, [
    { name: "metrics", port: 8080, targetPort: "metrics", protocol: "TCP" },
  ]);
});

test("the pod runs restricted: non-root, read-only root, no escalation, no capabilities, seccomp", () => {
  const manifests = deploymentManifests(foo);
  const spec = manifests.deployment.spec?.template.spec;
  assert.deepEqual(spec?.securityContext, {
    runAsNonRoot: true,
    seccompProfile: { type: "RuntimeDefault" },
  });
  const main = container(manifests);
  assert.deepEqual(main.securityContext, {
    runAsNonRoot: true,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  });
  assert.deepEqual(main.volumeMounts, [{ name: "tmp", mountPath: "/tmp" }]);
  assert.deepEqual(spec?.volumes, [{ name: "tmp", emptyDir: {} }]);
  assert.equal(spec?.hostNetwork, undefined);
});

test("options: name, namespace, one replica without leader election, resources, no Namespace", () => {
  const manifests = deploymentManifests(myapp, {
    name: "web-operator",
    namespace: "web",
    replicas: 1,
    leaderElection: false,
    createNamespace: false,
    resources: { requests: { cpu: "1", memory: "1Gi" } },
    labels: { team: "web" },
  });
  assert.equal(manifests.namespace, undefined);
  assert.equal(manifests.objects[0]?.kind, "CustomResourceDefinition");
  const { deployment } = manifests;
  assert.equal(deployment.metadata.name, "web-operator");
  assert.equal(deployment.metadata.namespace, "web");
  assert.equal(deployment.metadata.labels?.team, "web");
  assert.equal(deployment.spec?.replicas, 1);
  const main = container(manifests);
  assert.equal(main.image, "web-operator:latest");
  assert.deepEqual(main.args, [
    "--metrics-bind-address=:8080",
    "--health-probe-bind-address=:8081",
  ]);
  assert.deepEqual(main.resources, { requests: { cpu: "1", memory: "1Gi" } });
  assert.deepEqual(manifests.rbac.roles, [], "no Lease to grant");
});

test("invalid names and replicas are refused", () => {
  assert.throws(() => deploymentManifests(myapp, { namespace: "Web" }), /namespace "Web" must be/);
  assert.throws(() => deploymentManifests(myapp, { name: "a_b" }), /name "a_b" must be/);
  assert.throws(() => deploymentManifests(myapp, { replicas: -1 }), /replicas must be/);
  assert.throws(() => deploymentManifests(myapp, { replicas: 1.5 }), /replicas must be/);
  assert.throws(() => deploymentManifests([]), /no operators/);
});

test("several operators: their CRDs once each, sorted, one Deployment", () => {
  const manifests = deploymentManifests([echoServer, clusterHealth, foo, myapp, echoServer], {
    name: "examples",
  });
  assert.deepEqual(
    manifests.customResourceDefinitions.map((crd) => crd.metadata.name),
    [
      "clusterhealths.examples.operon.dev",
      "echoservers.examples.operon.dev",
      "foos.tutorial.my.domain",
      "myapps.apps.example.com",
    ],
  );
  assert.equal(manifests.objects.filter((object) => object.kind === "Deployment").length, 1);
});

test("the folder: kustomization lists every manifest; each YAML file round-trips", () => {
  const files = deploymentFiles(myapp, { module: "examples/myapp/myapp.ts" });
  assert.deepEqual(
    files.map((file) => file.path),
    [
      "kustomization.yaml",
      "namespace.yaml",
      "crds/myapps.apps.example.com.yaml",
      "rbac.yaml",
      "manager.yaml",
      "Dockerfile",
      "Dockerfile.dockerignore",
    ],
  );
  const byPath = new Map(files.map((file) => [file.path, file.content]));
  const kustomization = parse(byPath.get("kustomization.yaml")!);
  assert.deepEqual(kustomization, {
    apiVersion: "kustomize.config.k8s.io/v1beta1",
    kind: "Kustomization",
    resources: ["namespace.yaml", "crds/myapps.apps.example.com.yaml", "rbac.yaml", "manager.yaml"],
  });
  const manifests = deploymentManifests(myapp, { module: "examples/myapp/myapp.ts" });
  const fromFiles = (kustomization.resources as string[]).flatMap((path) =>
    parseAllDocuments(byPath.get(path)!).map((document) => document.toJS()),
  );
  assert.deepEqual(fromFiles, JSON.parse(JSON.stringify(manifests.objects)));
  for (const path of kustomization.resources as string[]) {
    assert.match(byPath.get(path)!, /^# Generated by `operon generate` from examples\/myapp/);
  }
  // YAML 1.1 readers take these for numbers or booleans unless quoted.
  assert.match(byPath.get("manager.yaml")!, /cpu: "1"/);
});

test("the Dockerfile: two stages, production dependencies, non-root, runs the module", () => {
  const text = dockerfile({ module: "src/my operator.ts" });
  assert.equal(text.match(/^FROM /gm)?.length, 2);
  assert.match(text, /^FROM node:24-alpine AS build$/m);
  assert.match(text, /^RUN npm ci --omit=dev/m);
  assert.match(text, /^COPY --from=build \/app \/app$/m);
  assert.match(text, /^USER 1000:1000$/m);
  assert.match(text, /^EXPOSE 8080 8081$/m);
  const entrypoint = text.match(/^ENTRYPOINT (.*)$/m)?.[1];
  assert.deepEqual(JSON.parse(entrypoint!), [
    "node",
    "--max-semi-space-size=4",
    "node_modules/operon/dist/cli/main.js",
    "run",
    "src/my operator.ts",
  ]);
  assert.match(dockerfile({ baseImage: "node:24-slim" }), /^FROM node:24-slim$/m);
  const ignore = deploymentFiles(foo).find((file) => file.path === "Dockerfile.dockerignore");
  assert.deepEqual(ignore?.content.trim().split("\n").slice(0, 3), [
    "node_modules",
    ".git",
    "deploy",
  ]);
});

test("writeGeneratedFiles writes the folder and leaves other files alone", async () => {
  const dir = await mkdtemp(join(tmpdir(), "operon-deploy-"));
  try {
    await writeFile(join(dir, "extra.yaml"), "kept: true\n");
    const files = deploymentFiles(clusterHealth, {
      module: "examples/cluster-health/cluster-health.ts",
    });
    const written = await writeGeneratedFiles(dir, files);
    assert.deepEqual(
      written,
      files.map((file) => join(dir, file.path)),
    );
    assert.deepEqual((await readdir(dir)).sort(), [
      "Dockerfile",
      "Dockerfile.dockerignore",
      "crds",
      "extra.yaml",
      "kustomization.yaml",
      "manager.yaml",
      "namespace.yaml",
      "rbac.yaml",
    ]);
    assert.equal(await readFile(join(dir, "extra.yaml"), "utf8"), "kept: true\n");
    assert.equal(
      await readFile(join(dir, "rbac.yaml"), "utf8"),
      files.find((file) => file.path === "rbac.yaml")!.content,
    );
    assert.equal(
      parse(await readFile(join(dir, "crds/clusterhealths.examples.operon.dev.yaml"), "utf8")).spec
        .scope,
      "Cluster",
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
