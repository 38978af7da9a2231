import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { KubeConfigError } from "./errors.ts";
import {
  connectionFromKubeConfig,
  inClusterConnection,
  kubeConfigPathsFromEnv,
  loadKubeConfig,
  mergeKubeConfigs,
  parseKubeConfig,
} from "./kubeconfig.ts";

const pem = (label: string) =>
  `-----BEGIN ${label}-----\nMIIBfake${label.replace(/ /g, "")}\n-----END ${label}-----\n`;
const b64 = (text: string) => Buffer.from(text).toString("base64");

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "operon-kubeconfig-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await mkdir(join(path, ".."), { recursive: true });
  await writeFile(path, text);
  return path;
}

function kubeconfig(parts: {
  clusters?: Array<[string, Record<string, unknown>]>;
  users?: Array<[string, Record<string, unknown>]>;
  contexts?: Array<[string, Record<string, unknown>]>;
  current?: string;
}): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: (parts.clusters ?? []).map(([name, cluster]) => ({ name, cluster })),
    users: (parts.users ?? []).map(([name, user]) => ({ name, user })),
    contexts: (parts.contexts ?? []).map(([name, context]) => ({ name, context })),
    ...(parts.current ? { "current-context": parts.current } : {}),
  });
}

describe("parseKubeConfig", () => {
  test("reads YAML, resolves relative paths against the file's directory", () => {
    const text = `
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://example.test:6443
    certificate-authority: certs/ca.crt
users:
- name: u
  user:
    client-certificate: certs/client.crt
    client-key: /abs/client.key
    tokenFile: ../token
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./bin/plugin
contexts:
- name: ctx
  context: { cluster: c, user: u, namespace: team }
current-context: ctx
`;
    const config = parseKubeConfig(text, "/home/me/.kube/config");
    assert.equal(config.currentContext, "ctx");
    assert.equal(
      config.clusters.get("c")?.value["certificate-authority"],
      "/home/me/.kube/certs/ca.crt",
    );
    const user = config.users.get("u")!.value;
    assert.equal(user["client-certificate"], "/home/me/.kube/certs/client.crt");
    assert.equal(user["client-key"], "/abs/client.key");
    assert.equal(user.tokenFile, "/home/me/token");
    assert.equal(user.exec?.command, "/home/me/.kube/bin/plugin");
    assert.equal(config.contexts.get("ctx")?.value.namespace, "team");
    assert.equal(config.contexts.get("ctx")?.file, "/home/me/.kube/config");
  });

  test("a bare exec command stays a PATH lookup", () => {
    const config = parseKubeConfig(
      kubeconfig({
        users: [["u", { exec: { apiVersion: "client.authentication.k8s.io/v1", command: "aws" } }]],
      }),
      "/x/config",
    );
    assert.equal(config.users.get("u")?.value.exec?.command, "aws");
  });

  test("an empty file is an empty config", () => {
    const config = parseKubeConfig("", "/x/empty");
    assert.equal(config.contexts.size, 0);
  });

  test("errors name the file and the entry", () => {
    assert.throws(
      () => parseKubeConfig("clusters:\n- cluster: {server: x}\n", "/x/bad"),
      (err: unknown) =>
        err instanceof KubeConfigError &&
        err.message === "/x/bad: clusters[0] has no name" &&
        err.file === "/x/bad",
    );
    assert.throws(
      () => parseKubeConfig("clusters: {a: 1}\n", "/x/bad"),
      /\/x\/bad: "clusters" must be a list/,
    );
    assert.throws(() => parseKubeConfig("key: [unclosed\n", "/x/bad"), /\/x\/bad: not valid YAML/);
    assert.throws(
      () => parseKubeConfig(kubeconfig({ clusters: [["c", { server: 42 }]] }), "/x/bad"),
      /\/x\/bad: clusters\[0\] \(cluster "c"\)\.server must be a string/,
    );
  });
});

