/**
 * Finding, parsing and merging kubeconfig files, and the in-cluster service account: everything
 * that turns "where is my cluster" into a {@link ClusterConnection}.
 *
 * Behaviour follows kubectl and client-go: `KUBECONFIG` lists files merged first-wins, relative
 * paths resolve against the file that names them, `*-data` fields win over their file
 * counterparts, and the namespace comes from the context (else `default`).
 */

import { access, readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { delimiter, dirname, isAbsolute, join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { isRecord } from "../common/json.ts";
import { type AuthProvider, basicAuth, bearerTokenAuth, noAuth, tokenFileAuth } from "./auth.ts";
import { KubeConfigError } from "./errors.ts";
import { type ExecClusterInfo, type ExecConfig, execAuth } from "./exec-credential.ts";

/** A `clusters[].cluster` entry, as written in the file. */
export interface KubeConfigCluster {
  server?: string;
  "certificate-authority"?: string;
  "certificate-authority-data"?: string;
  "insecure-skip-tls-verify"?: boolean;
  "tls-server-name"?: string;
  "proxy-url"?: string;
  "disable-compression"?: boolean;
  extensions?: Array<{ name: string; extension: unknown }>;
}

/** A `users[].user` entry, as written in the file. */
export interface KubeConfigUser {
  "client-certificate"?: string;
  "client-certificate-data"?: string;
  "client-key"?: string;
  "client-key-data"?: string;
  token?: string;
  tokenFile?: string;
  as?: string;
  "as-uid"?: string;
  "as-groups"?: string[];
  "as-user-extra"?: Record<string, string[]>;
  username?: string;
  password?: string;
  exec?: ExecConfig;
  "auth-provider"?: { name: string; config?: Record<string, string> };
}

/** A `contexts[].context` entry, as written in the file. */
export interface KubeConfigContext {
  cluster: string;
  user?: string;
  namespace?: string;
}

/** A named entry and the file that defined it. */
export interface KubeConfigEntry<T> {
  name: string;
  value: T;
  /** The file the entry came from (absent for a config parsed from text). */
  file?: string;
}

/**
 * One kubeconfig file, or several merged. Relative paths inside have already been resolved
 * against the directory of the file that holds them.
 */
export interface KubeConfig {
  clusters: Map<string, KubeConfigEntry<KubeConfigCluster>>;
  users: Map<string, KubeConfigEntry<KubeConfigUser>>;
  contexts: Map<string, KubeConfigEntry<KubeConfigContext>>;
  currentContext?: string;
  /** The files, in precedence order. */
  files: string[];
}

/** TLS settings for the connection to the API server. */
export interface TlsMaterial {
  /** PEM CA bundle; absent means the system roots. */
  ca?: string;
  /** PEM client certificate. */
  cert?: string;
  /** PEM client key. */
  key?: string;
  insecureSkipTlsVerify: boolean;
  /** Name to verify the server certificate against (and send as SNI), instead of the URL's host. */
  serverName?: string;
}

/** Impersonation requested by the kubeconfig (`as`, `as-groups`, `as-uid`, `as-user-extra`). */
export interface Impersonation {
  user?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/**
 * A resolved way to reach one cluster: what a client connects with.
 *
 * Can also be built by hand, e.g. for a test server:
 * @example
 * const connection: ClusterConnection = {
 *   server: "https://127.0.0.1:6443",
 *   tls: { ca: caPem, insecureSkipTlsVerify: false },
 *   auth: bearerTokenAuth(token),
 *   namespace: "default",
 *   source: "test",
 * };
 */
export interface ClusterConnection {
  /** Base URL of the API server, without a trailing slash; may carry a path prefix. */
  server: string;
  tls: TlsMaterial;
  auth: AuthProvider;
  impersonate?: Impersonation;
  /** The namespace used when a call names none (context namespace, service account namespace). */
  namespace: string;
  /** Do not ask the server for gzip responses (`disable-compression`). */
  disableCompression?: boolean;
  /** Where this came from, for messages: `context "kind" in /home/me/.kube/config`. */
  source: string;
  contextName?: string;
}

// ---------------------------------------------------------------------------------------------
// Parsing

function where(file: string | undefined): string {
  return file ?? "kubeconfig";
}

function resolvePath(path: string | undefined, base: string | undefined): string | undefined {
  if (path === undefined || path === "" || isAbsolute(path) || base === undefined) return path;
  return resolve(base, path);
}

function checkStringFields(
  entry: Record<string, unknown>,
  fields: readonly string[],
  at: string,
  file: string | undefined,
): void {
  for (const field of fields) {
    const value = entry[field];
    if (value !== undefined && value !== null && typeof value !== "string") {
      throw new KubeConfigError(`${where(file)}: ${at}.${field} must be a string`, { file });
    }
  }
}

function namedList<T>(
  doc: Record<string, unknown>,
  list: "clusters" | "users" | "contexts",
  inner: "cluster" | "user" | "context",
  file: string | undefined,
  convert: (value: Record<string, unknown>, at: string) => T,
): Map<string, KubeConfigEntry<T>> {
  const out = new Map<string, KubeConfigEntry<T>>();
  const raw = doc[list];
  if (raw === undefined || raw === null) return out;
  if (!Array.isArray(raw)) {
    throw new KubeConfigError(`${where(file)}: "${list}" must be a list`, { file });
  }
  raw.forEach((item: unknown, index) => {
    const at = `${list}[${index}]`;
    if (!isRecord(item))
      throw new KubeConfigError(`${where(file)}: ${at} must be a mapping`, { file });
    const name = item.name;
    if (typeof name !== "string" || name === "") {
      throw new KubeConfigError(`${where(file)}: ${at} has no name`, { file });
    }
    const value = item[inner] ?? {};
    if (!isRecord(value)) {
      throw new KubeConfigError(`${where(file)}: ${at} (${inner} "${name}") must be a mapping`, {
        file,
      });
    }
    // Within one file the first entry of a name wins, as in client-go's loader.
    if (!out.has(name)) {
      out.set(name, { name, value: convert(value, `${at} (${inner} "${name}")`), file });
    }
  });
  return out;
}

/**
 * Parses one kubeconfig file's text. Relative paths (certificate files, token files, an exec
 * command containing a `/`) resolve against the directory of `file`.
 *
 * @example
 * const config = parseKubeConfig(await readFile(path, "utf8"), path);
 * const connection = await connectionFromKubeConfig(config, { context: "kind-dev" });
 */
export function parseKubeConfig(text: string, file?: string): KubeConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new KubeConfigError(`${where(file)}: not valid YAML: ${(err as Error).message}`, {
      file,
      cause: err,
    });
  }
  if (doc === null || doc === undefined) doc = {};
  if (!isRecord(doc))
    throw new KubeConfigError(`${where(file)}: not a kubeconfig mapping`, { file });
  const base = file === undefined ? undefined : dirname(resolve(file));

  const clusters = namedList<KubeConfigCluster>(doc, "clusters", "cluster", file, (c, at) => {
    checkStringFields(
      c,
      [
        "server",
        "certificate-authority",
        "certificate-authority-data",
        "tls-server-name",
        "proxy-url",
      ],
      at,
      file,
    );
    const cluster = { ...c } as KubeConfigCluster;
    cluster["certificate-authority"] = resolvePath(cluster["certificate-authority"], base);
    return cluster;
  });

  const users = namedList<KubeConfigUser>(doc, "users", "user", file, (u, at) => {
    checkStringFields(
      u,
      [
        "client-certificate",
        "client-certificate-data",
        "client-key",
        "client-key-data",
        "token",
        "tokenFile",
        "as",
        "as-uid",
        "username",
        "password",
      ],
      at,
      file,
    );
    const user = { ...u } as KubeConfigUser;
    user["client-certificate"] = resolvePath(user["client-certificate"], base);
    user["client-key"] = resolvePath(user["client-key"], base);
    user.tokenFile = resolvePath(user.tokenFile, base);
    if (user.exec !== undefined) {
      if (!isRecord(user.exec))
        throw new KubeConfigError(`${where(file)}: ${at}.exec must be a mapping`, { file });
      const exec = { ...user.exec };
      // A bare command name is looked up on PATH; only a path with a separator is file-relative.
      if (typeof exec.command === "string" && exec.command.includes("/")) {
        exec.command = resolvePath(exec.command, base) ?? exec.command;
      }
      user.exec = exec;
    }
    return user;
  });

  const contexts = namedList<KubeConfigContext>(doc, "contexts", "context", file, (c, at) => {
    checkStringFields(c, ["cluster", "user", "namespace"], at, file);
    return { ...c } as unknown as KubeConfigContext;
  });

  const current = doc["current-context"];
  if (current !== undefined && current !== null && typeof current !== "string") {
    throw new KubeConfigError(`${where(file)}: current-context must be a string`, { file });
  }
  const config: KubeConfig = { clusters, users, contexts, files: file ? [file] : [] };
  if (current) config.currentContext = current;
  return config;
}

/**
 * Merges kubeconfigs in precedence order: the first file to define a cluster, user or context
 * name wins, and the first non-empty `current-context` wins (the `KUBECONFIG` rules).
 */
export function mergeKubeConfigs(configs: readonly KubeConfig[]): KubeConfig {
  const merged: KubeConfig = {
    clusters: new Map(),
    users: new Map(),
    contexts: new Map(),
    files: [],
  };
  for (const config of configs) {
    for (const [name, entry] of config.clusters)
      if (!merged.clusters.has(name)) merged.clusters.set(name, entry);
    for (const [name, entry] of config.users)
      if (!merged.users.has(name)) merged.users.set(name, entry);
    for (const [name, entry] of config.contexts)
      if (!merged.contexts.has(name)) merged.contexts.set(name, entry);
    if (!merged.currentContext && config.currentContext)
      merged.currentContext = config.currentContext;
    merged.files.push(...config.files);
  }
  return merged;
}

// ---------------------------------------------------------------------------------------------
// Resolving a context into a connection

/** Options of {@link connectionFromKubeConfig}. */
export interface ContextOptions {
  /** Context to use instead of `current-context`. */
  context?: string;
  /** Namespace to use instead of the context's. */
  namespace?: string;
  /** Environment for exec plugins; defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
}

function filesText(config: KubeConfig): string {
  if (config.files.length === 0) return "the kubeconfig";
  return config.files.join(", ");
}

function available(names: Iterable<string>): string {
  const list = [...names];
  return list.length ? `available: ${list.map((n) => `"${n}"`).join(", ")}` : "none are defined";
}

async function readPem(path: string, what: string, owner: string, file?: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    throw new KubeConfigError(
      `${owner} in ${where(file)}: cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      { file, cause: err },
    );
  }
}

function decodePem(data: string, what: string, owner: string, file?: string): string {
  const text = Buffer.from(data.trim(), "base64").toString("utf8");
  if (!text.includes("-----BEGIN")) {
    throw new KubeConfigError(
      `${owner} in ${where(file)}: ${what} is not base64-encoded PEM data`,
      { file },
    );
  }
  return text;
}

function normaliseServer(server: string, owner: string, file?: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(server) ? server : `https://${server}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new KubeConfigError(
      `${owner} in ${where(file)}: server ${JSON.stringify(server)} is not a URL`,
      {
        file,
      },
    );
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new KubeConfigError(
      `${owner} in ${where(file)}: server ${JSON.stringify(server)} must use https or http`,
      { file },
    );
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

/**
 * Resolves a context of a (merged) kubeconfig into a {@link ClusterConnection}: reads certificate
 * files, and sets up the authentication the user entry asks for.
 */
export async function connectionFromKubeConfig(
  config: KubeConfig,
  options: ContextOptions = {},
): Promise<ClusterConnection> {
  const files = filesText(config);
  const contextName = options.context ?? config.currentContext;
  if (!contextName) {
    throw new KubeConfigError(
      config.contexts.size === 0
        ? `${files} defines no contexts`
        : `${files} sets no current-context; choose a context (${available(config.contexts.keys())})`,
      { file: config.files[0] },
    );
  }
  const contextEntry = config.contexts.get(contextName);
  if (!contextEntry) {
    throw new KubeConfigError(
      `context "${contextName}" not found in ${files} (${available(config.contexts.keys())})`,
      { file: config.files[0] },
    );
  }
  const context = contextEntry.value;
  const contextOwner = `context "${contextName}"`;
  if (!context.cluster) {
    throw new KubeConfigError(`${contextOwner} in ${where(contextEntry.file)} names no cluster`, {
      file: contextEntry.file,
    });
  }
  const clusterEntry = config.clusters.get(context.cluster);
  if (!clusterEntry) {
    throw new KubeConfigError(
      `${contextOwner} in ${where(contextEntry.file)} refers to cluster "${context.cluster}", which is not defined in ${files} (${available(config.clusters.keys())})`,
      { file: contextEntry.file },
    );
  }
  let userEntry: KubeConfigEntry<KubeConfigUser> | undefined;
  if (context.user) {
    userEntry = config.users.get(context.user);
    if (!userEntry) {
      throw new KubeConfigError(
        `${contextOwner} in ${where(contextEntry.file)} refers to user "${context.user}", which is not defined in ${files} (${available(config.users.keys())})`,
        { file: contextEntry.file },
      );
    }
  }

  const cluster = clusterEntry.value;
  const clusterFile = clusterEntry.file;
  const clusterOwner = `cluster "${clusterEntry.name}"`;
  if (!cluster.server) {
    throw new KubeConfigError(`${clusterOwner} in ${where(clusterFile)} has no server`, {
      file: clusterFile,
    });
  }
  const server = normaliseServer(cluster.server, clusterOwner, clusterFile);
  if (cluster["proxy-url"]) {
    throw new KubeConfigError(
      `${clusterOwner} in ${where(clusterFile)} sets proxy-url, which this client does not support yet`,
      { file: clusterFile },
    );
  }

  const insecure = cluster["insecure-skip-tls-verify"] === true;
  const tls: TlsMaterial = { insecureSkipTlsVerify: insecure };
  // With verification off a CA would be unused; client-go refuses the combination, but ignoring
  // the CA is harmless and keeps such configs working.
  if (!insecure) {
    if (cluster["certificate-authority-data"]) {
      tls.ca = decodePem(
        cluster["certificate-authority-data"],
        "certificate-authority-data",
        clusterOwner,
        clusterFile,
      );
    } else if (cluster["certificate-authority"]) {
      tls.ca = await readPem(
        cluster["certificate-authority"],
        "certificate-authority",
        clusterOwner,
        clusterFile,
      );
    }
  }
  if (cluster["tls-server-name"]) tls.serverName = cluster["tls-server-name"];

  const connection: ClusterConnection = {
    server,
    tls,
    auth: noAuth(),
    namespace: options.namespace || context.namespace || "default",
    source: `${contextOwner} in ${where(contextEntry.file)}`,
    contextName,
  };
  if (cluster["disable-compression"] === true) connection.disableCompression = true;

  if (userEntry) {
    const user = userEntry.value;
    const userFile = userEntry.file;
    const userOwner = `user "${userEntry.name}"`;
    if (user["client-certificate-data"]) {
      tls.cert = decodePem(
        user["client-certificate-data"],
        "client-certificate-data",
        userOwner,
        userFile,
      );
    } else if (user["client-certificate"]) {
      tls.cert = await readPem(
        user["client-certificate"],
        "client-certificate",
        userOwner,
        userFile,
      );
    }
    if (user["client-key-data"]) {
      tls.key = decodePem(user["client-key-data"], "client-key-data", userOwner, userFile);
    } else if (user["client-key"]) {
      tls.key = await readPem(user["client-key"], "client-key", userOwner, userFile);
    }
    if (Boolean(tls.cert) !== Boolean(tls.key)) {
      throw new KubeConfigError(
        `${userOwner} in ${where(userFile)} has a client ${tls.cert ? "certificate without a key" : "key without a certificate"}`,
        { file: userFile },
      );
    }
    connection.auth = userAuth(user, userOwner, userFile, {
      server,
      cluster,
      clusterName: clusterEntry.name,
      ca: tls.ca,
      env: options.env,
    });
    const impersonate: Impersonation = {};
    if (user.as) impersonate.user = user.as;
    if (user["as-uid"]) impersonate.uid = user["as-uid"];
    if (user["as-groups"]?.length) impersonate.groups = [...user["as-groups"]];
    if (user["as-user-extra"] && Object.keys(user["as-user-extra"]).length) {
      impersonate.extra = { ...user["as-user-extra"] };
    }
    if (Object.keys(impersonate).length) {
      if (!impersonate.user && (impersonate.groups || impersonate.uid || impersonate.extra)) {
        throw new KubeConfigError(
          `${userOwner} in ${where(userFile)} sets as-groups, as-uid or as-user-extra without "as" (the user to impersonate)`,
          { file: userFile },
        );
      }
      connection.impersonate = impersonate;
    }
  }
  return connection;
}

function userAuth(
  user: KubeConfigUser,
  owner: string,
  file: string | undefined,
  cluster: {
    server: string;
    cluster: KubeConfigCluster;
    clusterName: string;
    ca: string | undefined;
    env: NodeJS.ProcessEnv | undefined;
  },
): AuthProvider {
  const description = `${owner} in ${where(file)}`;
  const hasToken = Boolean(user.token || user.tokenFile);
  const hasBasic = Boolean(user.username || user.password);
  if (hasToken && hasBasic) {
    throw new KubeConfigError(
      `${description} sets both a token and username/password; choose one`,
      { file },
    );
  }
  if (user["auth-provider"]) {
    const provider = user["auth-provider"];
    const idToken = provider.config?.["id-token"];
    if (provider.name === "oidc" && idToken && !hasToken) {
      // Only the current ID token is used; refreshing it needs the issuer flow, which an exec
      // plugin such as kubelogin does better.
      return bearerTokenAuth(idToken, `oidc id-token of ${description}`);
    }
    if (!hasToken && !user.exec) {
      throw new KubeConfigError(
        `${description} uses auth-provider "${provider.name}", which Kubernetes clients no longer support; use an exec plugin instead (e.g. gke-gcloud-auth-plugin, kubelogin)`,
        { file },
      );
    }
  }
  if (user.tokenFile) {
    return tokenFileAuth(user.tokenFile, user.token ? { fallbackToken: user.token } : {});
  }
  if (user.token) return bearerTokenAuth(user.token, `token of ${description}`);
  if (hasBasic) {
    if (!user.username) {
      throw new KubeConfigError(`${description} sets a password without a username`, { file });
    }
    return basicAuth(user.username, user.password ?? "", description);
  }
  if (user.exec) {
    const exec = user.exec;
    const extension = cluster.cluster.extensions?.find(
      (e) => e.name === "client.authentication.k8s.io/exec",
    );
    const info: ExecClusterInfo = { server: cluster.server };
    const c = cluster.cluster;
    if (c["tls-server-name"]) info["tls-server-name"] = c["tls-server-name"];
    if (c["insecure-skip-tls-verify"]) info["insecure-skip-tls-verify"] = true;
    if (cluster.ca) info["certificate-authority-data"] = Buffer.from(cluster.ca).toString("base64");
    if (c["disable-compression"]) info["disable-compression"] = true;
    if (extension) info.config = extension.extension;
    try {
      return execAuth(exec, {
        source: description,
        cluster: info,
        ...(cluster.env ? { env: cluster.env } : {}),
      });
    } catch (err) {
      throw new KubeConfigError((err as Error).message, { file, cause: err });
    }
  }
  return noAuth();
}

// ---------------------------------------------------------------------------------------------
// In-cluster

/** The standard service account mount. */
export const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

/** Options of {@link inClusterConnection}. */
export interface InClusterOptions {
  /** Defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Defaults to {@link serviceAccountDir}. */
  serviceAccountDir?: string;
  /** Overrides the service account's namespace. */
  namespace?: string;
  /** How often the token file is re-read; default one minute. */
  tokenReloadIntervalMs?: number;
}

/**
 * The connection of a pod's service account: `KUBERNETES_SERVICE_HOST`/`PORT`, the mounted CA
 * and namespace, and the token re-read every minute (it is rotated by the kubelet).
 */
export async function inClusterConnection(
  options: InClusterOptions = {},
): Promise<ClusterConnection> {
  const env = options.env ?? process.env;
  const dir = options.serviceAccountDir ?? serviceAccountDir;
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new KubeConfigError(
      "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set",
    );
  }
  const hostPart = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  const tokenPath = join(dir, "token");
  const caPath = join(dir, "ca.crt");
  let ca: string;
  try {
    ca = await readFile(caPath, "utf8");
  } catch (err) {
    throw new KubeConfigError(
      `in-cluster configuration: cannot read the service account CA ${caPath}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      { file: caPath, cause: err },
    );
  }
  const auth = tokenFileAuth(tokenPath, {
    ...(options.tokenReloadIntervalMs !== undefined
      ? { reloadIntervalMs: options.tokenReloadIntervalMs }
      : {}),
  });
  // Fail now rather than on the first request when the token is not mounted.
  await auth.credentials().catch((err: unknown) => {
    throw new KubeConfigError(`in-cluster configuration: ${(err as Error).message}`, {
      file: tokenPath,
      cause: err,
    });
  });
  let namespace = options.namespace;
  if (!namespace) {
    namespace =
      (await readFile(join(dir, "namespace"), "utf8").catch(() => "")).trim() || "default";
  }
  return {
    server: `https://${hostPart}:${port}`,
    tls: { ca, insecureSkipTlsVerify: false },
    auth,
    namespace,
    source: `in-cluster service account (${dir})`,
  };
}

// ---------------------------------------------------------------------------------------------
// The entry point

/** Options of `KubeClient.fromKubeConfig`: which kubeconfig, context and namespace. */
export interface LoadKubeConfigOptions {
  /** A kubeconfig file to use instead of `KUBECONFIG` and `~/.kube/config`; must exist. */
  kubeconfig?: string;
  /** A context to use instead of `current-context`. */
  context?: string;
  /** A namespace to use instead of the context's. */
  namespace?: string;
  /** Use the pod's service account even when a kubeconfig exists. */
  inCluster?: boolean;
  /** Defaults to `process.env` (for `KUBECONFIG`, in-cluster variables and exec plugins). */
  env?: NodeJS.ProcessEnv;
  /** Defaults to the user's home directory (for `~/.kube/config`). */
  homeDir?: string;
  /** Defaults to `/var/run/secrets/kubernetes.io/serviceaccount`. */
  serviceAccountDir?: string;
}

/** The `KUBECONFIG` files in order, without empties and duplicates. */
export function kubeConfigPathsFromEnv(value: string | undefined): string[] {
  if (!value) return [];
  const seen = new Set<string>();
  for (const part of value.split(delimiter)) {
    if (part.trim() !== "" && !seen.has(part)) seen.add(part);
  }
  return [...seen];
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw new KubeConfigError(`cannot read kubeconfig ${path}: ${code ?? (err as Error).message}`, {
      file: path,
      cause: err,
    });
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * Finds and resolves the cluster connection, in the order controller-runtime uses:
 * 1. `options.kubeconfig`, an explicit file (must exist);
 * 2. `KUBECONFIG`, one or more files joined with `:` (`;` on Windows), merged first-wins;
 *    missing files are skipped;
 * 3. the in-cluster service account, when `KUBERNETES_SERVICE_HOST` is set and a token is mounted
 *    (or always, with `inCluster: true`);
 * 4. `~/.kube/config`.
 *
 * @example
 * const connection = await loadKubeConfig();                       // the usual lookup
 * const dev = await loadKubeConfig({ kubeconfig: "./dev.yaml", context: "kind-dev" });
 * const client = KubeClient.forCluster(dev, { fieldManager: "my-operator" });
 */
export async function loadKubeConfig(
  options: LoadKubeConfigOptions = {},
): Promise<ClusterConnection> {
  const env = options.env ?? process.env;
  const contextOptions: ContextOptions = {
    ...(options.context ? { context: options.context } : {}),
    ...(options.namespace ? { namespace: options.namespace } : {}),
    env,
  };
  const inCluster = (): Promise<ClusterConnection> =>
    inClusterConnection({
      env,
      ...(options.serviceAccountDir ? { serviceAccountDir: options.serviceAccountDir } : {}),
      ...(options.namespace ? { namespace: options.namespace } : {}),
    });

  if (options.inCluster) return inCluster();

  if (options.kubeconfig) {
    const text = await readIfExists(options.kubeconfig);
    if (text === undefined) {
      throw new KubeConfigError(`kubeconfig ${options.kubeconfig} does not exist`, {
        file: options.kubeconfig,
      });
    }
    return connectionFromKubeConfig(parseKubeConfig(text, options.kubeconfig), contextOptions);
  }

  const envPaths = kubeConfigPathsFromEnv(env.KUBECONFIG);
  if (envPaths.length) {
    const configs: KubeConfig[] = [];
    for (const path of envPaths) {
      const text = await readIfExists(path);
      if (text !== undefined) configs.push(parseKubeConfig(text, path));
    }
    if (configs.length === 0) {
      throw new KubeConfigError(`KUBECONFIG names ${envPaths.join(", ")}, but none of them exist`);
    }
    return connectionFromKubeConfig(mergeKubeConfigs(configs), contextOptions);
  }

  const saDir = options.serviceAccountDir ?? serviceAccountDir;
  if (env.KUBERNETES_SERVICE_HOST && (await exists(join(saDir, "token")))) return inCluster();

  const home = options.homeDir ?? homedir();
  const defaultPath = join(home, ".kube", "config");
  const text = await readIfExists(defaultPath);
  if (text !== undefined) {
    return connectionFromKubeConfig(parseKubeConfig(text, defaultPath), contextOptions);
  }
  throw new KubeConfigError(
    `no Kubernetes configuration found: KUBECONFIG is not set, ${defaultPath} does not exist, and this is not a pod with a service account (KUBERNETES_SERVICE_HOST)`,
  );
}
