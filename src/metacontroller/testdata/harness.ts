/**
 * Helpers of the Metacontroller-mode integration tests: the Python hook server, parent CRDs,
 * CompositeController and DecoratorController objects, and a manager running Metacontroller mode
 * in-process, restricted (by a label on the controllers) to the controllers of one test file.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { KubeClient } from "../../client/client.ts";
import { isNotFound } from "../../client/errors.ts";
import { createLogger } from "../../manager/logging.ts";
import { Manager } from "../../manager/manager.ts";
import { CustomResourceDefinition } from "../../resources/apiextensions.ts";
import { type KubeObject, type ResourceType, resourceType } from "../../resources/object.ts";
import type { ControlPlane } from "../../testkit/control-plane.ts";
import { installMetacontrollerCrds } from "../install.ts";
import { Metacontroller, type MetacontrollerOptions } from "../supervisor.ts";
import {
  type CompositeController,
  CompositeControllerType,
  type DecoratorController,
  DecoratorControllerType,
} from "../types.ts";

export const testGroup = "mc.test.operon.dev";
export const suiteLabel = "test.operon.dev/suite";

export function suffix(): string {
  return randomBytes(3).toString("hex");
}

/** The Python hook server (`hook_server.py`), on a free port. */
export interface PythonHooks {
  url: string;
  /** The last request a route received for the parent (or object) with this UID. */
  lastRequest(path: string, uid: string): Promise<Record<string, unknown> | undefined>;
  stop(): Promise<void>;
}

export async function startPythonHooks(): Promise<PythonHooks> {
  const script = fileURLToPath(new URL("./hook_server.py", import.meta.url));
  const child: ChildProcess = spawn("python3", [script], { stdio: ["pipe", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    let buffer = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      const line = buffer.split("\n")[0];
      if (buffer.includes("\n") && line) resolve(Number(line));
    });
    child.once("exit", (code) => reject(new Error(`hook_server.py exited with ${code}`)));
    child.once("error", reject);
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    async lastRequest(path, uid) {
      const response = await fetch(`${url}/requests?path=${encodeURIComponent(path)}&uid=${uid}`);
      if (response.status !== 200) return undefined;
      return (await response.json()) as Record<string, unknown>;
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** A hook server in this process: `handle` answers each POST (status 200 unless it says). */
export interface NodeHooks {
  url: string;
  requests: Array<{ path: string; body: Record<string, unknown>; raw: string }>;
  stop(): Promise<void>;
}

export type NodeHandler = (
  path: string,
  body: Record<string, unknown>,
  request: IncomingMessage,
) =>
  | unknown
  | { status: number; body: unknown; headers?: Record<string, string> }
  | Promise<unknown>;

/** Wraps a handler's answer that is not a 200 with a JSON body. */
export class Reply {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string>;
  constructor(status: number, body: string, headers: Record<string, string> = {}) {
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

export async function startNodeHooks(handle: NodeHandler, host = "127.0.0.1"): Promise<NodeHooks> {
  const requests: NodeHooks["requests"] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", async () => {
      const raw = Buffer.concat(chunks).toString();
      const path = request.url ?? "/";
      try {
        const body = JSON.parse(raw) as Record<string, unknown>;
        requests.push({ path, body, raw });
        const answer = await handle(path, body, request);
        if (answer instanceof Reply) {
          response.writeHead(answer.status, {
            "content-type": "application/json",
            ...answer.headers,
          });
          response.end(answer.body);
          return;
        }
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify(answer));
      } catch (error) {
        response.writeHead(500);
        response.end(String(error));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A parent (or target) kind with a CRD that keeps any spec. */
export interface TestKind {
  kind: string;
  plural: string;
  apiVersion: string;
  type: ResourceType;
}

export async function createKind(
  admin: KubeClient,
  kind: string,
  options: { scope?: "Namespaced" | "Cluster"; status?: boolean } = {},
): Promise<TestKind> {
  const plural = `${kind.toLowerCase()}s`;
  const scope = options.scope ?? "Namespaced";
  const name = `${plural}.${testGroup}`;
  await admin.apply(
    CustomResourceDefinition,
    {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name },
      spec: {
        group: testGroup,
        scope,
        names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
        versions: [
          {
            name: "v1",
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: "object",
                properties: {
                  spec: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
                  status: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
                },
              },
            },
            ...(options.status === false ? {} : { subresources: { status: {} } }),
          },
        ],
      },
    } as never,
    { fieldManager: "test", force: true },
  );
  for (let i = 0; ; i++) {
    const crd = await admin.get(CustomResourceDefinition, name);
    if (crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")) break;
    if (i > 300) throw new Error(`CRD ${name} not established`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const apiVersion = `${testGroup}/v1`;
  return {
    kind,
    plural,
    apiVersion,
    type: resourceType<KubeObject>(apiVersion, kind, plural, scope === "Namespaced"),
  };
}

/** Metacontroller mode running in this process, for the controllers labelled with `suite`. */
export interface RunningMetacontroller {
  manager: Manager;
  metacontroller: Metacontroller;
  admin: KubeClient;
  suite: string;
  stop(): Promise<void>;
  createComposite(name: string, spec: CompositeController["spec"]): Promise<CompositeController>;
  createDecorator(name: string, spec: DecoratorController["spec"]): Promise<DecoratorController>;
}

export async function runMetacontroller(
  plane: ControlPlane,
  options: MetacontrollerOptions = {},
): Promise<RunningMetacontroller> {
  const admin = await KubeClient.fromKubeConfig({
    kubeconfig: plane.kubeconfigPath,
    fieldManager: "test-admin",
  });
  await installMetacontrollerCrds(admin);
  const suite = suffix();
  const manager = new Manager({
    kubeconfig: plane.kubeconfigPath,
    logger: createLogger({ level: process.env.OPERON_TEST_LOG === "1" ? "debug" : "silent" }),
    gracefulShutdownMs: 5_000,
  });
  const metacontroller = new Metacontroller({
    targetLabelSelector: `${suiteLabel}=${suite}`,
    serviceAccess: "proxy",
    retryStartMs: 500,
    ...options,
  });
  manager.add(metacontroller);
  await manager.start();
  const created: KubeObject[] = [];
  return {
    manager,
    metacontroller,
    admin,
    suite,
    async createComposite(name, spec) {
      const object = await admin.create(CompositeControllerType, {
        apiVersion: "metacontroller.k8s.io/v1alpha1",
        kind: "CompositeController",
        metadata: { name, labels: { [suiteLabel]: suite } },
        spec,
      } as never);
      created.push(object);
      return object;
    },
    async createDecorator(name, spec) {
      const object = await admin.create(DecoratorControllerType, {
        apiVersion: "metacontroller.k8s.io/v1alpha1",
        kind: "DecoratorController",
        metadata: { name, labels: { [suiteLabel]: suite } },
        spec,
      } as never);
      created.push(object);
      return object;
    },
    async stop() {
      await manager.stop();
      for (const object of created) {
        const type =
          object.kind === "CompositeController" ? CompositeControllerType : DecoratorControllerType;
        await admin.delete(type as ResourceType, object.metadata.name!).catch((error: unknown) => {
          if (!isNotFound(error)) throw error;
        });
      }
      await admin.close();
    },
  };
}
