/**
 * Import rules for `src/`: the layering table of CONTRIBUTING.md, checked by `npm run check`.
 * Each folder may import only the folders listed for it (and `src/logger.ts`); tests and their
 * test data may also use the testkit. Change the table here and in CONTRIBUTING.md together.
 */
// `common/` (primitives with no imports of their own) may be imported by every folder.
const layers = {
  common: [],
  resources: [],
  client: ["resources"],
  queue: [],
  cache: ["client", "resources"],
  controller: ["cache", "queue", "client", "resources"],
  operator: ["controller", "cache", "queue", "client", "resources"],
  manifests: ["operator", "resources", "webhook"],
  webhook: ["client", "resources"],
  manager: [
    "operator",
    "controller",
    "cache",
    "queue",
    "client",
    "resources",
    "manifests",
    "webhook",
  ],
  metacontroller: [
    "manager",
    "manifests",
    "operator",
    "controller",
    "cache",
    "queue",
    "client",
    "resources",
  ],
  testkit: [
    "manager",
    "operator",
    "controller",
    "cache",
    "queue",
    "client",
    "resources",
    "manifests",
    "webhook",
  ],
  cli: [
    "testkit",
    "metacontroller",
    "manager",
    "operator",
    "controller",
    "cache",
    "queue",
    "client",
    "resources",
    "manifests",
    "webhook",
  ],
};

const testFile = "(\\.test\\.ts$|/testdata/)";

const layerRules = Object.entries(layers).map(([folder, allowed]) => ({
  name: `layer-${folder}`,
  comment: `src/${folder}/ may import only: ${allowed.length ? allowed.join(", ") : "nothing else in src"} (CONTRIBUTING.md, Layout).`,
  severity: "error",
  from: { path: `^src/${folder}/`, pathNot: testFile },
  to: {
    path: "^src/",
    pathNot: [
      `^src/${folder}/`,
      "^src/logger\\.ts$",
      ...(folder === "common" ? [] : ["^src/common/"]),
      ...allowed.map((name) => `^src/${name}/`),
    ],
  },
}));

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: "no-test-code-in-product",
      comment: "Product code never imports tests or test data.",
      severity: "error",
      from: { path: "^src/", pathNot: testFile },
      to: { path: testFile },
    },
    {
      name: "no-public-entry-inside",
      comment: "Inside src/, import the file that defines a thing, not the public entry points.",
      severity: "error",
      from: { path: "^src/", pathNot: ["^src/index\\.ts$", "^src/testkit/index\\.ts$", testFile] },
      to: { path: ["^src/index\\.ts$"] },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: ["node_modules", "^dist/", "^\\.api/"] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["operon-source", "import", "types", "default"],
      extensions: [".ts", ".js", ".json"],
    },
  },
};
