/**
 * The control plane shared by a test run. `scripts/run-tests.ts` starts one before the test files
 * run and names its directory in `OPERON_TEST_CONTROL_PLANE_DIR`; a test file run on its own
 * starts a private one that stops when the file's tests end.
 */
import {
  attachControlPlane,
  type ControlPlane,
  type ControlPlaneOptions,
  startControlPlane,
} from "./control-plane.ts";

export const sharedControlPlaneEnv = "OPERON_TEST_CONTROL_PLANE_DIR";

let shared: Promise<ControlPlane> | undefined;

/**
 * The control plane for integration tests: the test run's shared one, or a private one for this
 * file, stopped when the file's tests are done. Give each test its own namespace with
 * `plane.createNamespace()`.
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
