/**
 * `operon metacontroller install|run|generate`: Metacontroller's CompositeControllers and
 * DecoratorControllers, and their hook servers, run unchanged on Operon's runtime.
 */
import { readFile } from "node:fs/promises";
import { parseAllDocuments } from "yaml";
import { KubeClient } from "../client/client.ts";
import { parseDuration } from "../manager/duration.ts";
import { writeGeneratedFiles } from "../manifests/deployment.ts";
import { toYaml } from "../manifests/yaml.ts";
import { metacontrollerCrds } from "../metacontroller/crds.ts";
import type { ServiceAccess } from "../metacontroller/hook.ts";
import { installMetacontrollerCrds } from "../metacontroller/install.ts";
import { metacontrollerFiles } from "../metacontroller/manifests.ts";
import { Metacontroller } from "../metacontroller/supervisor.ts";
import type { AnyController } from "../metacontroller/types.ts";
import { type Command, UsageError } from "./command.ts";
import { kubeFlags, kubeOptions } from "./kube-options.ts";
import { managerFlags, managerOptionsFromFlags, newManager, runManager } from "./run.ts";

function text(values: Record<string, unknown>, name: string): string | undefined {
  const value = values[name];
  return typeof value === "string" ? value : undefined;
}

export const metacontrollerInstall: Command = {
  path: ["metacontroller", "install"],
  summary: "Install the metacontroller.k8s.io CRDs (schema-compatible with Metacontroller's own)",
  description:
    "Apply the CompositeController, DecoratorController and ControllerRevision\n" +
    "CustomResourceDefinitions to the current cluster and wait until they are served. They are\n" +
    "schema-compatible with Metacontroller's own: existing manifests apply unchanged, and a\n" +
    "cluster can move between Metacontroller and Operon in either direction.",
  options: {
    ...kubeOptions,
    print: {
      type: "boolean",
      description: "Print the CRDs as YAML instead of applying them",
      default: false,
    },
  },
  async run({ values, stdout }) {
    if (values.print === true) {
      stdout.write(toYaml(metacontrollerCrds()));
      return 0;
    }
    const client = await KubeClient.fromKubeConfig(kubeFlags(values));
    try {
      await installMetacontrollerCrds(client, { progress: (line) => stdout.write(`${line}\n`) });
    } finally {
      await client.close();
    }
    return 0;
  },
};

export const metacontrollerRun: Command = {
  path: ["metacontroller", "run"],
  summary: "Run every CompositeController and DecoratorController of the cluster",
  description:
    "Run every CompositeController and DecoratorController in the cluster, as Metacontroller\n" +
    "does, until Ctrl-C or SIGTERM: controllers added, changed and removed at run time are\n" +
    "started, restarted and stopped. Hooks given as a Service are reached through the Service's\n" +
    "cluster DNS name in a pod, and through the API server's service proxy elsewhere.\n\n" +
    "The manager flags are those of `operon run`; --leader-election-id defaults to\n" +
    "metacontroller, Metacontroller's own Lease, so the two never run a cluster's controllers at\n" +
    "the same time.",
  options: {
    ...managerFlags,
    workers: {
      type: "string",
      description: "Parents synced at once per controller",
      default: "16",
    },
    "field-manager": {
      type: "string",
      description: "Field manager of the children's server-side applies",
      default: "metacontroller",
    },
    "target-label-selector": {
      type: "string",
      description: "Run only the controllers whose labels match this selector",
    },
    "hook-service-access": {
      type: "string",
      description: "How service hooks are reached: dns, proxy or auto (dns in a pod, else proxy)",
      default: "auto",
    },
    "cache-flush-interval": {
      type: "string",
      description: "Sync every parent this often (controllers' resyncPeriodSeconds win); 0: never",
      default: "30m",
    },
  },
  async run({ values }) {
    const workers = Number(text(values, "workers") ?? "16");
    if (!Number.isInteger(workers) || workers < 1) {
      throw new UsageError(
        `--workers: expected a whole number of at least 1, got ${text(values, "workers")}`,
      );
    }
    const access = text(values, "hook-service-access") ?? "auto";
    if (!["auto", "dns", "proxy"].includes(access)) {
      throw new UsageError(`--hook-service-access: expected dns, proxy or auto, got ${access}`);
    }
    let resyncPeriodMs: number;
    try {
      const flush = text(values, "cache-flush-interval") ?? "30m";
      resyncPeriodMs = flush === "0" ? 0 : parseDuration(flush);
    } catch (error) {
      throw new UsageError(`--cache-flush-interval: ${(error as Error).message}`);
    }
    const manager = newManager(
      managerOptionsFromFlags(values, { leaderElectionId: "metacontroller" }),
    );
    const selector = text(values, "target-label-selector");
    manager.add(
      new Metacontroller({
        workers,
        fieldManager: text(values, "field-manager") ?? "metacontroller",
        resyncPeriodMs,
        ...(access === "auto" ? {} : { serviceAccess: access as ServiceAccess }),
        ...(selector ? { targetLabelSelector: selector } : {}),
      }),
    );
    return runManager(manager);
  },
};

