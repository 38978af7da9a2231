/**
 * `operon run <module>`: runs the module's operators, webhooks and conversions in the foreground
 * against the current cluster, with the flags and defaults of a Kubebuilder project's manager:
 * metrics on `:8080` (HTTPS behind the API server's authorization with `--metrics-secure`),
 * probes on `:8081`, webhooks on `:9443`, leader election off unless `--leader-elect`.
 * `--install-webhooks` registers the webhooks with the cluster, pointing at this process, for as
 * long as it runs.
 */
import type { Logger } from "../logger.ts";
import { parseDuration } from "../manager/duration.ts";
import {
  createLogger,
  envLogLevel,
  type LogFormat,
  parseLogFormat,
  parseLogLevel,
} from "../manager/logging.ts";
import { LeaderElectionLostError, Manager, type ManagerOptions } from "../manager/manager.ts";
import { AddressInUseError } from "../manager/servers.ts";
import type { NamespacedName, WebhookServerSettings } from "../manager/webhooks.ts";
import { type Command, type CommandContext, type Options, UsageError } from "./command.ts";
import { kubeFlags, kubeOptions } from "./kube-options.ts";
import { loadModule, loadOperators } from "./load-module.ts";

function text(values: Record<string, unknown>, name: string): string | undefined {
  const value = values[name];
  return typeof value === "string" ? value : undefined;
}

/** Runs `parse` on a flag's value, turning its complaint into a usage error. */
function flag<T>(values: Record<string, unknown>, name: string, parse: (value: string) => T) {
  const value = text(values, name);
  if (value === undefined) return undefined;
  try {
    return parse(value);
  } catch (error) {
    throw new UsageError(`--${name}: ${(error as Error).message}`);
  }
}

const flagOfOption: Record<string, string> = {
  metricsBindAddress: "--metrics-bind-address",
  healthProbeBindAddress: "--health-probe-bind-address",
  "webhookServer.bindAddress": "--webhook-bind-address",
  "trace.bindAddress": "--trace-bind-address",
};

/** A taken port, told in flags: which one set it, and the values that avoid the clash. */
function addressInUse(error: AddressInUseError): string {
  const flags = error.options.map((option) => flagOfOption[option] ?? option);
  const set = flags.map((flag) => `${flag} ${error.address}`).join(" and ");
  const example = flags[0];
  return (
    `${set}: the address is already in use (EADDRINUSE), perhaps by another operon run. ` +
    `Pass another address, e.g. ${example} :9090, or ${example} :0 for any free port, or ` +
    `${example} 0 to turn ${error.serving} off`
  );
}

/** `name` or `namespace/name`. */
function namespacedName(flagName: string, value: string): NamespacedName {
  const parts = value.split("/");
  const valid = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
  if (parts.length > 2 || parts.some((part) => !valid.test(part))) {
    throw new UsageError(`--${flagName}: "${value}" must be a name or namespace/name`);
  }
  return parts.length === 2 ? { namespace: parts[0]!, name: parts[1]! } : { name: parts[0]! };
}

/** The webhook server's settings from the flags. */
export function webhookSettings(values: Record<string, unknown>): WebhookServerSettings {
  const certPath = text(values, "webhook-cert-path");
  const certSecret = text(values, "webhook-cert-secret");
  const service = text(values, "webhook-service");
  const install = values["install-webhooks"] === true;
  const url = text(values, "webhook-url");
  const name = text(values, "webhook-configuration-name");
  if (certPath && certSecret) {
    throw new UsageError("give --webhook-cert-path or --webhook-cert-secret, not both");
  }
  if (certSecret && !service) {
    throw new UsageError(
      "--webhook-cert-secret needs --webhook-service: the certificate is for that Service's DNS names",
    );
  }
  if (service && !certSecret) {
    throw new UsageError("--webhook-service goes with --webhook-cert-secret");
  }
  if (install && (certPath || certSecret)) {
    throw new UsageError(
      "--install-webhooks makes a development certificate; leave out --webhook-cert-path and --webhook-cert-secret",
    );
  }
  if (url && !install) throw new UsageError("--webhook-url goes with --install-webhooks");
  if (url && !/^https:\/\/[^/]+$/.test(url)) {
    throw new UsageError(`--webhook-url must be https://host:port, got "${url}"`);
  }
  const bindAddress = text(values, "webhook-bind-address");
  return {
    ...(bindAddress ? { bindAddress } : {}),
    ...(name ? { configurationName: name } : {}),
    ...(certPath ? { certificates: { mode: "directory" as const, directory: certPath } } : {}),
    ...(certSecret && service
      ? {
          certificates: {
            mode: "secret" as const,
            secret: namespacedName("webhook-cert-secret", certSecret),
            service: namespacedName("webhook-service", service),
          },
        }
      : {}),
    ...(install ? { install: url ? { url } : true } : {}),
  };
}

