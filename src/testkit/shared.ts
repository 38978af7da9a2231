/**
 * One control plane for every test file of a run. Node's test runner runs each file in its own
 * process; a global setup module (`node --test --test-global-setup=<module>`) runs once in the
 * runner before them: {@link testControlPlaneSetup} starts the plane there and names its folder
 * in `OPERON_TEST_CONTROL_PLANE_DIR`, which the files' processes inherit, and
 * {@link testControlPlane} attaches to it. A file run without the setup starts a private plane.
 */
import {
  attachControlPlane,
  type ControlPlane,
  type ControlPlaneOptions,
  startControlPlane,
} from "./control-plane.ts";

/**
 * The environment variable naming the folder of the control plane shared by a test run (its
 * `state.json`, certificates and kubeconfig). Set by {@link testControlPlaneSetup}; read by
 * {@link testControlPlane}.
 */
export const sharedControlPlaneEnv = "OPERON_TEST_CONTROL_PLANE_DIR";

let shared: Promise<ControlPlane> | undefined;

/**
 * The control plane for integration tests: the one shared by the test run (see
 * {@link testControlPlaneSetup}), or, when there is none, a private one for this test file,
 * stopped when the file's tests are done. Give each test its own namespace with
 * `plane.createNamespace()`. Call it as often as you like: a file gets the same plane each time.
 *
 * `options` apply to a private plane only; a shared plane was started by the setup with its own.
 *
 * @example
 * import { test } from "node:test";
 * import { testControlPlane } from "kube-operon/testkit";
 *
 * test("creates a ConfigMap", async () => {
 *   const plane = await testControlPlane();
 *   const namespace = await plane.createNamespace();
 *   // ... use plane.kubeconfigPath
 * });
 */
export function testControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  if (!shared) {
    const dir = process.env[sharedControlPlaneEnv];
    const started = dir ? attachControlPlane(dir) : startControlPlane(options);
    shared = started;
    // Stop once the test file has nothing left to do; the components do not keep it alive.
    let stopping = false;
    process.on("beforeExit", () => {
      if (stopping) return;
      stopping = true;
      void started.then((plane) => plane.stop()).catch(() => {});
    });
  }
  return shared;
}

/** The hooks of a global setup module for Node's test runner; see {@link testControlPlaneSetup}. */
export interface TestControlPlaneSetup {
  /** Starts the shared control plane, unless the run already has one. */
  globalSetup(): Promise<void>;
  /** Stops it. */
  globalTeardown(): Promise<void>;
}

/**
 * Shares one control plane among all the test files of a `node --test` run: export the hooks it
 * returns from a module and pass that module to `--test-global-setup`. The plane starts once,
 * before the first file, and stops after the last; every {@link testControlPlane} call in the
 * files attaches to it instead of starting one per file. Each test still takes a fresh namespace.
 *
 * Without the setup (a file run on its own), `testControlPlane()` starts a private plane as
 * before; with a plane already named in `OPERON_TEST_CONTROL_PLANE_DIR`, the setup does nothing.
 *
 * @example
 * // test/control-plane.ts
 * import { testControlPlaneSetup } from "kube-operon/testkit";
 *
 * export const { globalSetup, globalTeardown } = testControlPlaneSetup();
 *
 * // package.json: node --test finds the *.test.ts files
 * // "scripts": { "test": "node --test --test-global-setup=test/control-plane.ts" }
 */
export function testControlPlaneSetup(options: ControlPlaneOptions = {}): TestControlPlaneSetup {
  let plane: ControlPlane | undefined;
  return {
    async globalSetup() {
      if (process.env[sharedControlPlaneEnv]) return;
      plane = await startControlPlane(options);
      process.env[sharedControlPlaneEnv] = plane.dir;
    },
    async globalTeardown() {
      if (!plane) return;
      delete process.env[sharedControlPlaneEnv];
      await plane.stop();
      plane = undefined;
    },
  };
}
