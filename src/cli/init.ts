/**
 * `operon init <dir>`: a new operator project in an empty directory, whose own `npm test` passes
 * out of the box (unit test, integration test against a local control plane, type check).
 */
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { basename, isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { writeGeneratedFiles } from "../manifests/deployment.ts";
import { type Command, UsageError } from "./command.ts";
import { kebabCase, pluralOf, scaffoldFiles } from "./scaffold/project.ts";

function text(values: Record<string, unknown>, name: string): string | undefined {
  const value = values[name];
  return typeof value === "string" ? value : undefined;
}

interface OwnPackage {
  version?: string;
  devDependencies?: Record<string, string>;
}

/** This package's package.json: the same relative path from `src/cli` and from `dist/cli`. */
async function ownPackage(): Promise<OwnPackage> {
  try {
    return JSON.parse(
      await readFile(new URL("../../package.json", import.meta.url), "utf8"),
    ) as OwnPackage;
  } catch {
    return {};
  }
}

const kindPattern = /^[A-Z][A-Za-z0-9]*$/;
const groupPattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/;
const labelPattern = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** A Kubernetes API version: `v1`, `v1beta2`, `v2alpha1`. */
const versionPattern = /^v[1-9][0-9]*((alpha|beta)[1-9][0-9]*)?$/;
/** Names the scaffold's modules import or define next to the kind. */
const reservedKinds = new Set(["ConfigMap", "K8s", "KubeClient", "ObjectOf", "Operator", "Type"]);

/**
 * The `operon` dependency to write: a path to a checkout or a packed tarball becomes an absolute
 * `file:` spec (npm resolves relative ones against the new project, not the current directory);
 * anything else (a version range, `file:`, a URL, `npm:`) is kept as given.
 */
export function operonDependency(spec: string | undefined, version: string | undefined): string {
  if (spec === undefined) return version ? `^${version}` : "latest";
  if (spec === "") throw new UsageError("--operon needs a version, path or URL");
  if (/^(file:|https?:|git(\+\w+)?:|npm:|github:)/.test(spec)) return spec;
  const explicitPath = spec.startsWith(".") || isAbsolute(spec) || spec.endsWith(".tgz");
  if (explicitPath || spec.includes("/")) {
    const path = resolve(spec);
    if (existsSync(path)) return `file:${path}`;
    if (explicitPath) throw new Error(`--operon ${spec}: no such file or directory`);
  }
  return spec;
}

/**
 * Where this copy of the package was installed from, when that was a tarball or a folder (as npm
 * recorded it in the hosting project's `node_modules/.package-lock.json`): the new project then
 * depends on the same files, which resolve whether or not a version is on the registry.
 * `undefined` for a registry install or a checkout of the repository.
 *
 * @example
 * await installedFrom("/home/me/app/node_modules/kube-operon"); // "file:/home/me/kube-operon-0.1.0.tgz"
 */
export async function installedFrom(packageRoot: string): Promise<string | undefined> {
  const marker = `${sep}node_modules${sep}`;
  const at = packageRoot.lastIndexOf(marker);
  if (at < 0) return undefined;
  const project = packageRoot.slice(0, at);
  const key = relative(project, packageRoot).split(sep).join("/");
  try {
    const lock = JSON.parse(
      await readFile(join(project, "node_modules", ".package-lock.json"), "utf8"),
    ) as { packages?: Record<string, { resolved?: string }> };
    const resolved = lock.packages?.[key]?.resolved;
    if (!resolved?.startsWith("file:")) return undefined;
    return `file:${resolve(project, resolved.slice("file:".length))}`;
  } catch {
    return undefined;
  }
}

/** A valid npm package name from a directory name. */
function packageNameOf(dir: string): string {
  const name = basename(resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[._-]+/, "")
    .slice(0, 214);
  return name || "operator";
}

export const init: Command = {
  path: ["init"],
  summary: "Create a new operator project in an empty directory",
  usage: "<dir> [--group g] [--version v] [--kind K] [--operon spec]",
  description:
    "Creates a new operator project in <dir> (which must be new or empty): a custom kind, an\n" +
    "operator that keeps a ConfigMap per object, a sample, a unit test of sync and an\n" +
    "integration test against a local control plane, a README, and package.json with Node.js 24\n" +
    "pinned as a dev dependency. Then: cd <dir> && npm test.\n\n" +
    "--operon sets the kube-operon dependency: a version range, a path to a tarball made with\n" +
    "npm pack, or any spec npm understands. Default: the tarball or folder this CLI was installed\n" +
    "from, if it was; else ^<this CLI's version> from the npm registry.",
  options: {
    group: { type: "string", description: "API group of the kind", default: "example.com" },
    version: {
      type: "string",
      description: "API version of the kind: v1, v1beta1, v1alpha1, ...",
      default: "v1",
    },
    kind: { type: "string", description: "The kind, UpperCamelCase", default: "Widget" },
    plural: { type: "string", description: "The kind's plural (default: from the kind)" },
    name: {
      type: "string",
      description: "The operator's name (default: the kind in lowercase, dashed)",
    },
    operon: {
      type: "string",
      description:
        "The kube-operon dependency: version, path, tarball or npm spec (default: where this CLI came from)",
    },
  },
  async run({ values, positionals, stdout }) {
    const dir = positionals[0];
    if (!dir) throw new UsageError("name the directory to create, e.g. operon init my-operator");
    if (positionals.length > 1) {
      throw new UsageError(
        `expected one directory, got ${positionals.length}: ${positionals.join(" ")}`,
      );
    }
    const group = text(values, "group") ?? "example.com";
    const kind = text(values, "kind") ?? "Widget";
    if (!kindPattern.test(kind)) {
      throw new UsageError(
        `--kind "${kind}" must be UpperCamelCase letters and digits, e.g. Widget`,
      );
    }
    if (reservedKinds.has(kind)) {
      throw new UsageError(
        `--kind ${kind} would clash with a name the project uses (${[...reservedKinds].join(", ")}); choose another kind`,
      );
    }
    if (!groupPattern.test(group)) {
      throw new UsageError(
        `--group "${group}" must be a lowercase DNS name with at least one dot, e.g. example.com`,
      );
    }
    const version = text(values, "version") ?? "v1";
    if (!versionPattern.test(version)) {
      throw new UsageError(
        `--version "${version}" is not a Kubernetes API version: use v1, v1beta1, v2alpha1, ...`,
      );
    }
    const plural = text(values, "plural") ?? pluralOf(kind);
    if (!labelPattern.test(plural)) {
      throw new UsageError(`--plural "${plural}" must be lowercase letters, digits and '-'`);
    }
    const operatorName = text(values, "name") ?? kebabCase(kind);
    if (!labelPattern.test(operatorName) || operatorName.length > 50) {
      throw new UsageError(
        `--name "${operatorName}" must be a DNS-1123 label of at most 50 characters, e.g. widget`,
      );
    }

    const target = resolve(dir);
    if (existsSync(target)) {
      const entries = await readdir(target).catch(() => undefined);
      if (entries === undefined) throw new Error(`${dir} exists and is not a directory`);
      const others = entries.filter((entry) => entry !== ".git");
      if (others.length > 0) {
        throw new Error(
          `${dir} is not empty (${others.slice(0, 3).join(", ")}${others.length > 3 ? ", ..." : ""}); ` +
            "choose a new directory, or empty this one",
        );
      }
    }
    const own = await ownPackage();
    const dev = own.devDependencies ?? {};
    const files = scaffoldFiles({
      packageName: packageNameOf(dir),
      group,
      version,
      kind,
      plural,
      operatorName,
      operon:
        text(values, "operon") === undefined
          ? ((await installedFrom(
              fileURLToPath(new URL("../../", import.meta.url)).replace(/[\\/]$/, ""),
            )) ?? operonDependency(undefined, own.version))
          : operonDependency(text(values, "operon"), own.version),
      versions: {
        node: dev.node ?? "24",
        typescript: dev.typescript ?? "5.9",
        typesNode: dev["@types/node"] ?? "24",
      },
    });
    const written = await writeGeneratedFiles(target, files);
    // Paths as the user would type them: relative below the current directory, else absolute.
    const shown = (path: string) => {
      const near = relative(process.cwd(), path);
      return near === "" ? "." : near.startsWith("..") || isAbsolute(near) ? path : near;
    };
    for (const path of written) stdout.write(`created ${shown(path)}\n`);
    stdout.write(
      `\nNext:\n  cd ${shown(target)}\n  npm test        # installs dependencies on first use, then runs the tests\n`,
    );
    return 0;
  },
};