describe("mergeKubeConfigs", () => {
  test("first file wins per name and for current-context", () => {
    const a = parseKubeConfig(
      kubeconfig({
        clusters: [["shared", { server: "https://a" }]],
        contexts: [["ctx-a", { cluster: "shared" }]],
      }),
      "/a",
    );
    const b = parseKubeConfig(
      kubeconfig({
        clusters: [
          ["shared", { server: "https://b" }],
          ["only-b", { server: "https://b2" }],
        ],
        contexts: [["ctx-b", { cluster: "only-b" }]],
        current: "ctx-b",
      }),
      "/b",
    );
    const c = parseKubeConfig(kubeconfig({ current: "ctx-a" }), "/c");
    const merged = mergeKubeConfigs([a, b, c]);
    assert.equal(merged.clusters.get("shared")?.value.server, "https://a");
    assert.equal(merged.clusters.get("shared")?.file, "/a");
    assert.equal(merged.clusters.get("only-b")?.value.server, "https://b2");
    assert.equal(merged.currentContext, "ctx-b");
    assert.deepEqual(merged.files, ["/a", "/b", "/c"]);
  });

  test("KUBECONFIG splitting drops empties and duplicates", () => {
    assert.deepEqual(kubeConfigPathsFromEnv("/a::/b:/a:"), ["/a", "/b"]);
    assert.deepEqual(kubeConfigPathsFromEnv(""), []);
  });
});