/**
 * The flags of every command that runs a manager (`operon run`, `operon metacontroller run`):
 * cluster, metrics, probes, leader election, shutdown and logs.
 */
export const managerFlags: Options = {
  ...kubeOptions,
  "metrics-bind-address": {
    type: "string",
    description: "Where /metrics is served: :8080, 127.0.0.1:8080, :0 (any free port) or 0 (off)",
    default: ":8080",
  },
  "metrics-secure": {
    type: "boolean",
    description:
      "Serve /metrics over HTTPS, each scrape authenticated (TokenReview) and authorized (SubjectAccessReview) by the API server",
    default: false,
  },
  "metrics-cert-path": {
    type: "string",
    description:
      "With --metrics-secure: a directory with tls.crt and tls.key (default a self-signed certificate)",
  },
  "health-probe-bind-address": {
    type: "string",
    description: "Where /healthz and /readyz are served, same forms",
    default: ":8081",
  },
  "leader-elect": {
    type: "boolean",
    description: "Reconcile only while holding a Lease, so several replicas can run",
    default: false,
  },
  "leader-election-namespace": {
    type: "string",
    description: "Namespace of the Lease (default: the pod's namespace, else default)",
  },
  "leader-election-id": {
    type: "string",
    description: "Name of the Lease (default: <first operator's name>-leader)",
  },
  "leader-elect-lease-duration": {
    type: "string",
    description: "How long a Lease counts after its last renewal",
    default: "15s",
  },
  "leader-elect-renew-deadline": {
    type: "string",
    description: "How long the leader retries renewing before it gives up",
    default: "10s",
  },
  "leader-elect-retry-period": {
    type: "string",
    description: "How often standbys try to acquire and the leader renews",
    default: "2s",
  },
  "graceful-shutdown-timeout": {
    type: "string",
    description: "How long shutdown waits for running syncs",
    default: "30s",
  },
  trace: {
    type: "boolean",
    description:
      "Keep the reconcile trace and serve its viewer (on 127.0.0.1:8090 unless --trace-bind-address)",
    default: false,
  },
  "trace-bind-address": {
    type: "string",
    description:
      "Where the trace viewer is served with --trace: 127.0.0.1:8090, :8090 (every interface), :0",
  },
  "log-level": {
    type: "string",
    description: "trace, debug, info, warn or error (default: $OPERON_LOG_LEVEL, else info)",
  },
  "log-format": {
    type: "string",
    description:
      "json, pretty or auto: pretty on a terminal (default: $OPERON_LOG_FORMAT, else auto)",
  },
};

/**
 * The manager's options from the {@link managerFlags} values, with its logger.
 * `defaults.leaderElectionId` names the Lease when `--leader-election-id` is not given.
 */
