/**
 * `operon run <module>`: runs the module's operators in the foreground against the current
 * cluster, with the flags and defaults of a Kubebuilder project's manager: metrics on `:8080`,
 * probes on `:8081`, leader election off unless `--leader-elect`.
 */
import { parseDuration } from "../manager/duration.ts";
import {
  createLogger,
  envLogLevel,
  type LogFormat,
  parseLogFormat,
  parseLogLevel,
} from "../manager/logging.ts";
import { LeaderElectionLostError, Manager } from "../manager/manager.ts";
import { AddressInUseError } from "../manager/servers.ts";
import { type Command, UsageError } from "./command.ts";
import { kubeFlags, kubeOptions } from "./kube-options.ts";
import { loadOperators } from "./load-module.ts";

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

export const run: Command = {
  path: ["run"],
  summary: "Run the operators a module exports, in the foreground, until Ctrl-C or SIGTERM",
  usage: "<module>",
  description:
    "Run the operators a module exports, in the foreground, until Ctrl-C or SIGTERM.\n\n" +
    "SIGTERM or Ctrl-C stops taking work, lets running syncs finish (up to the graceful\n" +
    "shutdown timeout), releases the leader lease and exits 0; a second signal exits at once.\n" +
    "With --leader-elect, a replica that loses its lease stops writing and exits 1, so its pod\n" +
    "restarts as a standby.",
  options: {
    ...kubeOptions,
    "metrics-bind-address": {
      type: "string",
      description: "Where /metrics is served: :8080, 127.0.0.1:8080, :0 (any free port) or 0 (off)",
      default: ":8080",
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
    "log-level": {
      type: "string",
      description: "trace, debug, info, warn or error (default: $OPERON_LOG_LEVEL, else info)",
    },
    "log-format": {
      type: "string",
      description:
        "json, pretty or auto: pretty on a terminal (default: $OPERON_LOG_FORMAT, else auto)",
    },
  },
  async run({ values, positionals }) {
    const level = flag(values, "log-level", (v) => parseLogLevel(v));
    const format = flag(values, "log-format", (v) => parseLogFormat(v));
    const duration = (name: string) => flag(values, name, parseDuration);
    const leaseDurationMs = duration("leader-elect-lease-duration");
    const renewDeadlineMs = duration("leader-elect-renew-deadline");
    const retryPeriodMs = duration("leader-elect-retry-period");
    const gracefulShutdownMs = duration("graceful-shutdown-timeout");
    const namespace = text(values, "leader-election-namespace");
    const id = text(values, "leader-election-id");
    let fromEnv: ReturnType<typeof envLogLevel>;
    try {
      fromEnv = envLogLevel();
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const operators = await loadOperators(positionals[0], "run");
    const logger = createLogger({
      level: level ?? fromEnv ?? "info",
      ...(format ? { format: format as LogFormat } : {}),
    });
    let manager: Manager;
    try {
      manager = new Manager({
        ...kubeFlags(values),
        logger,
        metricsBindAddress: text(values, "metrics-bind-address") ?? ":8080",
        healthProbeBindAddress: text(values, "health-probe-bind-address") ?? ":8081",
        ...(gracefulShutdownMs !== undefined ? { gracefulShutdownMs } : {}),
        leaderElection:
          values["leader-elect"] === true
            ? {
                ...(namespace ? { namespace } : {}),
                ...(id ? { id } : {}),
                ...(leaseDurationMs !== undefined ? { leaseDurationMs } : {}),
                ...(renewDeadlineMs !== undefined ? { renewDeadlineMs } : {}),
                ...(retryPeriodMs !== undefined ? { retryPeriodMs } : {}),
              }
            : false,
      });
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    manager.add(...operators);
    try {
      await manager.run();
    } catch (error) {
      if (error instanceof LeaderElectionLostError) {
        // Another replica may be writing already: exit now rather than wait for anything, as
        // controller-runtime managers do. The pod restarts and joins as a standby.
        process.exit(1);
      }
      if (error instanceof AddressInUseError) throw new Error(addressInUse(error));
      throw error;
    }
    // Everything is closed; should a stray handle keep the event loop alive, do not outstay the
    // pod's termination grace period because of it.
    setTimeout(() => process.exit(process.exitCode ?? 0), 2_000).unref();
    return 0;
  },
};
