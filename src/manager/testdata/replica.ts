/**
 * `operon run` as a child process, for tests of what only real processes show: signals, exit
 * codes, leader election between replicas. Reads the replica's JSON log lines as they come.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { tiedToParent } from "../../testkit/process.ts";
import type { TraceLine } from "./chores.ts";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const choresModule = fileURLToPath(new URL("./chores.ts", import.meta.url));

/** One pino JSON line. */
export interface LogLine {
  level: number;
  time: string;
  msg: string;
  [field: string]: unknown;
}

export interface ReplicaOptions {
  name: string;
  kubeconfig: string;
  /** Extra `operon run` flags. */
  flags?: string[];
  /** `CHORES_*` settings and anything else for the environment. */
  env?: Record<string, string>;
}

/** An `operon run` child process running the Chore operator. */
export class Replica {
  readonly name: string;
  readonly process: ChildProcess;
  readonly logs: LogLine[] = [];
  /** Lines that are not JSON (stack traces, Node warnings), for failure messages. */
  readonly other: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  #waiters = new Set<() => void>();

  constructor(options: ReplicaOptions) {
    this.name = options.name;
    // Tied to the test process: a test run killed midway leaves no replica behind.
    this.process = spawn(
      ...tiedToParent(process.execPath, [
        "--conditions=operon-source",
        "src/cli/main.ts",
        "run",
        choresModule,
        "--kubeconfig",
        options.kubeconfig,
        "--log-format",
        "json",
        "--metrics-bind-address",
        "127.0.0.1:0",
        "--health-probe-bind-address",
        "127.0.0.1:0",
        ...(options.flags ?? []),
      ]),
      {
        cwd: root,
        env: { ...process.env, CHORES_REPLICA: options.name, ...options.env },
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    let buffer = "";
    this.process.stderr!.setEncoding("utf8");
    this.process.stderr!.on("data", (chunk: string) => {
      buffer += chunk;
      let newline = buffer.indexOf("\n");
      while (newline >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          if (line.trim()) this.other.push(line);
        }
        newline = buffer.indexOf("\n");
      }
      for (const wake of this.#waiters) wake();
    });
    this.exited = new Promise((resolve) =>
      this.process.on("exit", (code, signal) => {
        resolve({ code, signal, at: Date.now() });
        for (const wake of this.#waiters) wake();
      }),
    );
  }

  /** Waits for a log line matching `match`; fails after `timeoutMs` or if the process exits. */
  async waitForLog(match: (line: LogLine) => boolean, timeoutMs = 60_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => {
      exited = true;
    });
    for (;;) {
      const found = this.logs.find(match);
      if (found) return found;
      if (exited || Date.now() > deadline) {
        throw new Error(
          `replica ${this.name}: no such log line ${exited ? "before it exited" : `within ${timeoutMs} ms`}; last lines:\n${this.tail()}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(wake, 200);
        const waiters = this.#waiters;
        function wake() {
          clearTimeout(timer);
          waiters.delete(wake);
          resolve();
        }
        waiters.add(wake);
      });
    }
  }

  /** Waits for the line with this message. */
  waitForMessage(message: string | RegExp, timeoutMs?: number): Promise<LogLine> {
    return this.waitForLog(
      (line) => (typeof message === "string" ? line.msg === message : message.test(line.msg)),
      timeoutMs,
    );
  }

  /** Whether a line with this message was logged. */
  logged(message: string): LogLine | undefined {
    return this.logs.find((line) => line.msg === message);
  }

  /** The replica's holder identity, once its caches synced. */
  async identity(): Promise<string> {
    const line = await this.waitForMessage("caches synced; waiting to be elected leader");
    return line.identity as string;
  }

  /** Base URL of the probe server. */
  async healthUrl(): Promise<string> {
    const line = await this.waitForMessage("serving health probes");
    return new URL(line.healthz as string).origin;
  }

  /** Base URL of the metrics server. */
  async metricsUrl(): Promise<string> {
    const line = await this.waitForMessage("serving metrics");
    return new URL(line.url as string).origin;
  }

  kill(signal: NodeJS.Signals): void {
    this.process.kill(signal);
  }

  /** The last log lines, for failure messages. */
  tail(lines = 15): string {
    return [
      ...this.logs.slice(-lines).map((line) => `${line.time} ${line.msg} ${lineFields(line)}`),
      ...this.other.slice(-lines),
    ].join("\n");
  }
}

function lineFields(line: LogLine): string {
  const { level: _l, time: _t, msg: _m, ...fields } = line;
  return JSON.stringify(fields);
}

/** Reads a trace file written by the Chore operator. */
export function readTrace(path: string): TraceLine[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return [];
  }
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as TraceLine);
}
