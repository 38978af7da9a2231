/**
 * A real Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler and kwok's simulated nodes, each a child process with its own log, in a private
 * directory that `stop()` removes.
 */
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { AdminClient } from "./admin-client.ts";
import { type AssetPaths, ensureAssets, type ProgressReporter, stderrProgress } from "./assets.ts";
import { kwokConfiguration } from "./kwok-stages.ts";
import {
  createCertificateAuthority,
  createSigningKey,
  issueCertificate,
  type KeyPair,
} from "./pki.ts";
import { freePorts } from "./ports.ts";
import { ComponentProcess } from "./process.ts";
import { controlPlaneVersions } from "./versions.ts";

/** Options for {@link startControlPlane}. */
export interface ControlPlaneOptions {
  /** Simulated nodes that run pods (kwok). Default 2; 0 starts no kwok and no scheduler. */
  nodes?: number;
  /** Run kube-controller-manager (garbage collection, namespaces, Deployments). Default true. */
  controllerManager?: boolean;
  /** Run kube-scheduler. Default true when there are nodes. */
  scheduler?: boolean;
  /**
   * The API server's watch cache. Default true. With it off, watches are served by etcd, so a
   * compaction alone makes resumed watches fail with 410 Gone.
   */
  watchCache?: boolean;
  /** Extra kube-apiserver flags, e.g. `["--v=4"]`. */
  apiServerArgs?: string[];
  /**
   * Extra kube-controller-manager flags, e.g. `["--kube-api-qps=500", "--kube-api-burst=1000"]`
   * (its clients default to 20 requests/s, which makes the garbage collection of tens of
   * thousands of objects take many minutes).
   */
  controllerManagerArgs?: string[];
  /** Directory for data, certificates, kubeconfigs and logs. Default: a new temp directory. */
  dir?: string;
  /** Remove `dir` on stop. Default true for a temp directory, false for a given one. */
  removeDirOnStop?: boolean;
  progress?: ProgressReporter;
}

/** An identity to obtain a kubeconfig for: a user with groups (client certificate) or a ServiceAccount (token). */
export type Identity =
  | { user: string; groups?: string[] }
  | { serviceAccount: { namespace: string; name: string }; create?: boolean };

/** A kubeconfig for one identity, written to a file. */
export interface IdentityKubeconfig {
  path: string;
  kubeconfig: string;
}

/** A running control plane. Stop it with `stop()` (or `await using`). */
export interface ControlPlane {
  /** The API server's URL, `https://127.0.0.1:<port>`. */
  readonly server: string;
  /** Path of the admin kubeconfig (user `operon-admin`, group `system:masters`). */
  readonly kubeconfigPath: string;
  /** The admin kubeconfig's YAML text. */
  readonly kubeconfig: string;
  /** The directory holding data, certificates, kubeconfigs and logs. */
  readonly dir: string;
  /** The CA that signed the API server's certificate and the client certificates. */
  readonly caCertificatePem: string;
  readonly versions: typeof controlPlaneVersions;
  /** A kubeconfig for a restricted identity, to prove least-privilege RBAC. */
  kubeconfigFor(identity: Identity): Promise<IdentityKubeconfig>;
  /** Creates a namespace with a unique name (and waits for its default ServiceAccount). */
  createNamespace(prefix?: string): Promise<string>;
  /** Stops and starts kube-apiserver on the same port; data in etcd is kept. */
  restartApiServer(): Promise<void>;
  /** Compacts etcd's history up to its current revision; returns that revision. */
  compactEtcd(): Promise<number>;
  /**
   * Makes every watch resumed from a resourceVersion older than now fail with 410 Gone: compacts
   * etcd, then restarts the API server so its watch cache starts over.
   */
  expireWatches(): Promise<void>;
  /** Process ids of the components, for checks that nothing is left behind. */
  pids(): Record<string, number | undefined>;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

interface Certificates {
  ca: KeyPair;
  serving: KeyPair;
  serviceAccountKey: { publicKeyPem: string; privateKeyPem: string };
}

const serviceClusterIpRange = "10.0.0.0/24";

/**
 * Starts a local control plane and resolves once the API server is ready.
 *
 * @example
 * const plane = await startControlPlane({ nodes: 1 });
 * try {
 *   console.log(plane.kubeconfigPath); // use with kubectl --kubeconfig
 * } finally {
 *   await plane.stop();
 * }
 */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const plane = new LocalControlPlane(options);
  try {
    await plane.start();
  } catch (error) {
    await plane.stop().catch(() => {});
    throw error;
  }
  return plane;
}