export function managerOptionsFromFlags(
  values: CommandContext["values"],
  defaults: { leaderElectionId?: string } = {},
): ManagerOptions & { logger: Logger } {
  const level = flag(values, "log-level", (v) => parseLogLevel(v));
  const format = flag(values, "log-format", (v) => parseLogFormat(v));
  const duration = (name: string) => flag(values, name, parseDuration);
  const leaseDurationMs = duration("leader-elect-lease-duration");
  const renewDeadlineMs = duration("leader-elect-renew-deadline");
  const retryPeriodMs = duration("leader-elect-retry-period");
  const gracefulShutdownMs = duration("graceful-shutdown-timeout");
  const namespace = text(values, "leader-election-namespace");
  const id = text(values, "leader-election-id") ?? defaults.leaderElectionId;
  let fromEnv: ReturnType<typeof envLogLevel>;
  try {
    fromEnv = envLogLevel();
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const metricsCertDir = text(values, "metrics-cert-path");
  if (metricsCertDir && values["metrics-secure"] !== true) {
    throw new UsageError("--metrics-cert-path goes with --metrics-secure");
  }
  const logger = createLogger({
    level: level ?? fromEnv ?? "info",
    ...(format ? { format: format as LogFormat } : {}),
  });
  return {
    ...kubeFlags(values),
    logger,
    metricsBindAddress: text(values, "metrics-bind-address") ?? ":8080",
    ...(values["metrics-secure"] === true ? { metricsSecure: true } : {}),
    ...(metricsCertDir ? { metricsCertDir } : {}),
    healthProbeBindAddress: text(values, "health-probe-bind-address") ?? ":8081",
    ...(gracefulShutdownMs !== undefined ? { gracefulShutdownMs } : {}),
    ...(values.trace === true || text(values, "trace-bind-address") !== undefined
      ? { trace: { bindAddress: text(values, "trace-bind-address") ?? "127.0.0.1:8090" } }
      : {}),
    // Sharding (`operon run --sharding`) elects its coordinator with these settings.
    leaderElection:
      values["leader-elect"] === true || values.sharding === true
        ? {
            ...(namespace ? { namespace } : {}),
            ...(id ? { id } : {}),
            ...(leaseDurationMs !== undefined ? { leaseDurationMs } : {}),
            ...(renewDeadlineMs !== undefined ? { renewDeadlineMs } : {}),
            ...(retryPeriodMs !== undefined ? { retryPeriodMs } : {}),
          }
        : false,
  };
}

/** A manager from options, a mistake in them told as a usage error. */
export function newManager(options: ManagerOptions): Manager {
  try {
    return new Manager(options);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/**
 * Runs the manager until SIGTERM or SIGINT. Leadership lost: exits 1 at once, as
 * controller-runtime managers do (the pod restarts as a standby).
 */
export async function runManager(manager: Manager): Promise<number> {
  try {
    await manager.run();
  } catch (error) {
    if (error instanceof LeaderElectionLostError) {
      // Another replica may be writing already: exit now rather than wait for anything.
      process.exit(1);
    }
    if (error instanceof AddressInUseError) throw new Error(addressInUse(error));
    throw error;
  }
  // Everything is closed; should a stray handle keep the event loop alive, do not outstay the
  // pod's termination grace period because of it.
  setTimeout(() => process.exit(process.exitCode ?? 0), 2_000).unref();
  return 0;
}

export const run: Command = {
  path: ["run"],
  summary:
    "Run the operators and webhooks a module exports, in the foreground, until Ctrl-C or SIGTERM",
  usage: "<module> [--install-webhooks]",
  description:
    "Run the operators, webhooks and conversions a module exports, in the foreground, until\n" +
    "Ctrl-C or SIGTERM.\n\n" +
    "SIGTERM or Ctrl-C stops taking work, lets running syncs finish (up to the graceful\n" +
    "shutdown timeout), releases the leader lease and exits 0; a second signal exits at once.\n" +
    "With --leader-elect, a replica that loses its lease stops writing and exits 1, so its pod\n" +
    "restarts as a standby. With --sharding, every replica reconciles a share of the parents\n" +
    "(operators declared with sharding: true shard without the flag).\n\n" +
    "Webhooks and conversions are served over HTTPS on --webhook-bind-address. To try them\n" +
    "against a cluster with no image, Service or cert-manager, --install-webhooks registers them\n" +
    "(and points the conversions' CRDs at this process) with a development CA, and removes them\n" +
    "on exit; the API server must reach the process at --webhook-url (default its loopback URL,\n" +
    "which the local control plane reaches).",
  options: {
    ...managerFlags,
    sharding: {
      type: "boolean",
      description:
        "Split the parents among the replicas: each reconciles and caches its share; the leader assigns them (implies --leader-elect)",
      default: false,
    },
    "webhook-bind-address": {
      type: "string",
      description: "Where webhooks and conversions are served over HTTPS (when the module has any)",
      default: ":9443",
    },
    "webhook-cert-path": {
      type: "string",
      description:
        "A directory with tls.crt and tls.key, reloaded when they change (e.g. cert-manager's Secret)",
    },
    "webhook-cert-secret": {
      type: "string",
      description:
        "[namespace/]name of a Secret Operon keeps the webhook certificate in: created, injected, rotated",
    },
    "webhook-service": {
      type: "string",
      description: "[namespace/]name of the webhook Service the certificate is for",
    },
    "webhook-configuration-name": {
      type: "string",
      description: "Name of the webhook configurations (default: the first operator's name)",
    },
    "install-webhooks": {
      type: "boolean",
      description:
        "Development: register the webhooks pointing at this process, remove them on exit",
      default: false,
    },
    "webhook-url": {
      type: "string",
      description:
        "With --install-webhooks: https://host:port where the API server reaches this process",
    },
  },
  async run({ values, positionals }) {
    const managerOptions = managerOptionsFromFlags(values);
    const { logger } = managerOptions;
    const webhookServer = webhookSettings(values);
    // A module may serve only webhooks; with neither, loadOperators says what to pass.
    const module = await loadModule(positionals[0], "run");
    const { webhooks, conversions } = module;
    const operators =
      webhooks.length + conversions.length > 0
        ? module.operators
        : await loadOperators(positionals[0], "run");
    const manager = newManager({
      ...managerOptions,
      ...(values.sharding === true ? { sharding: true } : {}),
      webhookServer,
    });
    if (webhookServer.install && webhooks.length + conversions.length === 0) {
      logger.warn({}, "--install-webhooks: the module exports no webhooks or conversions");
    }
    manager.add(...operators, ...webhooks, ...conversions);
    return runManager(manager);
  },
};