describe("connectionFromKubeConfig", () => {
  test("current context, namespace, CA data, client certificate data, token", async () => {
    const config = parseKubeConfig(
      kubeconfig({
        clusters: [
          [
            "c",
            {
              server: "https://k8s.test:6443/",
              "certificate-authority-data": b64(pem("CERTIFICATE")),
              "tls-server-name": "kubernetes",
            },
          ],
        ],
        users: [
          [
            "u",
            {
              "client-certificate-data": b64(pem("CERTIFICATE")),
              "client-key-data": b64(pem("PRIVATE KEY")),
              token: "abc",
            },
          ],
        ],
        contexts: [["ctx", { cluster: "c", user: "u", namespace: "team" }]],
        current: "ctx",
      }),
      "/x/config",
    );
    const conn = await connectionFromKubeConfig(config);
    assert.equal(conn.server, "https://k8s.test:6443");
    assert.equal(conn.namespace, "team");
    assert.equal(conn.tls.ca, pem("CERTIFICATE"));
    assert.equal(conn.tls.cert, pem("CERTIFICATE"));
    assert.equal(conn.tls.key, pem("PRIVATE KEY"));
    assert.equal(conn.tls.serverName, "kubernetes");
    assert.equal(conn.tls.insecureSkipTlsVerify, false);
    assert.deepEqual(await conn.auth.credentials(), { authorization: "Bearer abc" });
    assert.equal(conn.contextName, "ctx");
    assert.equal(conn.source, 'context "ctx" in /x/config');
  });

  test("context and namespace overrides; default namespace", async () => {
    const config = parseKubeConfig(
      kubeconfig({
        clusters: [
          ["one", { server: "https://one" }],
          [
            "two",
            {
              server: "two.test:443",
              "insecure-skip-tls-verify": true,
              "certificate-authority-data": "ignored",
            },
          ],
        ],
        contexts: [
          ["first", { cluster: "one", namespace: "n1" }],
          ["second", { cluster: "two" }],
        ],
        current: "first",
      }),
      "/x/config",
    );
    const second = await connectionFromKubeConfig(config, { context: "second" });
    assert.equal(second.server, "https://two.test");
    assert.equal(second.namespace, "default");
    assert.equal(second.tls.insecureSkipTlsVerify, true);
    assert.equal(second.tls.ca, undefined);
    const overridden = await connectionFromKubeConfig(config, { namespace: "other" });
    assert.equal(overridden.namespace, "other");
    assert.deepEqual(await overridden.auth.credentials(), {});
  });

  test("certificate files are read relative to the kubeconfig", async () => {
    await write("rel/certs/ca.crt", pem("CERTIFICATE"));
    await write("rel/certs/client.crt", pem("CERTIFICATE"));
    await write("rel/certs/client.key", pem("EC PRIVATE KEY"));
    const path = await write(
      "rel/config",
      kubeconfig({
        clusters: [["c", { server: "https://x", "certificate-authority": "certs/ca.crt" }]],
        users: [
          ["u", { "client-certificate": "certs/client.crt", "client-key": "certs/client.key" }],
        ],
        contexts: [["ctx", { cluster: "c", user: "u" }]],
        current: "ctx",
      }),
    );
    const conn = await loadKubeConfig({ kubeconfig: path, env: {} });
    assert.equal(conn.tls.ca, pem("CERTIFICATE"));
    assert.equal(conn.tls.key, pem("EC PRIVATE KEY"));
  });

  test("impersonation and basic auth", async () => {
    const config = parseKubeConfig(
      kubeconfig({
        clusters: [["c", { server: "https://x" }]],
        users: [
          [
            "u",
            {
              username: "admin",
              password: "secret",
              as: "jane",
              "as-groups": ["devs", "ops"],
              "as-uid": "42",
              "as-user-extra": { scopes: ["a"] },
            },
          ],
        ],
        contexts: [["ctx", { cluster: "c", user: "u" }]],
        current: "ctx",
      }),
    );
    const conn = await connectionFromKubeConfig(config);
    assert.deepEqual(conn.impersonate, {
      user: "jane",
      uid: "42",
      groups: ["devs", "ops"],
      extra: { scopes: ["a"] },
    });
    assert.deepEqual(await conn.auth.credentials(), {
      authorization: `Basic ${Buffer.from("admin:secret").toString("base64")}`,
    });
  });

  test("helpful errors naming files and entries", async () => {
    const path = "/etc/kube/a.yaml";
    const config = parseKubeConfig(
      kubeconfig({
        clusters: [
          ["c", { server: "https://x" }],
          ["noserver", {}],
          ["badca", { server: "https://x", "certificate-authority-data": b64("not pem") }],
          ["cafile", { server: "https://x", "certificate-authority": "/nonexistent/ca.crt" }],
        ],
        users: [
          ["both", { token: "t", username: "u", password: "p" }],
          ["gcp", { "auth-provider": { name: "gcp" } }],
          ["halfcert", { "client-certificate-data": b64(pem("CERTIFICATE")) }],
        ],
        contexts: [
          ["nocluster", { cluster: "missing" }],
          ["nouser", { cluster: "c", user: "missing" }],
          ["noserver", { cluster: "noserver" }],
          ["badca", { cluster: "badca" }],
          ["cafile", { cluster: "cafile" }],
          ["both", { cluster: "c", user: "both" }],
          ["gcp", { cluster: "c", user: "gcp" }],
          ["halfcert", { cluster: "c", user: "halfcert" }],
        ],
      }),
      path,
    );
    const cases: Array<[string | undefined, RegExp]> = [
      [
        undefined,
        /\/etc\/kube\/a\.yaml sets no current-context; choose a context \(available: "nocluster"/,
      ],
      ["nope", /context "nope" not found in \/etc\/kube\/a\.yaml \(available: /],
      [
        "nocluster",
        /context "nocluster" in \/etc\/kube\/a\.yaml refers to cluster "missing", which is not defined/,
      ],
      ["nouser", /refers to user "missing"/],
      ["noserver", /cluster "noserver" in \/etc\/kube\/a\.yaml has no server/],
      [
        "badca",
        /cluster "badca" in \/etc\/kube\/a\.yaml: certificate-authority-data is not base64-encoded PEM data/,
      ],
      [
        "cafile",
        /cluster "cafile" in \/etc\/kube\/a\.yaml: cannot read certificate-authority \/nonexistent\/ca\.crt: ENOENT/,
      ],
      ["both", /user "both" in \/etc\/kube\/a\.yaml sets both a token and username\/password/],
      ["gcp", /uses auth-provider "gcp", which Kubernetes clients no longer support/],
      [
        "halfcert",
        /user "halfcert" in \/etc\/kube\/a\.yaml has a client certificate without a key/,
      ],
    ];
    for (const [context, pattern] of cases) {
      await assert.rejects(
        connectionFromKubeConfig(config, context ? { context } : {}),
        (err: unknown) => err instanceof KubeConfigError && pattern.test(err.message),
        `context ${context}`,
      );
    }
    await assert.rejects(
      connectionFromKubeConfig(parseKubeConfig("", path)),
      /a\.yaml defines no contexts/,
    );
  });
});

describe("loadKubeConfig", () => {
  test("KUBECONFIG with several files merges first-wins and skips missing files", async () => {
    const a = await write(
      "multi/a.yaml",
      kubeconfig({
        clusters: [["c", { server: "https://from-a" }]],
        users: [["u", { token: "token-a" }]],
        contexts: [["ctx", { cluster: "c", user: "u", namespace: "from-a" }]],
      }),
    );
    const b = await write(
      "multi/b.yaml",
      kubeconfig({
        clusters: [["c", { server: "https://from-b" }]],
        contexts: [
          ["ctx", { cluster: "c", namespace: "from-b" }],
          ["other", { cluster: "c" }],
        ],
        current: "ctx",
      }),
    );
    const env = { KUBECONFIG: [a, join(dir, "missing.yaml"), b].join(":") };
    const conn = await loadKubeConfig({ env, homeDir: dir });
    assert.equal(conn.server, "https://from-a");
    assert.equal(conn.namespace, "from-a");
    assert.deepEqual(await conn.auth.credentials(), { authorization: "Bearer token-a" });
    const other = await loadKubeConfig({ env, homeDir: dir, context: "other" });
    assert.equal(other.namespace, "default");
    await assert.rejects(
      loadKubeConfig({ env: { KUBECONFIG: join(dir, "nope1") }, homeDir: dir }),
      /KUBECONFIG names .*nope1, but none of them exist/,
    );
  });

  test("explicit path wins over KUBECONFIG; missing explicit path is an error", async () => {
    const explicit = await write(
      "explicit.yaml",
      kubeconfig({
        clusters: [["c", { server: "https://explicit" }]],
        contexts: [["x", { cluster: "c" }]],
        current: "x",
      }),
    );
    const conn = await loadKubeConfig({
      kubeconfig: explicit,
      env: { KUBECONFIG: "/nonexistent" },
    });
    assert.equal(conn.server, "https://explicit");
    await assert.rejects(
      loadKubeConfig({ kubeconfig: join(dir, "absent.yaml"), env: {} }),
      /absent\.yaml does not exist/,
    );
  });

  test("~/.kube/config is the fallback; nothing found is a clear error", async () => {
    const home = join(dir, "home");
    await write(
      "home/.kube/config",
      kubeconfig({
        clusters: [["c", { server: "https://home" }]],
        contexts: [["x", { cluster: "c" }]],
        current: "x",
      }),
    );
    assert.equal((await loadKubeConfig({ env: {}, homeDir: home })).server, "https://home");
    await assert.rejects(
      loadKubeConfig({ env: {}, homeDir: join(dir, "empty-home") }),
      /no Kubernetes configuration found/,
    );
  });

  test("in-cluster: service account token, CA and namespace; token re-read for rotation", async () => {
    const sa = join(dir, "sa");
    await write("sa/token", "token-1\n");
    await write("sa/ca.crt", pem("CERTIFICATE"));
    await write("sa/namespace", "pod-ns");
    const env = { KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "443" };
    const conn = await loadKubeConfig({
      env,
      serviceAccountDir: sa,
      homeDir: join(dir, "empty-home"),
    });
    assert.equal(conn.server, "https://10.0.0.1:443");
    assert.equal(conn.namespace, "pod-ns");
    assert.equal(conn.tls.ca, pem("CERTIFICATE"));
    assert.deepEqual(await conn.auth.credentials(), { authorization: "Bearer token-1" });

    const fast = await inClusterConnection({
      env,
      serviceAccountDir: sa,
      tokenReloadIntervalMs: 0,
    });
    await write("sa/token", "token-2");
    assert.deepEqual(await fast.auth.credentials(), { authorization: "Bearer token-2" });
    // A 401 forces a re-read even within the interval.
    await write("sa/token", "token-3");
    assert.equal(await conn.auth.refresh({ authorization: "Bearer token-1" }), true);
    assert.deepEqual(await conn.auth.credentials(), { authorization: "Bearer token-3" });

    const ipv6 = await inClusterConnection({
      env: { KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "443" },
      serviceAccountDir: sa,
    });
    assert.equal(ipv6.server, "https://[fd00::1]:443");
    await assert.rejects(
      inClusterConnection({ env: {}, serviceAccountDir: sa }),
      /not running in a cluster/,
    );
    await assert.rejects(
      inClusterConnection({ env, serviceAccountDir: join(dir, "no-sa") }),
      /cannot read the service account CA/,
    );
  });

  test("tokenFile in a kubeconfig is re-read; the last good token survives a failed read", async () => {
    const tokenPath = await write("tf/token", "first");
    const path = await write(
      "tf/config",
      kubeconfig({
        clusters: [["c", { server: "https://x" }]],
        users: [["u", { tokenFile: "token" }]],
        contexts: [["x", { cluster: "c", user: "u" }]],
        current: "x",
      }),
    );
    const conn = await loadKubeConfig({ kubeconfig: path, env: {} });
    assert.deepEqual(await conn.auth.credentials(), { authorization: "Bearer first" });
    await write("tf/token", "second");
    assert.equal(await conn.auth.refresh({ authorization: "Bearer first" }), true);
    assert.deepEqual(await conn.auth.credentials(), { authorization: "Bearer second" });
    await rm(tokenPath);
    assert.equal(await conn.auth.refresh({ authorization: "Bearer second" }), false);
    assert.deepEqual(await conn.auth.credentials(), { authorization: "Bearer second" });
  });
});
