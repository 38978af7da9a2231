/**
 * What the manager's integration tests share: the shared control plane, an admin client with
 * the Chore type installed, and a scratch directory for traces and logs.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeClient } from "../../client/client.ts";
import type { ControlPlane } from "../../testkit/control-plane.ts";
import { testControlPlane } from "../../testkit/shared.ts";
import { installCustomResources } from "../install.ts";
import { Chore } from "./chores.ts";

export interface ChoresTestbed {
  plane: ControlPlane;
  admin: KubeClient;
  /** A fresh directory, removed by {@link ChoresTestbed.close}. */
  dir: string;
  close(): Promise<void>;
}

/** Opens the testbed; `prefix` names the scratch directory (e.g. `operon-failover-`). */
export async function openChoresTestbed(prefix: string): Promise<ChoresTestbed> {
  const plane = await testControlPlane();
  const admin = await KubeClient.fromKubeConfig({
    kubeconfig: plane.kubeconfigPath,
    fieldManager: "test-admin",
  });
  await installCustomResources(admin, [Chore]);
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    plane,
    admin,
    dir,
    async close() {
      await admin.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