class LocalControlPlane implements ControlPlane {
  readonly versions = controlPlaneVersions;
  server = "";
  kubeconfigPath = "";
  kubeconfig = "";
  dir = "";
  caCertificatePem = "";

  private readonly options: ControlPlaneOptions;
  private readonly progress: ProgressReporter;
  private readonly nodes: number;
  private assets!: AssetPaths;
  private certs!: Certificates;
  private admin!: AdminClient;
  private etcdUrl = "";
  private apiServerPort = 0;
  private readonly components = new Map<string, ComponentProcess>();
  private stopped = false;
  /** Set when this object drives a control plane that another process started and stops. */
  private attachedState: ControlPlaneState | undefined;

  constructor(options: ControlPlaneOptions) {
    this.options = options;
    this.progress = options.progress ?? stderrProgress;
    this.nodes = options.nodes ?? 2;
  }

  async start(): Promise<void> {
    const withNodes = this.nodes > 0;
    const runScheduler = this.options.scheduler ?? withNodes;
    const runControllerManager = this.options.controllerManager ?? true;
    this.assets = await ensureAssets({
      only: [
        "etcd",
        "kube-apiserver",
        ...(runControllerManager ? (["kube-controller-manager"] as const) : []),
        ...(runScheduler ? (["kube-scheduler"] as const) : []),
        ...(withNodes ? (["kwok"] as const) : []),
      ],
      progress: this.progress,
    });
    this.dir = this.options.dir ?? (await mkdtemp(join(tmpdir(), "operon-cp-")));
    await mkdir(join(this.dir, "logs"), { recursive: true });
    await mkdir(join(this.dir, "pki"), { recursive: true });
    const [etcdClient, etcdPeer, apiServer, kcmPort, schedulerPort, kwokPort] = await freePorts(6);
    this.etcdUrl = `http://127.0.0.1:${etcdClient}`;
    this.apiServerPort = apiServer!;
    this.server = `https://127.0.0.1:${apiServer}`;

    await this.writeCertificates();
    this.startEtcd(etcdPeer!);
    await this.waitForEtcd();
    this.startApiServer();
    this.admin = new AdminClient(this.server, {
      ca: this.certs.ca.certificatePem,
      ...this.userCertificate("operon-admin", ["system:masters"]),
    });
    this.kubeconfigPath = join(this.dir, "kubeconfig");
    this.kubeconfig = this.kubeconfigYaml("operon-admin", {
      "client-certificate-data": b64(this.adminCert.certificatePem),
      "client-key-data": b64(this.adminCert.privateKeyPem),
    });
    await writeFile(this.kubeconfigPath, this.kubeconfig, { mode: 0o600 });
    await this.waitForApiServer();

    if (runControllerManager) await this.startControllerManager(kcmPort!);
    if (runScheduler) await this.startScheduler(schedulerPort!);
    if (withNodes) {
      await this.startKwok(kwokPort!);
      await this.createNodes();
      await this.waitForNodesReady();
    }
    // Written whole, then renamed: another process polls for this file and reads it at once.
    const statePath = join(this.dir, "state.json");
    await writeFile(`${statePath}.tmp`, JSON.stringify(this.state(), null, 2));
    await rename(`${statePath}.tmp`, statePath);
  }

  private state(): ControlPlaneState {
    return {
      server: this.server,
      etcdUrl: this.etcdUrl,
      kubeconfigPath: this.kubeconfigPath,
      controllerManager: this.components.has("kube-controller-manager"),
      pids: this.pids(),
      versions: this.versions,
    };
  }

  /** Takes over a control plane started by another process (see {@link attachControlPlane}). */
  async attach(): Promise<void> {
    const state = JSON.parse(
      await readFile(join(this.dir, "state.json"), "utf8"),
    ) as ControlPlaneState;
    this.attachedState = state;
    this.server = state.server;
    this.etcdUrl = state.etcdUrl;
    this.kubeconfigPath = state.kubeconfigPath;
    this.kubeconfig = await readFile(state.kubeconfigPath, "utf8");
    const pki = join(this.dir, "pki");
    const [caCert, caKey] = await Promise.all([
      readFile(join(pki, "ca.crt"), "utf8"),
      readFile(join(pki, "ca.key"), "utf8"),
    ]);
    this.certs = {
      ca: { certificatePem: caCert, privateKeyPem: caKey },
      serving: { certificatePem: "", privateKeyPem: "" },
      serviceAccountKey: { publicKeyPem: "", privateKeyPem: "" },
    };
    this.caCertificatePem = caCert;
    this.admin = new AdminClient(this.server, {
      ca: caCert,
      ...this.userCertificate("operon-admin", ["system:masters"]),
    });
  }

