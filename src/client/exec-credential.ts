/**
 * Exec credential plugins (`users[].user.exec` in a kubeconfig): cloud CLIs such as
 * `aws eks get-token`, `gke-gcloud-auth-plugin` and `kubelogin` print an `ExecCredential` with a
 * token or a client certificate.
 *
 * Supports `client.authentication.k8s.io/v1` and `v1beta1`. The plugin runs without a terminal
 * (an operator has none), with the configured `env` added and `KUBERNETES_EXEC_INFO` describing the
 * request. Its result is cached until `expirationTimestamp` (forever when absent) and the plugin
 * runs again after the server rejects the credential with 401.
 */
import { spawn } from "node:child_process";
import type { AuthProvider, ClientCertificate, Credentials } from "./auth.ts";
import { CredentialError } from "./errors.ts";

/** The `exec` section of a kubeconfig user. */
export interface ExecConfig {
  apiVersion: string;
  command: string;
  args?: string[];
  env?: Array<{ name: string; value: string }> | null;
  installHint?: string;
  provideClusterInfo?: boolean;
  interactiveMode?: "Never" | "IfAvailable" | "Always";
}

/** Cluster details passed to plugins that ask for them (`provideClusterInfo: true`). */
export interface ExecClusterInfo {
  server: string;
  "tls-server-name"?: string;
  "insecure-skip-tls-verify"?: boolean;
  /** Base64 of the PEM CA bundle. */
  "certificate-authority-data"?: string;
  "proxy-url"?: string;
  "disable-compression"?: boolean;
  /** `extensions["client.authentication.k8s.io/exec"]` of the cluster entry. */
  config?: unknown;
}

/** Options of {@link execAuth}. */
export interface ExecAuthOptions {
  /** Where the plugin is configured, for messages: e.g. `user "dev" in /home/me/.kube/config`. */
  source?: string;
  cluster?: ExecClusterInfo;
  /** The plugin is killed after this long; default 2 minutes. */
  timeoutMs?: number;
  /** Base environment; defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Clock, for tests. */
  now?: () => number;
}

const supportedVersions = new Set([
  "client.authentication.k8s.io/v1",
  "client.authentication.k8s.io/v1beta1",
]);

/** The plugin output this module understands. */
interface ExecCredentialStatus {
  token?: string;
  clientCertificateData?: string;
  clientKeyData?: string;
  expirationTimestamp?: string;
}

/** A plugin result and when it stops being valid. */
export interface CachedCredential {
  credentials: Credentials;
  /** Epoch ms, or undefined for "until rejected". */
  expiresAt: number | undefined;
}

const maxOutputBytes = 4 * 1024 * 1024;

/**
 * An {@link AuthProvider} that runs an exec credential plugin.
 *
 * @example
 * const auth = execAuth({
 *   apiVersion: "client.authentication.k8s.io/v1",
 *   command: "aws",
 *   args: ["eks", "get-token", "--cluster-name", "prod"],
 *   interactiveMode: "Never",
 * });
 */
export function execAuth(config: ExecConfig, options: ExecAuthOptions = {}): AuthProvider {
  const where = options.source ? ` (${options.source})` : "";
  const name = `exec plugin "${config.command}"${where}`;
  if (!config.command) throw new CredentialError(`exec plugin${where} has no command`);
  if (!supportedVersions.has(config.apiVersion)) {
    throw new CredentialError(
      `${name}: unsupported apiVersion ${JSON.stringify(config.apiVersion)}; ` +
        `use client.authentication.k8s.io/v1 or v1beta1`,
    );
  }
  if (config.interactiveMode === "Always") {
    throw new CredentialError(
      `${name}: interactiveMode "Always" needs a terminal, which this process does not provide; ` +
        `configure the plugin for non-interactive use`,
    );
  }
  const now = options.now ?? Date.now;
  let cached: CachedCredential | undefined;
  let running: Promise<CachedCredential> | undefined;

  const run = (): Promise<CachedCredential> => {
    running ??= runPlugin(config, options, name).finally(() => {
      running = undefined;
    });
    return running.then((result) => {
      cached = result;
      return result;
    });
  };

  return {
    description: name,
    credentials: async () => {
      if (cached && (cached.expiresAt === undefined || now() < cached.expiresAt)) {
        return cached.credentials;
      }
      return (await run()).credentials;
    },
    refresh: async (rejected) => {
      // Many requests may fail with the same credential at once: only the first one re-runs
      // the plugin; the others see the new credential already cached.
      if (cached && cached.credentials !== rejected) return true;
      cached = undefined;
      const fresh = await run().catch(() => undefined);
      return fresh !== undefined && !sameCredentials(fresh.credentials, rejected);
    },
  };
}

