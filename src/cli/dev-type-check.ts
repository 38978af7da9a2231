/**
 * `operon dev`'s type checker, in a worker thread so a long check never stalls the terminal or
 * the viewer. It checks the module and what it imports with the project's tsconfig options and
 * the project's own `typescript`, incrementally (unchanged files keep their parsed and checked
 * state between checks). It checks once at start and then when the parent thread (which
 * watches the files) asks, and answers with the errors and the folders of the program's files.
 *
 * Messages: in `{ type: "check" }`; out `{ type: "verdict", errors, text, initial, folders }`,
 * `{ type: "unavailable", reason }`.
 */
import { statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { parentPort, workerData } from "node:worker_threads";

/** What the parent thread is told. */
export type TypeCheckMessage =
  | { type: "verdict"; errors: number; text: string; initial: boolean; folders: string[] }
  | { type: "unavailable"; reason: string };

interface Diagnostic {
  category: number;
}
interface SourceFile {
  fileName: string;
}
interface Program {
  getSourceFiles(): readonly SourceFile[];
  getSourceFile(path: string): SourceFile | undefined;
}
interface BuilderProgram {
  getProgram(): Program;
  getConfigFileParsingDiagnostics(): readonly Diagnostic[];
  getOptionsDiagnostics(): readonly Diagnostic[];
  getGlobalDiagnostics(): readonly Diagnostic[];
  getSyntacticDiagnostics(): readonly Diagnostic[];
  getSemanticDiagnostics(): readonly Diagnostic[];
}
interface CompilerHost {
  getSourceFile(
    fileName: string,
    languageVersion: unknown,
    ...rest: unknown[]
  ): SourceFile | undefined;
}
interface TypeScript {
  sys: { fileExists(path: string): boolean; newLine: string };
  findConfigFile(from: string, exists: (path: string) => boolean): string | undefined;
  getParsedCommandLineOfConfigFile(
    configPath: string,
    extend: Record<string, unknown>,
    host: unknown,
  ): { options: Record<string, unknown> } | undefined;
  createIncrementalCompilerHost(options: Record<string, unknown>): CompilerHost;
  createSemanticDiagnosticsBuilderProgram(
    rootNames: string[],
    options: Record<string, unknown>,
    host: CompilerHost,
    old?: BuilderProgram,
  ): BuilderProgram;
  formatDiagnostics(
    diagnostics: readonly Diagnostic[],
    host: {
      getCanonicalFileName(name: string): string;
      getCurrentDirectory(): string;
      getNewLine(): string;
    },
  ): string;
  formatDiagnosticsWithColorAndContext(
    diagnostics: readonly Diagnostic[],
    host: {
      getCanonicalFileName(name: string): string;
      getCurrentDirectory(): string;
      getNewLine(): string;
    },
  ): string;
}

const errorCategory = 1;

function post(message: TypeCheckMessage): void {
  parentPort?.postMessage(message);
}

/** Checks on demand, reusing what did not change. */
class Checker {
  readonly #ts: TypeScript;
  readonly #modulePath: string;
  readonly #options: Record<string, unknown>;
  readonly #host: CompilerHost;
  /** Parsed files by name, with the modification time they were read at. */
  readonly #files = new Map<string, { mtimeMs: number; file: SourceFile | undefined }>();
  #builder: BuilderProgram | undefined;

  readonly #color: boolean;

  constructor(
    ts: TypeScript,
    modulePath: string,
    options: Record<string, unknown>,
    color: boolean,
  ) {
    this.#ts = ts;
    this.#color = color;
    this.#modulePath = modulePath;
    this.#options = { ...options, noEmit: true, incremental: false, composite: false };
    this.#host = ts.createIncrementalCompilerHost(this.#options);
    const read = this.#host.getSourceFile.bind(this.#host);
    this.#host.getSourceFile = (fileName, languageVersion, ...rest) => {
      let mtimeMs = -1;
      try {
        mtimeMs = statSync(fileName).mtimeMs;
      } catch {
        // Missing: read (and fail) as TypeScript would.
      }
      const cached = this.#files.get(fileName);
      if (cached && cached.mtimeMs === mtimeMs && mtimeMs >= 0) return cached.file;
      const file = read(fileName, languageVersion, ...rest);
      this.#files.set(fileName, { mtimeMs, file });
      return file;
    };
  }

  /** Checks now; returns the errors and their text. */
  check(): { errors: number; text: string; files: string[] } {
    const ts = this.#ts;
    this.#builder = ts.createSemanticDiagnosticsBuilderProgram(
      [this.#modulePath],
      this.#options,
      this.#host,
      this.#builder,
    );
    const builder = this.#builder;
    const diagnostics = [
      ...builder.getConfigFileParsingDiagnostics(),
      ...builder.getOptionsDiagnostics(),
      ...builder.getGlobalDiagnostics(),
      ...builder.getSyntacticDiagnostics(),
    ];
    // Semantic errors of a file that does not parse are noise.
    if (!diagnostics.some((d) => d.category === errorCategory)) {
      diagnostics.push(...builder.getSemanticDiagnostics());
    }
    const errors = diagnostics.filter((d) => d.category === errorCategory);
    const text =
      errors.length > 0
        ? (this.#color ? ts.formatDiagnosticsWithColorAndContext : ts.formatDiagnostics)(errors, {
            getCanonicalFileName: (name) => name,
            getCurrentDirectory: () => process.cwd(),
            getNewLine: () => ts.sys.newLine,
          })
        : "";
    const files = builder
      .getProgram()
      .getSourceFiles()
      .map((file) => file.fileName);
    return { errors: errors.length, text, files };
  }
}

if (parentPort) {
  const { modulePath, projectRoot, color } = workerData as {
    modulePath: string;
    projectRoot: string;
    color: boolean;
  };
  let ts: TypeScript | undefined;
  try {
    ts = createRequire(`${projectRoot}/package.json`)("typescript") as TypeScript;
  } catch {
    post({ type: "unavailable", reason: "typescript is not installed in the project" });
  }
  const configPath = ts?.findConfigFile(dirname(modulePath), ts.sys.fileExists);
  if (ts && !configPath) post({ type: "unavailable", reason: "no tsconfig.json above the module" });
  if (ts && configPath) {
    const parsed = ts.getParsedCommandLineOfConfigFile(
      configPath,
      {},
      { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
    );
    const checker = new Checker(ts, modulePath, parsed?.options ?? {}, color);
    const run = (initial: boolean) => {
      const { errors, text, files } = checker.check();
      // The folders of the program's own files, for the parent to watch; libraries do not
      // change in an edit loop.
      const folders = [...new Set(files.filter((f) => !f.includes("/node_modules/")).map(dirname))];
      post({ type: "verdict", errors, text, initial, folders });
    };
    parentPort.on("message", (message: { type: "check" }) => {
      if (message.type === "check") run(false);
    });
    run(true);
  }
}
