/**
 * One control-plane component as a child process: started with its output in a log file,
 * stopped with SIGTERM then SIGKILL, and tied to this process's life so that a crashed test run
 * leaves nothing behind.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, openSync } from "node:fs";
import { readFile } from "node:fs/promises";

// util-linux's setpriv sets PR_SET_PDEATHSIG before exec: the kernel kills the component when the
// process that started it dies, even by SIGKILL, which no exit handler in Node can catch.
const setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].find((path) => existsSync(path));

/**
 * The command line that runs `command` so that the kernel kills it when this process dies (by
 * setpriv's PR_SET_PDEATHSIG; unchanged where util-linux is missing). The pid is `command`'s own.
 */
export function tiedToParent(command: string, args: string[]): [string, string[]] {
  return setpriv ? [setpriv, ["--pdeathsig", "KILL", "--", command, ...args]] : [command, args];
}

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** When false the process outlives its parent (the CLI's background cluster). */
  dieWithParent?: boolean;
}

export class ComponentProcess {
  readonly spec: ProcessSpec;
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> = Promise.resolve(null);
  private exitCode: number | null | undefined;

  constructor(spec: ProcessSpec) {
    this.spec = spec;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** True while the process runs. */
  get running(): boolean {
    return this.child !== undefined && this.exitCode === undefined;
  }

  start(): void {
    const { command, args, logFile, env, cwd } = this.spec;
    const log = openSync(logFile, "a");
    const dieWithParent = this.spec.dieWithParent ?? true;
    const [file, argv] = dieWithParent ? tiedToParent(command, args) : [command, args];
    this.exitCode = undefined;
    const child = spawn(file, argv, {
      stdio: ["ignore", log, log],
      env: env ?? process.env,
      cwd,
      detached: !dieWithParent,
    });
    closeSync(log);
    this.child = child;
    this.exited = new Promise((resolve) => {
      child.on("exit", (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        resolve(this.exitCode);
      });
      child.on("error", () => {
        this.exitCode = -1;
        resolve(-1);
      });
    });
    // The component never keeps this process alive by itself: when the owner is done it exits,
    // and the kernel's parent-death signal takes the component down with it.
    child.unref();
  }

  /** Resolves with the exit code when the process ends. */
  waitForExit(): Promise<number | null> {
    return this.exited;
  }

  /** Asks the process to stop, and kills it if it has not stopped after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    const child = this.child;
    if (!child || this.exitCode !== undefined) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Kills the process at once. */
  async kill(): Promise<void> {
    if (!this.child || this.exitCode !== undefined) return;
    this.child.kill("SIGKILL");
    await this.exited;
  }

  /** The last lines of the component's log, for error messages. */
  async logTail(lines = 25): Promise<string> {
    const text = await readFile(this.spec.logFile, "utf8").catch(() => "");
    return text.trimEnd().split("\n").slice(-lines).join("\n");
  }

  /** An error that names the component and shows why it failed. */
  async failure(what: string): Promise<Error> {
    const state = this.exitCode !== undefined ? ` (exited with code ${this.exitCode})` : "";
    return new Error(
      `${this.spec.name} ${what}${state}. Last lines of ${this.spec.logFile}:\n${await this.logTail()}`,
    );
  }
}