function sameCredentials(a: Credentials, b: Credentials): boolean {
  return (
    a.authorization === b.authorization &&
    a.clientCertificate?.cert === b.clientCertificate?.cert &&
    a.clientCertificate?.key === b.clientCertificate?.key
  );
}

function runPlugin(
  config: ExecConfig,
  options: ExecAuthOptions,
  name: string,
): Promise<CachedCredential> {
  const execInfo = {
    kind: "ExecCredential",
    apiVersion: config.apiVersion,
    spec: {
      interactive: false,
      ...(config.provideClusterInfo && options.cluster ? { cluster: options.cluster } : {}),
    },
  };
  const env: NodeJS.ProcessEnv = { ...(options.env ?? process.env) };
  for (const entry of config.env ?? []) env[entry.name] = entry.value;
  env.KUBERNETES_EXEC_INFO = JSON.stringify(execInfo);
  const timeoutMs = options.timeoutMs ?? 120_000;

  return new Promise((resolve, reject) => {
    const child = spawn(config.command, config.args ?? [], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
      windowsHide: true,
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let stdoutBytes = 0;
    let failed: Error | undefined;
    const timer = setTimeout(() => {
      failed = new CredentialError(`${name} did not finish within ${timeoutMs / 1000}s`);
      child.kill("SIGKILL");
    }, timeoutMs);

    child.stdout.on("data", (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > maxOutputBytes) {
        failed ??= new CredentialError(`${name} printed more than ${maxOutputBytes} bytes`);
        child.kill("SIGKILL");
        return;
      }
      stdout.push(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      // Only the tail is kept, for the error message.
      stderr.push(chunk);
      if (stderr.length > 64) stderr.shift();
    });
    child.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === "ENOENT") {
        const hint = config.installHint ? `\n${config.installHint.trim()}` : "";
        reject(
          new CredentialError(`${name}: command not found (is it installed and on PATH?)${hint}`, {
            cause: err,
          }),
        );
      } else {
        reject(new CredentialError(`${name} could not be started: ${err.message}`, { cause: err }));
      }
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (failed) return reject(failed);
      const errText = tail(Buffer.concat(stderr).toString("utf8"));
      if (code !== 0) {
        const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        return reject(new CredentialError(`${name} ${how}${errText ? `: ${errText}` : ""}`));
      }
      try {
        resolve(parseExecCredential(Buffer.concat(stdout).toString("utf8"), config, name));
      } catch (err) {
        reject(err);
      }
    });
  });
}

function tail(text: string): string {
  const trimmed = text.trim();
  return trimmed.length > 2000 ? `...${trimmed.slice(-2000)}` : trimmed;
}

/**
 * Parses and validates a plugin's output. Exported for tests.
 * @internal
 */
export function parseExecCredential(
  output: string,
  config: Pick<ExecConfig, "apiVersion">,
  name: string,
): CachedCredential {
  let parsed: unknown;
  try {
    parsed = JSON.parse(output);
  } catch {
    throw new CredentialError(
      `${name} printed something that is not JSON: ${tail(output).slice(0, 200)}`,
    );
  }
  const cred = parsed as { kind?: unknown; apiVersion?: unknown; status?: ExecCredentialStatus };
  if (cred?.kind !== "ExecCredential") {
    throw new CredentialError(
      `${name} printed kind ${JSON.stringify(cred?.kind)}, want ExecCredential`,
    );
  }
  if (cred.apiVersion !== config.apiVersion) {
    throw new CredentialError(
      `${name} printed apiVersion ${JSON.stringify(cred.apiVersion)}, but the kubeconfig asks for ${config.apiVersion}`,
    );
  }
  const status = cred.status;
  if (!status || typeof status !== "object") {
    throw new CredentialError(`${name} printed an ExecCredential without status`);
  }
  const credentials: Credentials = {};
  if (status.token) credentials.authorization = `Bearer ${status.token}`;
  const hasCert = Boolean(status.clientCertificateData);
  const hasKey = Boolean(status.clientKeyData);
  if (hasCert !== hasKey) {
    throw new CredentialError(
      `${name} printed ${hasCert ? "clientCertificateData without clientKeyData" : "clientKeyData without clientCertificateData"}`,
    );
  }
  if (hasCert) {
    const certificate: ClientCertificate = {
      cert: status.clientCertificateData!,
      key: status.clientKeyData!,
    };
    credentials.clientCertificate = certificate;
  }
  if (!credentials.authorization && !credentials.clientCertificate) {
    throw new CredentialError(`${name} printed neither a token nor a client certificate`);
  }
  let expiresAt: number | undefined;
  if (status.expirationTimestamp) {
    expiresAt = Date.parse(status.expirationTimestamp);
    if (Number.isNaN(expiresAt)) {
      throw new CredentialError(
        `${name} printed an invalid expirationTimestamp ${JSON.stringify(status.expirationTimestamp)}`,
      );
    }
  }
  return { credentials, expiresAt };
}