  // -- certificates and kubeconfigs ------------------------------------------------------------

  private adminCertValue: KeyPair | undefined;
  private get adminCert(): KeyPair {
    this.adminCertValue ??= issueCertificate(this.certs.ca, {
      commonName: "operon-admin",
      organizations: ["system:masters"],
      usage: "client",
    });
    return this.adminCertValue;
  }

  private userCertificate(user: string, groups: string[]): { cert: string; key: string } {
    const pair =
      user === "operon-admin"
        ? this.adminCert
        : issueCertificate(this.certs.ca, {
            commonName: user,
            organizations: groups,
            usage: "client",
          });
    return { cert: pair.certificatePem, key: pair.privateKeyPem };
  }

  private async writeCertificates(): Promise<void> {
    const ca = createCertificateAuthority("operon-local-ca");
    const serving = issueCertificate(ca, {
      commonName: "kube-apiserver",
      usage: "server",
      dnsNames: [
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
      ],
      ipAddresses: ["127.0.0.1", "10.0.0.1"],
    });
    this.certs = { ca, serving, serviceAccountKey: createSigningKey() };
    this.caCertificatePem = ca.certificatePem;
    const pki = join(this.dir, "pki");
    await Promise.all([
      writeFile(join(pki, "ca.crt"), ca.certificatePem),
      writeFile(join(pki, "ca.key"), ca.privateKeyPem, { mode: 0o600 }),
      writeFile(join(pki, "apiserver.crt"), serving.certificatePem),
      writeFile(join(pki, "apiserver.key"), serving.privateKeyPem, { mode: 0o600 }),
      writeFile(join(pki, "sa.pub"), this.certs.serviceAccountKey.publicKeyPem),
      writeFile(join(pki, "sa.key"), this.certs.serviceAccountKey.privateKeyPem, { mode: 0o600 }),
    ]);
  }

