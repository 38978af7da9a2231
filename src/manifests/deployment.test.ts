import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parse, parseAllDocuments } from "yaml";
import clusterHealth from "../../examples/cluster-health/cluster-health.ts";
import cronjob, { cronJobConversion } from "../../examples/cronjob/cronjob.ts";
import echoServer from "../../examples/echo-server/echo-server.ts";
import foo from "../../examples/foo/foo.ts";
import myapp, { defaultMyApp, validateMyApp } from "../../examples/myapp/myapp.ts";
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
import { defaultSecureMetricsPort } from "./webhooks.ts";

function container(manifests: ReturnType<typeof deploymentManifests>) {
  const found = manifests.deployment.spec?.template.spec?.containers[0];
  assert.ok(found);
  return found;
}

test("the objects come in apply order: Namespace, CRDs, RBAC, metrics roles, Service, Deployment", () => {
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
      "ClusterRole /myapp-metrics-auth",
      "ClusterRoleBinding /myapp-metrics-auth",
      "ClusterRole /myapp-metrics-reader",
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
    "--metrics-bind-address=:8443",
    "--metrics-secure",
    "--health-probe-bind-address=:8081",
  ]);
  assert.deepEqual(main.ports, [
    { name: "https", containerPort: defaultSecureMetricsPort, protocol: "TCP" },
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
    { name: "https", port: 8443, targetPort: "https", protocol: "TCP" },
  ]);
  assert.deepEqual(
    manifests.metricsRbac?.objects.map((object) => [object.kind, object.metadata.name]),
    [
      ["ClusterRole", "echo-server-metrics-auth"],
      ["ClusterRoleBinding", "echo-server-metrics-auth"],
      ["ClusterRole", "echo-server-metrics-reader"],
    ],
  );
  assert.deepEqual(manifests.metricsRbac?.authRole.rules, [
    { apiGroups: ["authentication.k8s.io"], resources: ["tokenreviews"], verbs: ["create"] },
    { apiGroups: ["authorization.k8s.io"], resources: ["subjectaccessreviews"], verbs: ["create"] },
  ]);
  assert.deepEqual(manifests.metricsRbac?.readerRole.rules, [
    { nonResourceURLs: ["/metrics"], verbs: ["get"] },
  ]);
  assert.deepEqual(manifests.metricsRbac?.authRoleBinding.subjects, [
    { kind: "ServiceAccount", name: "echo-server", namespace: "echo-server-system" },
  ]);
});

