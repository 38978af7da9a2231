import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { UsageError } from "./command.ts";
import { installedFrom, operonDependency } from "./init.ts";
import { kebabCase, pluralOf, scaffoldFiles } from "./scaffold/project.ts";

const cli = fileURLToPath(new URL("./main.ts", import.meta.url));
const ownPackage = JSON.parse(
  await readFile(new URL("../../package.json", import.meta.url), "utf8"),
) as { version: string; devDependencies: Record<string, string> };

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "operon-init-"));
});
after(() => rm(dir, { recursive: true, force: true }));

function operon(...args: string[]) {
  const result = spawnSync(process.execPath, ["--conditions=operon-source", cli, ...args], {
    cwd: dir,
    encoding: "utf8",
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test("names: plurals and file names from the kind", () => {
  assert.equal(pluralOf("Widget"), "widgets");
  assert.equal(pluralOf("Policy"), "policies");
  assert.equal(pluralOf("Gateway"), "gateways");
  assert.equal(pluralOf("Box"), "boxes");
  assert.equal(pluralOf("Mesh"), "meshes");
  assert.equal(kebabCase("Widget"), "widget");
  assert.equal(kebabCase("MyWidget"), "my-widget");
  assert.equal(kebabCase("DNSRecord"), "dns-record");
});

test("the operon dependency: this version by default, paths become absolute file: specs", async () => {
  assert.equal(operonDependency(undefined, "0.1.0"), "^0.1.0");
  assert.equal(operonDependency(undefined, undefined), "latest");
  assert.equal(operonDependency("^2.0.0", "0.1.0"), "^2.0.0");
  assert.equal(operonDependency("file:../operon", "0.1.0"), "file:../operon");
  assert.equal(operonDependency("github:me/operon", "0.1.0"), "github:me/operon");
  const tarball = join(dir, "operon-0.1.0.tgz");
  await writeFile(tarball, "");
  assert.equal(operonDependency(tarball, "0.1.0"), `file:${tarball}`);
  assert.throws(() => operonDependency("./missing.tgz", "0.1.0"), /no such file/);
  assert.throws(() => operonDependency("", "0.1.0"), UsageError);
});

test("a copy installed from a tarball scaffolds projects that depend on the same tarball", async () => {
  const project = join(dir, "app");
  const packageRoot = join(project, "node_modules", "kube-operon");
  await mkdir(packageRoot, { recursive: true });
  const lock = (resolved: string) =>
    writeFile(
      join(project, "node_modules", ".package-lock.json"),
      JSON.stringify({ packages: { "node_modules/kube-operon": { version: "0.1.0", resolved } } }),
    );
  await lock("file:../kube-operon-0.1.0.tgz");
  assert.equal(await installedFrom(packageRoot), `file:${join(dir, "kube-operon-0.1.0.tgz")}`);
  await lock("https://registry.npmjs.org/kube-operon/-/kube-operon-0.1.0.tgz");
  assert.equal(await installedFrom(packageRoot), undefined, "a registry install keeps ^version");
  assert.equal(await installedFrom(join(dir, "checkout")), undefined, "a checkout keeps ^version");
});

test("the scaffold's files, with the kind's names in place", () => {
  const files = scaffoldFiles({
    packageName: "gizmos",
    group: "toys.example.com",
    version: "v1",
    kind: "MyGizmo",
    plural: "mygizmos",
    operatorName: "my-gizmo",
    operon: "^0.1.0",
    versions: { node: "24.21.0", typescript: "5.9.3", typesNode: "24.19.2" },
  });
  assert.deepEqual(
    files.map((file) => file.path),
    [
      "package.json",
      "tsconfig.json",
      ".gitignore",
      "README.md",
      "scripts/ensure-deps.sh",
      "test/control-plane.ts",
      "src/my-gizmo.ts",
      "src/operator.ts",
      "src/operator.test.ts",
      "src/operator.integration.test.ts",
      "samples/mygizmo.yaml",
    ],
  );
  const byPath = new Map(files.map((file) => [file.path, file.content]));
  const pkg = JSON.parse(byPath.get("package.json")!);
  assert.equal(pkg.type, "module");
  assert.deepEqual(pkg.dependencies, { "kube-operon": "^0.1.0" });
  assert.equal(pkg.devDependencies.node, "24.21.0");
  assert.match(
    pkg.scripts.test,
    /^sh scripts\/ensure-deps\.sh && tsc --noEmit && node --test --test-global-setup=test\/control-plane\.ts /,
  );
  assert.equal(pkg.scripts.dev, "operon dev src/operator.ts --apply-samples");
  assert.match(byPath.get("README.md")!, /npm run dev {13}# the local cluster/);
  assert.match(byPath.get("test/control-plane.ts")!, /testControlPlaneSetup\(\)/);
  assert.match(byPath.get("README.md")!, /not with a bare `node`/);
  assert.match(byPath.get("README.md")!, /Unknown file extension "\.ts"/);
  assert.match(byPath.get("src/my-gizmo.ts")!, /group: "toys\.example\.com"/);
  assert.match(byPath.get("src/my-gizmo.ts")!, /export const MyGizmo = defineResource/);
  assert.match(byPath.get("src/operator.ts")!, /import \{ MyGizmo \} from "\.\/my-gizmo\.ts";/);
  assert.match(byPath.get("src/operator.ts")!, /name: "my-gizmo"/);
  assert.match(byPath.get("src/operator.test.ts")!, /from "kube-operon\/testkit"/);
  assert.match(byPath.get("src/operator.integration.test.ts")!, /runOperator\(operator/);
  assert.deepEqual(parse(byPath.get("samples/mygizmo.yaml")!), {
    apiVersion: "toys.example.com/v1",
    kind: "MyGizmo",
    metadata: { name: "mygizmo-sample" },
    spec: { message: "Hello from MyGizmo" },
  });
});

test("operon init creates the project in a new directory and says what next", async () => {
  const result = operon("init", "widgets", "--group", "acme.example.com");
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /created widgets\/package\.json/);
  assert.match(result.stdout, /cd widgets\n {2}npm test/);
  const pkg = JSON.parse(await readFile(join(dir, "widgets", "package.json"), "utf8"));
  assert.equal(pkg.name, "widgets");
  assert.equal(pkg.dependencies["kube-operon"], `^${ownPackage.version}`);
  assert.equal(pkg.devDependencies.node, ownPackage.devDependencies.node);
  assert.equal(pkg.devDependencies.typescript, ownPackage.devDependencies.typescript);
  const kind = await readFile(join(dir, "widgets", "src", "widget.ts"), "utf8");
  assert.match(kind, /group: "acme\.example\.com"/);
  assert.match(kind, /plural: "widgets"/);
});

test("operon init --version sets the kind's API version everywhere it appears", async () => {
  const result = operon("init", "gadgets", "--kind", "Gadget", "--version", "v1alpha2");
  assert.equal(result.code, 0, result.stderr);
  const kind = await readFile(join(dir, "gadgets", "src", "gadget.ts"), "utf8");
  assert.match(kind, /version: "v1alpha2"/);
  const sample = parse(await readFile(join(dir, "gadgets", "samples", "gadget.yaml"), "utf8"));
  assert.equal(sample.apiVersion, "example.com/v1alpha2");
  const unit = await readFile(join(dir, "gadgets", "src", "operator.test.ts"), "utf8");
  assert.match(unit, /apiVersion: "example\.com\/v1alpha2"/);
});

test("operon init refuses a directory with files, and bad names as usage errors", async () => {
  await mkdir(join(dir, "taken"));
  await writeFile(join(dir, "taken", "notes.txt"), "mine\n");
  const taken = operon("init", "taken");
  assert.equal(taken.code, 1);
  assert.match(taken.stderr, /taken is not empty \(notes\.txt\); choose a new directory/);

  await mkdir(join(dir, "repo", ".git"), { recursive: true });
  assert.equal(operon("init", "repo").code, 0, "a directory with only .git is fine");

  for (const [args, message] of [
    [[], /name the directory/],
    [["x", "--kind", "widget"], /--kind "widget" must be UpperCamelCase/],
    [["x", "--group", "local"], /--group "local" must be a lowercase DNS name/],
    [["x", "--version", "1.0"], /--version "1\.0" is not a Kubernetes API version/],
    [["x", "--kind", "ConfigMap"], /--kind ConfigMap would clash/],
    [["x", "--name", "My_Op"], /--name "My_Op" must be a DNS-1123 label/],
    [["x", "y"], /expected one directory/],
  ] as const) {
    const result = operon("init", ...args);
    assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    assert.match(result.stderr, message);
  }
  const help = operon("init", "--help");
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--operon <value>/);
});
