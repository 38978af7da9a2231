/**
 * The files of a new operator project (`operon init`): one custom kind, one operator that keeps a
 * ConfigMap per object, a sample, a unit test and an integration test, with Node.js 24 pinned as
 * a dev dependency so `npm test` runs the same everywhere.
 */
import type { GeneratedFile } from "../../manifests/deployment.ts";

/** What a new project is made of. */
export interface ScaffoldOptions {
  /** The npm package name. */
  packageName: string;
  /** The custom kind's API group, e.g. `example.com`. */
  group: string;
  /** The custom kind's API version, e.g. `v1` or `v1alpha1`. */
  version: string;
  /** UpperCamelCase, e.g. `Widget`. */
  kind: string;
  /** Lowercase, e.g. `widgets`. */
  plural: string;
  /** The operator's name (a DNS-1123 label), e.g. `widget`. */
  operatorName: string;
  /** The `kube-operon` dependency: a version range, a `file:` path or tarball, a URL. */
  operon: string;
  /** Versions of the pinned dev dependencies. */
  versions: { node: string; typescript: string; typesNode: string };
}

/** `MyWidget` → `my-widget`: the file name of the kind's module. */
export function kebabCase(kind: string): string {
  return kind
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1-$2")
    .toLowerCase();
}

/** An English plural good enough for a default: `Widget` → `widgets`, `Policy` → `policies`. */
export function pluralOf(kind: string): string {
  const lower = kind.toLowerCase();
  if (/(s|x|z|ch|sh)$/.test(lower)) return `${lower}es`;
  if (/[^aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`;
  return `${lower}s`;
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

export function scaffoldFiles(options: ScaffoldOptions): GeneratedFile[] {
  const { group, version, kind, plural, operatorName, versions } = options;
  const file = kebabCase(kind);
  const singular = kind.toLowerCase();
  const apiVersion = `${group}/${version}`;

  const packageJson = {
    name: options.packageName,
    version: "0.1.0",
    private: true,
    type: "module",
    engines: { node: ">=22.18" },
    scripts: {
      setup: "sh scripts/ensure-deps.sh",
      test: 'sh scripts/ensure-deps.sh && tsc --noEmit && node --test --test-global-setup=test/control-plane.ts "src/**/*.test.ts"',
      check: "tsc --noEmit",
      start: "operon run src/operator.ts",
      dev: "operon dev src/operator.ts --apply-samples",
      "install-crds": "operon install src/operator.ts",
      generate: "operon generate src/operator.ts",
    },
    dependencies: { "kube-operon": options.operon },
    devDependencies: {
      "@types/node": versions.typesNode,
      node: versions.node,
      typescript: versions.typescript,
    },
    // npm runs the `node` package's install script only when allowed; it puts the pinned Node.js on
    // the scripts' PATH.
    allowScripts: { node: true },
  };

  const tsconfig = {
    compilerOptions: {
      target: "ES2023",
      lib: ["ES2023"],
      module: "NodeNext",
      moduleResolution: "NodeNext",
      types: ["node"],
      strict: true,
      noUncheckedIndexedAccess: true,
      verbatimModuleSyntax: true,
      erasableSyntaxOnly: true,
      allowImportingTsExtensions: true,
      skipLibCheck: true,
      noEmit: true,
    },
    include: ["src", "test"],
  };

  const ensureDeps = `#!/bin/sh
# Installs the npm dependencies (including the pinned Node.js) when they are missing or older than
# package-lock.json, so \`npm test\` works on a fresh clone by itself.
set -e
cd "$(dirname "$0")/.."
stamp=node_modules/.package-lock.json
if [ ! -f package-lock.json ]; then
  echo "installing npm dependencies (npm install)..." >&2
  npm install --no-audit --no-fund --loglevel=error >&2
elif [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ ! -x node_modules/.bin/node ]; then
  echo "installing npm dependencies (npm ci)..." >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
`;

  const controlPlaneSetup = `/**
 * One local Kubernetes control plane for the whole test run: \`npm test\` passes this module to
 * \`node --test --test-global-setup\`, so it starts once before the test files (each runs in its
 * own process) and stops after the last; \`testControlPlane()\` in the files attaches to it. A
 * test file run on its own starts a private one instead.
 */
import { testControlPlaneSetup } from "kube-operon/testkit";

export const { globalSetup, globalTeardown } = testControlPlaneSetup();
`;

  const resource = `/**
 * The ${kind} kind: what users write (spec) and what the operator reports (status). Its
 * CustomResourceDefinition is generated from this declaration.
 */
import { defineResource, K8s, type ObjectOf, Type } from "kube-operon";

export const ${kind} = defineResource({
  group: "${group}",
  version: "${version}",
  kind: "${kind}",
  plural: "${plural}",
  scope: "Namespaced",
  description: "A ${kind} publishes a message in a ConfigMap of the same name.",
  spec: Type.Object({
    message: Type.String({ minLength: 1, description: "The message to publish." }),
  }),
  status: K8s.Status({
    configMap: Type.Optional(Type.String({ description: "The ConfigMap holding the message." })),
  }),
  printerColumns: [
    { name: "Message", type: "string", jsonPath: ".spec.message" },
    { name: "ConfigMap", type: "string", jsonPath: ".status.configMap" },
  ],
});

export type ${kind} = ObjectOf<typeof ${kind}>;
`;

  const operator = `/**
 * The ${operatorName} operator: for every ${kind}, a ConfigMap holding its message. Operon
 * watches ${plural} and their ConfigMaps, applies what sync returns, deletes ConfigMaps no longer
 * returned, and writes the status.
 */
import { ConfigMap, defineOperator } from "kube-operon";
import { ${kind} } from "./${file}.ts";

export default defineOperator({
  name: "${operatorName}",
  parent: ${kind},
  children: { configMaps: ConfigMap },
  sync({ parent }) {
    const name = parent.metadata.name!;
    return {
      status: { configMap: name },
      children: [
        {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name },
          data: { message: parent.spec.message },
        },
      ],
    };
  },
});
`;

  const unitTest = `/** sync on its own: no cluster, plain objects in and out. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { callSync } from "kube-operon/testkit";
import operator from "./operator.ts";
import type { ${kind} } from "./${file}.ts";

function sample${kind}(message: string): ${kind} {
  return {
    apiVersion: "${apiVersion}",
    kind: "${kind}",
    metadata: { name: "hello", namespace: "default" },
    spec: { message },
  };
}

test("sync returns a ConfigMap with the message, named after the ${kind}", async () => {
  const result = await callSync(operator, { parent: sample${kind}("Hello") });
  assert.deepEqual(result.children, [
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "hello" },
      data: { message: "Hello" },
    },
  ]);
  assert.deepEqual(result.status, { configMap: "hello" });
});
`;

  const integrationTest = `/**
 * The operator against a real local Kubernetes control plane (started by the test kit; the
 * binaries are downloaded or built once and cached in ~/.cache/operon).
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ConfigMap, KubeClient } from "kube-operon";
import {
  eventually,
  getOrUndefined,
  installCustomResources,
  runOperator,
  testControlPlane,
} from "kube-operon/testkit";
import operator from "./operator.ts";
import { ${kind} } from "./${file}.ts";

let client: KubeClient;
before(async () => {
  const plane = await testControlPlane();
  client = await KubeClient.fromKubeConfig({
    kubeconfig: plane.kubeconfigPath,
    fieldManager: "test",
  });
  await installCustomResources(client, [${kind}]);
});
after(() => client?.close());

test("a ${kind} gets a ConfigMap with its message, which follows changes", async () => {
  const plane = await testControlPlane();
  const namespace = await plane.createNamespace("${singular.slice(0, 20)}");
  const harness = await runOperator(operator, { plane });
  try {
    await client.create(${kind}, {
      metadata: { name: "hello", namespace },
      spec: { message: "Hello" },
    });
    const configMap = await eventually(() => getOrUndefined(client, ConfigMap, "hello", namespace));
    assert.equal(configMap.data?.message, "Hello");
    assert.equal(configMap.metadata.ownerReferences?.[0]?.kind, "${kind}");
    const created = await eventually(async () => {
      const current = await client.get(${kind}, "hello", { namespace });
      return current.status?.configMap ? current : undefined;
    });
    assert.equal(created.status?.configMap, "hello");

    await client.patch(${kind}, "hello", { spec: { message: "Goodbye" } }, { namespace });
    await eventually(
      async () =>
        (await client.get(ConfigMap, "hello", { namespace })).data?.message === "Goodbye",
      { message: "the ConfigMap follows the new message" },
    );
    assert.deepEqual(harness.errors(\`\${namespace}/hello\`), []);
  } finally {
    await harness.stop();
  }
});
`;

  const sample = `apiVersion: ${apiVersion}
kind: ${kind}
metadata:
  name: ${singular}-sample
spec:
  message: Hello from ${kind}
`;

  const readme = `# ${options.packageName}

A Kubernetes operator written with [Operon](https://www.npmjs.com/package/kube-operon): for every
\`${kind}\` (\`${apiVersion}\`), it keeps a ConfigMap holding the ${kind}'s message.

| file | what it is |
| --- | --- |
| \`src/${file}.ts\` | the ${kind} kind: its spec, status and printer columns; the CRD is generated from it |
| \`src/operator.ts\` | the operator: \`sync\` says which ConfigMap each ${kind} should have |
| \`src/operator.test.ts\` | a unit test of \`sync\`, no cluster needed |
| \`src/operator.integration.test.ts\` | the operator against a real local control plane |
| \`test/control-plane.ts\` | starts one control plane for the whole test run (\`--test-global-setup\`) |
| \`samples/${singular}.yaml\` | an example ${kind} |

## Develop

\`\`\`sh
npm test                # installs dependencies (with a pinned Node.js 24) on first use, type-checks, runs every test
\`\`\`

Run the tests with \`npm test\` (or \`npm exec -- node --test src/operator.test.ts\` for one file),
not with a bare \`node\`: npm puts the Node.js 24 pinned in \`devDependencies\` first on the PATH.
A machine's own \`node\` may be older: Node.js 20 fails with
\`TypeError [ERR_UNKNOWN_FILE_EXTENSION]: Unknown file extension ".ts"\`, because only Node.js 22.18
and newer run TypeScript files. Use the npm scripts, or install Node.js 24
(<https://nodejs.org/en/download>, \`nvm install 24\`).

The integration tests run against a local control plane (etcd, kube-apiserver, controller
manager, scheduler, simulated nodes). \`test/control-plane.ts\` starts one for the whole run, before
the first test file, and stops it after the last; each test takes a fresh namespace with
\`plane.createNamespace()\`. A file run on its own starts its own. The binaries are fetched or
built once and cached in \`~/.cache/operon\`.

## Develop

\`\`\`sh
npm run dev             # the local cluster, the CRD, the sample, and the operator, restarted on save
\`\`\`

\`operon dev\` starts a local control plane when none runs (and stops it on Ctrl-C), installs the
${kind} CRD (again when its schema changes), applies \`samples/\` once, runs the operator, and
restarts it within about a second of a save — after checking its types: an error is shown and
the running version keeps running. Each reconcile is one line; the trace viewer at
<http://127.0.0.1:8090/> shows why each one ran and what it changed.

## Run against a cluster

With a kubeconfig for the cluster (\`--kubeconfig\` and \`--context\` choose another):

\`\`\`sh
npm run install-crds    # applies the ${kind} CRD
npm start               # runs the operator in the foreground; Ctrl-C stops it
kubectl apply -f samples/${singular}.yaml
kubectl get ${plural}
\`\`\`

## Deploy

\`\`\`sh
npm run generate -- --image registry.example.com/${options.packageName}:0.1.0
docker build -f deploy/Dockerfile -t registry.example.com/${options.packageName}:0.1.0 .
docker push registry.example.com/${options.packageName}:0.1.0
kubectl apply -k deploy
\`\`\`

\`deploy/\` holds the namespace, the CRD, the RBAC the operator needs (and nothing more), and a
Deployment of two replicas with leader election, health probes and metrics. The image build needs
the \`kube-operon\` dependency to be reachable from inside the build (a registry version, not a local
\`file:\` path).
`;

  return [
    { path: "package.json", content: json(packageJson) },
    { path: "tsconfig.json", content: json(tsconfig) },
    { path: ".gitignore", content: "node_modules/\n*.log\n" },
    { path: "README.md", content: readme },
    { path: "scripts/ensure-deps.sh", content: ensureDeps },
    { path: "test/control-plane.ts", content: controlPlaneSetup },
    { path: `src/${file}.ts`, content: resource },
    { path: "src/operator.ts", content: operator },
    { path: "src/operator.test.ts", content: unitTest },
    { path: "src/operator.integration.test.ts", content: integrationTest },
    { path: `samples/${singular}.yaml`, content: sample },
  ];
}