test("insecure metrics: plain HTTP on 8080, no roles for them", () => {
  const manifests = deploymentManifests(echoServer, { metricsSecure: false });
  const main = container(manifests);
  assert.deepEqual(main.args, [
    "--leader-elect",
    "--metrics-bind-address=:8080",
    "--health-probe-bind-address=:8081",
  ]);
  assert.deepEqual(main.ports?.[0], {
    name: "metrics",
    containerPort: defaultMetricsPort,
    protocol: "TCP",
  });
  assert.deepEqual(manifests.metricsService.spec?.ports, [
    { name: "metrics", port: 8080, targetPort: "metrics", protocol: "TCP" },
  ]);
  assert.equal(manifests.metricsRbac, undefined);
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
    "--metrics-bind-address=:8443",
    "--metrics-secure",
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
  assert.match(dockerfile({ ports: [8443, 8081, 9443] }), /^EXPOSE 8443 8081 9443$/m);
  assert.match(text, /^ENV NODE_ENV=production MALLOC_ARENA_MAX=2$/m);
  const entrypoint = text.match(/^ENTRYPOINT (.*)$/m)?.[1];
  assert.deepEqual(JSON.parse(entrypoint!), [
    "node",
    "--max-semi-space-size=4",
    "node_modules/kube-operon/bin/operon.js",
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

test("webhooks: a Service, the configurations, an empty Secret Operon fills, and the roles that takes", () => {
  const manifests = deploymentManifests(myapp, { webhooks: [validateMyApp, defaultMyApp] });
  const webhooks = manifests.webhooks!;
  const main = container(manifests);
  assert.deepEqual(main.args?.slice(-4), [
    "--webhook-bind-address=:9443",
    "--webhook-cert-secret=myapp-webhook-certs",
    "--webhook-service=myapp-webhook",
    "--webhook-configuration-name=myapp",
  ]);
  assert.deepEqual(main.ports?.at(-1), {
    name: "webhook-server",
    containerPort: 9443,
    protocol: "TCP",
  });
  assert.deepEqual(webhooks.service.spec, {
    selector: manifests.deployment.spec?.selector.matchLabels,
    ports: [{ name: "https", port: 443, targetPort: "webhook-server", protocol: "TCP" }],
  });
  assert.deepEqual(
    webhooks.configurations.map((config) => [config.kind, config.metadata.name]),
    [
      ["ValidatingWebhookConfiguration", "myapp"],
      ["MutatingWebhookConfiguration", "myapp"],
    ],
  );
  const validating = webhooks.configurations[0]!.webhooks![0]!;
  assert.deepEqual(validating.clientConfig, {
    service: {
      namespace: "myapp-system",
      name: "myapp-webhook",
      path: "/validate-apps-example-com-v1-myapp",
      port: 443,
    },
  });
  assert.equal(validating.name, "vmyapp-v1.apps.example.com");
  assert.deepEqual(webhooks.secret, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: "myapp-webhook-certs",
      namespace: "myapp-system",
      labels: manifests.deployment.metadata.labels,
    },
    type: "Opaque",
  });
  assert.deepEqual(
    webhooks.rbac.map((object) => [object.kind, object.metadata.name, object.metadata.namespace]),
    [
      ["Role", "myapp-webhook-certs", "myapp-system"],
      ["RoleBinding", "myapp-webhook-certs", "myapp-system"],
      ["ClusterRole", "myapp-webhook-ca-injector", undefined],
      ["ClusterRoleBinding", "myapp-webhook-ca-injector", undefined],
    ],
  );
  assert.deepEqual((webhooks.rbac[0] as { rules: unknown }).rules, [
    {
      apiGroups: [""],
      resources: ["secrets"],
      resourceNames: ["myapp-webhook-certs"],
      verbs: ["get", "update"],
    },
  ]);
  assert.deepEqual((webhooks.rbac[2] as { rules: unknown }).rules, [
    {
      apiGroups: ["admissionregistration.k8s.io"],
      resources: ["mutatingwebhookconfigurations", "validatingwebhookconfigurations"],
      resourceNames: ["myapp"],
      verbs: ["get", "patch"],
    },
  ]);
  const files = deploymentFiles(myapp, { webhooks: [validateMyApp, defaultMyApp] });
  const kustomization = parse(files.find((file) => file.path === "kustomization.yaml")!.content);
  assert.ok(kustomization.resources.includes("webhooks.yaml"));
  const byPath = new Map(files.map((file) => [file.path, file.content]));
  const fromFiles = (kustomization.resources as string[]).flatMap((path) =>
    parseAllDocuments(byPath.get(path)!).map((document) => document.toJS()),
  );
  assert.deepEqual(fromFiles, JSON.parse(JSON.stringify(manifests.objects)));
  assert.match(byPath.get("Dockerfile")!, /^EXPOSE 8443 8081 9443$/m);
});

test("conversions: the CRD converts through the webhook Service; the injector may patch that CRD only", () => {
  const manifests = deploymentManifests(cronjob, { conversions: [cronJobConversion] });
  const crd = manifests.customResourceDefinitions[0]!;
  assert.deepEqual(crd.spec.conversion, {
    strategy: "Webhook",
    webhook: {
      clientConfig: {
        service: {
          namespace: "cronjob-system",
          name: "cronjob-webhook",
          path: "/convert",
          port: 443,
        },
      },
      conversionReviewVersions: ["v1"],
    },
  });
  assert.deepEqual(manifests.webhooks?.configurations, []);
  assert.deepEqual((manifests.webhooks!.rbac[2] as { rules: unknown }).rules, [
    {
      apiGroups: ["apiextensions.k8s.io"],
      resources: ["customresourcedefinitions"],
      resourceNames: ["cronjobs.batch.tutorial.kubebuilder.io"],
      verbs: ["get", "patch"],
    },
  ]);
});

test("cert-manager: an Issuer and a Certificate, the Secret mounted, CA injection by annotation, no Secret access", () => {
  const manifests = deploymentManifests(cronjob, {
    webhooks: [validateMyApp],
    conversions: [cronJobConversion],
    certificates: "cert-manager",
  });
  const webhooks = manifests.webhooks!;
  assert.deepEqual(
    webhooks.certManager.map((object) => [object.kind, object.metadata.name]),
    [
      ["Issuer", "cronjob-selfsigned-issuer"],
      ["Certificate", "cronjob-serving-cert"],
    ],
  );
  assert.deepEqual((webhooks.certManager[1] as unknown as { spec: unknown }).spec, {
    dnsNames: [
      "cronjob-webhook.cronjob-system.svc",
      "cronjob-webhook.cronjob-system.svc.cluster.local",
    ],
    issuerRef: { kind: "Issuer", name: "cronjob-selfsigned-issuer" },
    secretName: "cronjob-webhook-certs",
  });
  const inject = { "cert-manager.io/inject-ca-from": "cronjob-system/cronjob-serving-cert" };
  assert.deepEqual(webhooks.configurations[0]!.metadata.annotations, inject);
  const crd = manifests.customResourceDefinitions.find((c) =>
    c.metadata.name?.startsWith("cronjobs"),
  );
  assert.deepEqual(crd?.metadata.annotations, inject);
  assert.equal(webhooks.secret, undefined);
  assert.deepEqual(webhooks.rbac, []);
  const main = container(manifests);
  assert.ok(main.args?.includes("--webhook-cert-path=/tmp/k8s-webhook-server/serving-certs"));
  assert.deepEqual(main.volumeMounts?.at(-1), {
    name: "webhook-certs",
    mountPath: "/tmp/k8s-webhook-server/serving-certs",
    readOnly: true,
  });
  assert.deepEqual(manifests.deployment.spec?.template.spec?.volumes?.at(-1), {
    name: "webhook-certs",
    secret: { secretName: "cronjob-webhook-certs" },
  });
  assert.throws(
    () => deploymentManifests(cronjob, { certificates: "vault" as never }),
    /certificates must be "operon" or "cert-manager"/,
  );
});

test("sharding: three replicas with --sharding, a PodDisruptionBudget, and the member Leases granted", () => {
  const sharded = { ...myapp, sharding: true };
  for (const manifests of [
    deploymentManifests(sharded, { namespace: "apps" }),
    deploymentManifests(myapp, { namespace: "apps", sharding: true }),
  ]) {
    assert.equal(manifests.deployment.spec?.replicas, 3);
    assert.deepEqual(container(manifests).args?.slice(0, 2), ["--leader-elect", "--sharding"]);
    const budget = manifests.podDisruptionBudget;
    assert.ok(budget, "a PodDisruptionBudget");
    assert.equal(budget.metadata.namespace, "apps");
    assert.equal(budget.spec?.maxUnavailable, 1);
    assert.deepEqual(
      budget.spec?.selector?.matchLabels,
      manifests.deployment.spec?.selector.matchLabels,
    );
    assert.ok(manifests.objects.includes(budget));
    const leases = manifests.rbac.roles
      .find((role) => role.metadata.namespace === "apps")
      ?.rules?.find((rule) => rule.resources?.includes("leases"));
    assert.deepEqual(leases?.verbs, ["create", "delete", "get", "list", "update", "watch"]);
  }
  const files = deploymentFiles(myapp, { sharding: true, replicas: 5 });
  const manager = parseAllDocuments(files.find((file) => file.path === "manager.yaml")!.content);
  const kinds = manager.map((doc) => (doc.toJS() as { kind: string }).kind);
  assert.deepEqual(kinds, ["Service", "Deployment", "PodDisruptionBudget"]);
  assert.equal((manager[1]!.toJS() as { spec: { replicas: number } }).spec.replicas, 5);
  // Without sharding: no budget, the Lease verbs of leader election only.
  const plain = deploymentManifests(myapp, { namespace: "apps" });
  assert.equal(plain.podDisruptionBudget, undefined);
  assert.ok(!container(plain).args?.includes("--sharding"));
});