  private kubeconfigYaml(user: string, credentials: Record<string, string>): string {
    return stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name: "operon-local",
          cluster: {
            server: this.server,
            "certificate-authority-data": b64(this.caCertificatePem),
          },
        },
      ],
      users: [{ name: user, user: credentials }],
      contexts: [{ name: "operon-local", context: { cluster: "operon-local", user } }],
      "current-context": "operon-local",
      preferences: {},
    });
  }

  private async writeComponentKubeconfig(component: string, user: string): Promise<string> {
    const { cert, key } = this.userCertificate(user, []);
    const path = join(this.dir, `${component}.kubeconfig`);
    await writeFile(
      path,
      this.kubeconfigYaml(user, {
        "client-certificate-data": b64(cert),
        "client-key-data": b64(key),
      }),
      { mode: 0o600 },
    );
    return path;
  }

  async kubeconfigFor(identity: Identity): Promise<IdentityKubeconfig> {
    let name: string;
    let credentials: Record<string, string>;
    if ("user" in identity) {
      const { cert, key } = this.userCertificate(identity.user, identity.groups ?? []);
      name = identity.user;
      credentials = { "client-certificate-data": b64(cert), "client-key-data": b64(key) };
    } else {
      const { namespace, name: account } = identity.serviceAccount;
      if (identity.create ?? true) {
        await this.admin.must(
          "POST",
          `/api/v1/namespaces/${namespace}/serviceaccounts`,
          { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: account } },
          [409],
        );
      }
      const review = (await this.admin.must(
        "POST",
        `/api/v1/namespaces/${namespace}/serviceaccounts/${account}/token`,
        {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenRequest",
          spec: { expirationSeconds: 86_400 },
        },
      )) as { status: { token: string } };
      name = `system:serviceaccount:${namespace}:${account}`;
      credentials = { token: review.status.token };
    }
    const kubeconfig = this.kubeconfigYaml(name, credentials);
    const path = join(this.dir, `kubeconfig-${name.replace(/[^\w.-]+/g, "_")}`);
    await writeFile(path, kubeconfig, { mode: 0o600 });
    return { path, kubeconfig };
  }

  // -- components ------------------------------------------------------------------------------

  private component(name: string, command: string, args: string[]): ComponentProcess {
    const process = new ComponentProcess({
      name,
      command,
      args,
      logFile: join(this.dir, "logs", `${name}.log`),
    });
    this.components.set(name, process);
    process.start();
    return process;
  }

  private startEtcd(peerPort: number): void {
    const peer = `http://127.0.0.1:${peerPort}`;
    this.component("etcd", this.assets.etcd, [
      "--name=default",
      `--data-dir=${join(this.dir, "etcd")}`,
      `--listen-client-urls=${this.etcdUrl}`,
      `--advertise-client-urls=${this.etcdUrl}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=default=${peer}`,
      // Test data is thrown away: skipping fsync makes every write several times faster.
      "--unsafe-no-fsync=true",
      "--log-level=warn",
    ]);
  }

  private async waitForEtcd(): Promise<void> {
    const etcd = this.components.get("etcd")!;
    await waitFor(
      async () => {
        if (!etcd.running) throw await etcd.failure("exited during start");
        const response = await fetch(`${this.etcdUrl}/health`).catch(() => undefined);
        return response?.ok === true;
      },
      30_000,
      async () => etcd.failure("did not become healthy within 30 s"),
    );
  }

  private apiServerArgs(): string[] {
    const pki = join(this.dir, "pki");
    return [
      `--etcd-servers=${this.etcdUrl}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${this.apiServerPort}`,
      `--cert-dir=${pki}`,
      `--tls-cert-file=${join(pki, "apiserver.crt")}`,
      `--tls-private-key-file=${join(pki, "apiserver.key")}`,
      `--client-ca-file=${join(pki, "ca.crt")}`,
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-account-key-file=${join(pki, "sa.pub")}`,
      `--service-account-signing-key-file=${join(pki, "sa.key")}`,
      `--service-cluster-ip-range=${serviceClusterIpRange}`,
      "--authorization-mode=RBAC",
      "--allow-privileged=true",
      "--profiling=false",
      `--watch-cache=${this.options.watchCache ?? true}`,
      ...(this.options.apiServerArgs ?? []),
    ];
  }

  private startApiServer(): void {
    this.component("kube-apiserver", this.assets["kube-apiserver"], this.apiServerArgs());
  }

  private async waitForApiServer(): Promise<void> {
    const apiServer = this.components.get("kube-apiserver")!;
    await waitFor(
      async () => {
        if (!apiServer.running) throw await apiServer.failure("exited during start");
        const response = await this.admin.call("GET", "/readyz").catch(() => undefined);
        return response?.status === 200;
      },
      60_000,
      async () => apiServer.failure("did not become ready within 60 s"),
    );
  }

  private async startControllerManager(port: number): Promise<void> {
    const pki = join(this.dir, "pki");
    const kubeconfig = await this.writeComponentKubeconfig(
      "kube-controller-manager",
      "system:kube-controller-manager",
    );
    this.component("kube-controller-manager", this.assets["kube-controller-manager"], [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      "--bind-address=127.0.0.1",
      `--secure-port=${port}`,
      "--leader-elect=false",
      "--use-service-account-credentials=true",
      `--service-account-private-key-file=${join(pki, "sa.key")}`,
      `--root-ca-file=${join(pki, "ca.crt")}`,
      `--cluster-signing-cert-file=${join(pki, "ca.crt")}`,
      `--cluster-signing-key-file=${join(pki, "ca.key")}`,
      `--service-cluster-ip-range=${serviceClusterIpRange}`,
      "--controllers=*",
      // Its clients default to 20 requests/s: garbage collection of thousands of children and
      // namespace cleanup would crawl. A local plane has no other tenant to protect.
      "--kube-api-qps=300",
      "--kube-api-burst=600",
      ...(this.options.controllerManagerArgs ?? []),
    ]);
  }

  private async startScheduler(port: number): Promise<void> {
    const kubeconfig = await this.writeComponentKubeconfig(
      "kube-scheduler",
      "system:kube-scheduler",
    );
    this.component("kube-scheduler", this.assets["kube-scheduler"], [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      "--bind-address=127.0.0.1",
      `--secure-port=${port}`,
      "--leader-elect=false",
    ]);
  }

  private async startKwok(port: number): Promise<void> {
    // An explicit configuration also keeps a user's ~/.kwok/kwok.yaml out of the tests.
    await writeFile(join(this.dir, "kwok.yaml"), kwokConfiguration);
    this.component("kwok", this.assets.kwok, [
      `--kubeconfig=${this.kubeconfigPath}`,
      "--manage-all-nodes=false",
      "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
      `--server-address=127.0.0.1:${port}`,
      // Pod IPs from a range that does not overlap the Service range.
      "--cidr=10.244.0.0/16",
      `--config=${join(this.dir, "kwok.yaml")}`,
    ]);
  }

  private async createNodes(): Promise<void> {
    for (let index = 0; index < this.nodes; index++) {
      const name = `operon-node-${index}`;
      await this.admin.must(
        "POST",
        "/api/v1/nodes",
        {
          apiVersion: "v1",
          kind: "Node",
          metadata: {
            name,
            annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
            labels: {
              "kubernetes.io/hostname": name,
              "kubernetes.io/os": "linux",
              "kubernetes.io/arch": "amd64",
              "node-role.kubernetes.io/agent": "",
              type: "kwok",
            },
          },
          status: {
            allocatable: { cpu: "32", memory: "256Gi", pods: "110" },
            capacity: { cpu: "32", memory: "256Gi", pods: "110" },
          },
        },
        [409],
      );
    }
  }

  private async waitForNodesReady(): Promise<void> {
    const kwok = this.components.get("kwok")!;
    await waitFor(
      async () => {
        if (!kwok.running) throw await kwok.failure("exited during start");
        const list = (await this.admin.must("GET", "/api/v1/nodes")) as {
          items: { status?: { conditions?: { type: string; status: string }[] } }[];
        };
        const ready = list.items.filter((node) =>
          node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
        );
        return ready.length >= this.nodes;
      },
      60_000,
      async () => kwok.failure(`did not make ${this.nodes} simulated nodes Ready within 60 s`),
    );
  }

  // -- helpers for tests -----------------------------------------------------------------------

  async createNamespace(prefix = "test"): Promise<string> {
    const name = `${prefix}-${randomBytes(4).toString("hex")}`;
    await this.admin.must("POST", "/api/v1/namespaces", {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name },
    });
    if (this.components.has("kube-controller-manager") || this.attachedState?.controllerManager) {
      // Pods are refused until the namespace's default ServiceAccount exists.
      await waitFor(
        async () =>
          (await this.admin.call("GET", `/api/v1/namespaces/${name}/serviceaccounts/default`))
            .status === 200,
        30_000,
        async () => new Error(`namespace ${name} got no default ServiceAccount within 30 s`),
      );
    }
    return name;
  }

  async restartApiServer(): Promise<void> {
    this.refuseWhenAttached("restartApiServer");
    const apiServer = this.components.get("kube-apiserver");
    await apiServer?.stop();
    this.startApiServer();
    await this.waitForApiServer();
  }

  async compactEtcd(): Promise<number> {
    // etcd's JSON gateway: read the current revision, then compact everything before it.
    const range = (await (
      await fetch(`${this.etcdUrl}/v3/kv/range`, {
        method: "POST",
        body: JSON.stringify({ key: b64("/"), limit: 1 }),
      })
    ).json()) as { header: { revision: string } };
    const revision = Number(range.header.revision);
    const response = await fetch(`${this.etcdUrl}/v3/kv/compaction`, {
      method: "POST",
      body: JSON.stringify({ revision: String(revision), physical: true }),
    });
    if (!response.ok) throw new Error(`etcd compaction failed: ${await response.text()}`);
    return revision;
  }

  async expireWatches(): Promise<void> {
    this.refuseWhenAttached("expireWatches");
    await this.compactEtcd();
    await this.restartApiServer();
  }

  private refuseWhenAttached(what: string): void {
    if (this.attachedState) {
      throw new Error(
        `${what}() needs a control plane this process started: the shared test control plane is ` +
          "used by other tests at the same time. Start a private one with startControlPlane().",
      );
    }
  }

  pids(): Record<string, number | undefined> {
    if (this.attachedState) return this.attachedState.pids;
    return Object.fromEntries([...this.components].map(([name, process]) => [name, process.pid]));
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.admin?.close().catch(() => {});
    if (this.attachedState) return; // the process that started it stops it
    // Clients first, storage last, so nothing logs errors about a vanished API server for long.
    const order = ["kwok", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"];
    for (const name of order) await this.components.get(name)?.stop(5_000);
    const remove = this.options.removeDirOnStop ?? this.options.dir === undefined;
    if (remove && this.dir) await rm(this.dir, { recursive: true, force: true });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/** What a started control plane records in `<dir>/state.json` for other processes. */
export interface ControlPlaneState {
  server: string;
  etcdUrl: string;
  kubeconfigPath: string;
  controllerManager: boolean;
  pids: Record<string, number | undefined>;
  versions: typeof controlPlaneVersions;
}

/**
 * Drives a control plane that another process started in `dir` (the shared test control plane,
 * or the CLI's background cluster). `stop()` only releases this handle.
 */
export async function attachControlPlane(dir: string): Promise<ControlPlane> {
  const plane = new LocalControlPlane({ dir, removeDirOnStop: false });
  plane.dir = dir;
  await plane.attach();
  return plane;
}

function b64(text: string): string {
  return Buffer.from(text).toString("base64");
}

/** Polls `check` every 100 ms until it returns true; throws `onTimeout()` after `timeoutMs`. */
export async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  onTimeout: () => Promise<Error>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw await onTimeout();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
