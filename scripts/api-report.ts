/**
 * Checks the public API with API Extractor: emits the declarations of `src/`, then, for each
 * entry point in package.json's `exports`, compares the API with its committed report in `api/`
 * and fails on any difference or on an exported signature that uses a type the entry point does
 * not export (`ae-forgotten-export`).
 *
 *   node scripts/api-report.ts            check (part of `npm run check`)
 *   node scripts/api-report.ts --update   rewrite the reports after an intended API change
 */
import { execFileSync } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  Extractor,
  ExtractorConfig,
  ExtractorLogLevel,
  type ExtractorMessage,
  type IConfigFile,
} from "@microsoft/api-extractor";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const work = join(root, ".api");
const update = process.argv.includes("--update");

/** Entry points: the report's name and the declaration file of the `exports` entry. */
const entryPoints = [
  { report: "kube-operon.api.md", declarations: "index.d.ts" },
  { report: "kube-operon-testkit.api.md", declarations: "testkit/index.d.ts" },
];

async function emitDeclarations(): Promise<void> {
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  execFileSync(
    process.execPath,
    [
      tsc,
      "-p",
      join(root, "tsconfig.build.json"),
      "--emitDeclarationOnly",
      "--declarationMap",
      "false",
      "--sourceMap",
      "false",
      "--outDir",
      join(work, "dts"),
    ],
    { stdio: "inherit" },
  );
  // API Extractor's compiler reads the emitted declarations with the project's settings.
  await writeFile(
    join(work, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2023",
        lib: ["ES2023"],
        module: "NodeNext",
        moduleResolution: "NodeNext",
        types: ["node"],
        strict: true,
        skipLibCheck: true,
        allowImportingTsExtensions: true,
        noEmit: true,
      },
      include: ["dts"],
    }),
  );
}

function configFor(entry: (typeof entryPoints)[number]): IConfigFile {
  return {
    projectFolder: root,
    mainEntryPointFilePath: join(work, "dts", entry.declarations),
    compiler: { tsconfigFilePath: join(work, "tsconfig.json") },
    apiReport: {
      enabled: true,
      reportFileName: entry.report,
      reportFolder: join(root, "api"),
      reportTempFolder: join(work, "temp"),
    },
    docModel: { enabled: false },
    dtsRollup: { enabled: false },
    tsdocMetadata: { enabled: false },
    messages: {
      compilerMessageReporting: { default: { logLevel: ExtractorLogLevel.Error } },
      extractorMessageReporting: {
        default: { logLevel: ExtractorLogLevel.Warning },
        // A public signature naming a type users cannot import is a hole in the API.
        "ae-forgotten-export": { logLevel: ExtractorLogLevel.Error, addToApiReportFile: false },
        "ae-missing-release-tag": { logLevel: ExtractorLogLevel.None },
        "ae-undocumented": { logLevel: ExtractorLogLevel.None },
      },
      tsdocMessageReporting: { default: { logLevel: ExtractorLogLevel.None } },
    },
  };
}

/** Names a report declares, so a later entry point may use them without exporting them again. */
async function exportedNames(report: string): Promise<Set<string>> {
  const text = await readFile(report, "utf8").catch(() => "");
  const names = new Set<string>();
  const declaration =
    /^export (?:declare )?(?:abstract )?(?:class|interface|type|function|const|let|namespace) (\w+)/gm;
  for (const match of text.matchAll(declaration)) names.add(match[1]!);
  return names;
}

await emitDeclarations();
let failed = false;
/** Names the main entry point exports: the testkit's signatures may use them (users import both). */
let mainExports = new Set<string>();
for (const entry of entryPoints) {
  const config = ExtractorConfig.prepare({
    configObject: configFor(entry),
    configObjectFullPath: join(root, "api", "api-extractor.json"),
    packageJsonFullPath: join(root, "package.json"),
  });
  const result = Extractor.invoke(config, {
    localBuild: update,
    messageCallback(message: ExtractorMessage) {
      // The report difference is told once below, with the command that fixes it.
      if (message.messageId === "console-api-report-changed") message.handled = true;
      if (message.messageId === "console-preamble") message.handled = true;
      if (message.messageId === "console-api-report-not-copied") message.handled = true;
      const symbol = /The symbol "([^"]+)"/.exec(message.text)?.[1];
      if (message.messageId === "ae-forgotten-export" && symbol && mainExports.has(symbol)) {
        message.logLevel = ExtractorLogLevel.None;
        message.handled = true;
      }
    },
  });
  if (mainExports.size === 0) {
    const written = update ? config.reportFilePath : config.reportTempFilePath;
    mainExports = await exportedNames(written);
  }
  if (result.errorCount > 0) failed = true;
  if (result.apiReportChanged && !update) {
    failed = true;
    process.stderr.write(
      `api: the public API of ${entry.declarations.replace(/\.d\.ts$/, "")} differs from api/${entry.report}.\n` +
        "     If the change is intended, run `npm run api:update` and commit the report.\n",
    );
  }
}
process.exitCode = failed ? 1 : 0;
