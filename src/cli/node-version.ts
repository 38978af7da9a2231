/**
 * The Node.js versions the `operon` command runs on. Checked by `bin.ts` before anything else is
 * loaded, so an older Node.js gets a message instead of an error about `.ts` files. No imports:
 * this module must load on any Node.js that runs ES modules.
 */

/** The oldest Node.js that runs TypeScript modules without flags (type stripping). */
export const minimumNodeVersion = "22.18.0";

/**
 * Why this Node.js cannot run Operon, with how to get one that can; `undefined` when it can.
 *
 * @example
 * nodeVersionProblem("20.19.2", "/usr/bin/node"); // "operon needs Node.js 22.18 or newer ..."
 * nodeVersionProblem("24.1.0", "/usr/bin/node"); // undefined
 */
export function nodeVersionProblem(version: string, execPath: string): string | undefined {
  const [major = 0, minor = 0] = version.split(".").map((part) => Number.parseInt(part, 10));
  if (major > 22 || (major === 22 && minor >= 18)) return undefined;
  return [
    `operon needs Node.js 22.18 or newer (24 recommended); this is Node.js ${version} (${execPath}).`,
    "Operon runs your TypeScript modules with Node's built-in type stripping, which older versions",
    'lack: they fail with `Unknown file extension ".ts"`.',
    "",
    "To get a newer Node.js:",
    "  - in a project made by `operon init`, use the npm scripts (npm test, npm start, npm run ...):",
    "    they run the Node.js 24 pinned in its devDependencies (run npm install once);",
    "  - or run it with Node.js 24 fetched by npm: npx --package=node@24 -- node node_modules/.bin/operon ...",
    "  - or install Node.js 24: https://nodejs.org/en/download (nvm install 24, fnm install 24,",
    "    volta install node@24).",
  ].join("\n");
}
