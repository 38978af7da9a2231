/** kubectl for the manifests' integration tests: generated YAML is applied the way users apply it. */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureAssets } from "../../testkit/assets.ts";

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** kubectl with one kubeconfig and its own discovery cache. */
export class Kubectl {
  readonly path: string;
  readonly kubeconfig: string;
  readonly cacheDir: string;

  private constructor(path: string, kubeconfig: string, cacheDir: string) {
    this.path = path;
    this.kubeconfig = kubeconfig;
    this.cacheDir = cacheDir;
  }

  static async create(kubeconfig: string): Promise<Kubectl> {
    const { kubectl } = await ensureAssets({ only: ["kubectl"] });
    return new Kubectl(kubectl, kubeconfig, await mkdtemp(join(tmpdir(), "operon-kubectl-")));
  }

  /** Removes the discovery cache (shared with the identities made by {@link as}). */
  async dispose(): Promise<void> {
    await rm(this.cacheDir, { recursive: true, force: true });
  }

  /** The same kubectl as another identity. */
  as(kubeconfig: string): Kubectl {
    return new Kubectl(this.path, kubeconfig, this.cacheDir);
  }

  run(args: string[], input?: string): Promise<KubectlResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(
        this.path,
        [`--kubeconfig=${this.kubeconfig}`, `--cache-dir=${this.cacheDir}`, ...args],
        { stdio: ["pipe", "pipe", "pipe"] },
      );
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
      });
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.on("error", reject);
      child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
      child.stdin.end(input ?? "");
    });
  }

  /** Runs kubectl and fails the test unless it succeeds; returns its stdout. */
  async ok(args: string[], input?: string): Promise<string> {
    const result = await this.run(args, input);
    assert.equal(result.code, 0, `kubectl ${args.join(" ")} failed: ${result.stderr}`);
    return result.stdout;
  }

  /**
   * `kubectl auth can-i`: whether this identity may do `verb` on `resource` (`-A` when no
   * namespace is given: in every namespace). `resource` may end in `/<subresource>`, e.g.
   * `deployments.apps/status`.
   */
  async canI(verb: string, resource: string, namespace?: string): Promise<boolean> {
    const [name, subresource] = resource.split("/");
    const result = await this.run([
      "auth",
      "can-i",
      verb,
      name!,
      ...(subresource ? [`--subresource=${subresource}`] : []),
      ...(namespace ? ["-n", namespace] : ["--all-namespaces"]),
    ]);
    const answer = result.stdout.trim();
    if (answer !== "yes" && answer !== "no") {
      assert.fail(`kubectl auth can-i ${verb} ${resource}: ${result.stderr || answer}`);
    }
    return answer === "yes";
  }
}