/** Reads CompositeController and DecoratorController objects from YAML files. */
async function readControllers(paths: readonly string[]): Promise<AnyController[]> {
  const controllers: AnyController[] = [];
  for (const path of paths) {
    const content = await readFile(path, "utf8").catch((error: unknown) => {
      throw new UsageError(`cannot read ${path}: ${(error as Error).message}`);
    });
    for (const document of parseAllDocuments(content)) {
      if (document.errors.length > 0) {
        throw new UsageError(`${path}: ${document.errors[0]!.message}`);
      }
      const object = document.toJS() as AnyController | null;
      if (object?.kind === "CompositeController" || object?.kind === "DecoratorController") {
        controllers.push(object);
      }
    }
  }
  return controllers;
}

export const metacontrollerGenerate: Command = {
  path: ["metacontroller", "generate"],
  summary: "Write the manifests that run Metacontroller mode in a cluster",
  usage: "[controller.yaml ...] [--out dir]",
  description:
    "Write a folder for `kubectl apply -k`: the Namespace, the metacontroller.k8s.io CRDs, a\n" +
    "ServiceAccount with least-privilege RBAC derived from the CompositeControllers and\n" +
    "DecoratorControllers in the given YAML files (or, without files, from those in the current\n" +
    "cluster with --from-cluster), the Deployment of `operon metacontroller run` and a Dockerfile\n" +
    "for its image.",
  options: {
    ...kubeOptions,
    out: { type: "string", description: "Folder to write", default: "deploy/metacontroller" },
    namespace: { type: "string", description: "Namespace to run in", default: "metacontroller" },
    image: {
      type: "string",
      description: "Image of the manager",
      default: "operon-metacontroller:latest",
    },
    replicas: {
      type: "string",
      description: "Replicas (one leads, the others stand by)",
      default: "2",
    },
    "from-cluster": {
      type: "boolean",
      description: "Derive RBAC from the controllers in the current cluster",
      default: false,
    },
    related: {
      type: "string",
      multiple: true,
      description: "A resource customize hooks select, as <apiVersion>/<resource> (repeatable)",
    },
  },
  async run({ values, positionals, stdout }) {
    let controllers = await readControllers(positionals);
    if (values["from-cluster"] === true) {
      const client = await KubeClient.fromKubeConfig(kubeFlags(values));
      try {
        const { CompositeControllerType, DecoratorControllerType } = await import(
          "../metacontroller/types.ts"
        );
        const [composite, decorator] = await Promise.all([
          client.list(CompositeControllerType),
          client.list(DecoratorControllerType),
        ]);
        controllers = [...controllers, ...composite.items, ...decorator.items];
      } finally {
        await client.close();
      }
    }
    const replicas = Number(text(values, "replicas") ?? "2");
    if (!Number.isInteger(replicas) || replicas < 0) {
      throw new UsageError(`--replicas: expected a whole number, got ${text(values, "replicas")}`);
    }
    const related = ((values.related as string[] | undefined) ?? []).map((entry) => {
      const slash = entry.lastIndexOf("/");
      if (slash <= 0)
        throw new UsageError(`--related: expected <apiVersion>/<resource>, got ${entry}`);
      return { apiVersion: entry.slice(0, slash), resource: entry.slice(slash + 1) };
    });
    const files = metacontrollerFiles(controllers, {
      namespace: text(values, "namespace") ?? "metacontroller",
      image: text(values, "image") ?? "operon-metacontroller:latest",
      replicas,
      related,
    });
    const out = text(values, "out") ?? "deploy/metacontroller";
    const written = await writeGeneratedFiles(out, files);
    for (const path of written) stdout.write(`wrote ${path}\n`);
    if (controllers.length === 0) {
      stdout.write(
        "no CompositeController or DecoratorController given: the RBAC covers only Metacontroller's own API;\n" +
          "pass the controllers' YAML files (or --from-cluster) to grant what they need\n",
      );
    }
    return 0;
  },
};
