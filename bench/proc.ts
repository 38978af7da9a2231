/**
 * A contender process: spawned with its output in a log file, watched for marker lines, and
 * measured through /proc (CPU from `stat` utime + stime, memory from `status` VmRSS / VmHWM).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createWriteStream, readFileSync, type WriteStream } from "node:fs";

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond =
        Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** User + system CPU seconds of a process from the text of `/proc/<pid>/stat`. */
export function cpuSecondsFromStat(stat: string, ticks = 100): number {
  // The command name (field 2) is in parentheses and may contain spaces: count from its end.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  return (Number(fields[11]) + Number(fields[12])) / ticks;
}

/** A `kB` figure of `/proc/<pid>/status`, in bytes. */
export function statusBytes(status: string, field: "VmRSS" | "VmHWM"): number | undefined {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  return match ? Number(match[1]) * 1024 : undefined;
}

export interface ProcessSample {
  cpuSeconds: number;
  rssBytes: number;
  peakRssBytes: number;
}

/** Reads a process's figures; `undefined` once it is gone. */
export function sampleProcess(pid: number): ProcessSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const rssBytes = statusBytes(status, "VmRSS");
    const peakRssBytes = statusBytes(status, "VmHWM");
    // A process that exited but is not reaped yet (a zombie) has no memory figures: keep the
    // last real sample rather than zeros.
    if (rssBytes === undefined || peakRssBytes === undefined) return undefined;
    return { cpuSeconds: cpuSecondsFromStat(stat, clockTicks()), rssBytes, peakRssBytes };
  } catch {
    return undefined;
  }
}

export interface ContenderProcessOptions {
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  logFile: string;
}

/** A running contender. */
export class ContenderProcess {
  readonly name: string;
  readonly startedAt: number;
  readonly #child: ChildProcess;
  readonly #log: WriteStream;
  readonly #lines: string[] = [];
  readonly #lineWaiters: Array<{ marker: string; resolve: (at: number) => void }> = [];
  readonly #exited: Promise<number | null>;
  #last: ProcessSample | undefined;
  #timer: NodeJS.Timeout | undefined;
  #exitCode: number | null | undefined;

  constructor(options: ContenderProcessOptions) {
    this.name = options.name;
    this.#log = createWriteStream(options.logFile);
    this.startedAt = performance.now();
    this.#child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let partial = "";
    this.#child.stdout!.on("data", (chunk: Buffer) => {
      this.#log.write(chunk);
      partial += chunk.toString("utf8");
      const lines = partial.split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) this.#line(line);
    });
    this.#child.stderr!.on("data", (chunk: Buffer) => {
      this.#log.write(chunk);
    });
    this.#exited = new Promise((resolve) => {
      this.#child.on("exit", (code, signal) => {
        this.#exitCode = signal ? null : code;
        clearInterval(this.#timer);
        resolve(code);
      });
      this.#child.on("error", (error) => {
        this.#log.write(`spawn failed: ${error.message}\n`);
        this.#exitCode = -1;
        resolve(-1);
      });
    });
    // VmHWM keeps the peak by itself; sampling keeps the last figures for after the exit, often
    // at first so that short-lived processes (the floor) are measured too.
    this.#timer = setInterval(() => this.sample(), 50);
    this.#timer.unref();
    setTimeout(() => {
      clearInterval(this.#timer);
      if (!this.running) return;
      this.#timer = setInterval(() => this.sample(), 250);
      this.#timer.unref();
    }, 2_000).unref();
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get running(): boolean {
    return this.#exitCode === undefined;
  }

  get exitCode(): number | null | undefined {
    return this.#exitCode;
  }

  #line(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > 200) this.#lines.shift();
    const now = performance.now();
    for (let index = this.#lineWaiters.length - 1; index >= 0; index--) {
      const waiter = this.#lineWaiters[index]!;
      if (line.startsWith(waiter.marker)) {
        this.#lineWaiters.splice(index, 1);
        waiter.resolve(now);
      }
    }
  }

  /** The time (performance.now) the process printed a line starting with `marker`. */
  waitForLine(marker: string): Promise<number> {
    return new Promise((resolve) => this.#lineWaiters.push({ marker, resolve }));
  }

  /** The latest figures (the last ones seen once the process is gone). */
  sample(): ProcessSample | undefined {
    const pid = this.#child.pid;
    if (pid !== undefined && this.running) {
      const sample = sampleProcess(pid);
      if (sample) this.#last = sample;
    }
    return this.#last;
  }

  /** Resolves with the exit code when the process ends. */
  exited(): Promise<number | null> {
    return this.#exited;
  }

  /** Rejects when the process exits before `promise` settles. */
  async unlessExited<T>(promise: Promise<T>): Promise<T> {
    return Promise.race([
      promise,
      this.#exited.then((code) => {
        throw new Error(
          `${this.name} exited (code ${code}) before finishing; see its log:\n${this.#lines.slice(-10).join("\n")}`,
        );
      }),
    ]);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it is gone. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.running) return;
    this.sample();
    this.#child.kill("SIGTERM");
    const killer = setTimeout(() => this.#child.kill("SIGKILL"), graceMs);
    await this.#exited;
    clearTimeout(killer);
    await new Promise<void>((resolve) => this.#log.end(resolve));
  }
}
