import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { connect } from "node:tls";
import { CertificateDirectoryWatcher, readCertificateDirectory } from "./certificate-watcher.ts";
import { createDevelopmentCertificates, type ServingCertificate } from "./certificates.ts";
import { WebhookServer } from "./server.ts";

const [first, second, third] = await Promise.all([
  createDevelopmentCertificates({ ipAddresses: ["127.0.0.1"] }),
  createDevelopmentCertificates({ ipAddresses: ["127.0.0.1"] }),
  createDevelopmentCertificates({ ipAddresses: ["127.0.0.1"] }),
]);

const scratch = await mkdtemp(join(tmpdir(), "operon-webhook-certs-"));
after(() => rm(scratch, { recursive: true, force: true }));

/**
 * A directory laid out as the kubelet mounts a Secret: the visible files are symlinks through
 * `..data`, which points at a timestamped directory; an update swaps `..data` atomically.
 */
class MountedSecret {
  readonly dir: string;
  #generation = 0;
  #current: string | undefined;

  constructor(dir: string) {
    this.dir = dir;
  }

  static async create(name: string, pair: ServingCertificate): Promise<MountedSecret> {
    const secret = new MountedSecret(join(scratch, name));
    await mkdir(secret.dir);
    await secret.update(pair);
    for (const file of ["tls.crt", "tls.key", "ca.crt"]) {
      await symlink(join("..data", file), join(secret.dir, file));
    }
    return secret;
  }

  async update(pair: ServingCertificate): Promise<void> {
    const generation = `..2026_01_01_00_00_00.${String(++this.#generation).padStart(9, "0")}`;
    const target = join(this.dir, generation);
    await mkdir(target);
    await writeFile(join(target, "tls.crt"), pair.certificatePem);
    await writeFile(join(target, "tls.key"), pair.privateKeyPem);
    await writeFile(join(target, "ca.crt"), pair.caCertificatePem ?? "");
    await symlink(generation, join(this.dir, "..data_tmp"));
    await rename(join(this.dir, "..data_tmp"), join(this.dir, "..data"));
    if (this.#current) await rm(join(this.dir, this.#current), { recursive: true });
    this.#current = generation;
  }
}

function fingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

async function eventually<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  what: string,
): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe("CertificateDirectoryWatcher", () => {
  test("reads the pair through the ..data symlinks, with the optional ca.crt", async () => {
    const secret = await MountedSecret.create("read", first);
    const pair = await readCertificateDirectory(secret.dir);
    assert.equal(pair.certificatePem, first.certificatePem);
    assert.equal(pair.caCertificatePem, first.caCertificatePem);
    const bare = join(scratch, "bare");
    await mkdir(bare);
    await writeFile(join(bare, "tls.crt"), first.certificatePem);
    await writeFile(join(bare, "tls.key"), first.privateKeyPem);
    assert.equal((await readCertificateDirectory(bare)).caCertificatePem, undefined);
    await assert.rejects(readCertificateDirectory(join(scratch, "missing")), /ENOENT/);
  });

  test("reports the new pair after Kubernetes swaps ..data", async () => {
    const secret = await MountedSecret.create("swap", first);
    const seen: string[] = [];
    const watcher = new CertificateDirectoryWatcher(secret.dir, { debounceMs: 20 });
    try {
      const initial = await watcher.start((pair) => seen.push(fingerprint(pair.certificatePem)));
      assert.equal(initial.certificatePem, first.certificatePem);
      await secret.update(second);
      await eventually(() => (seen.length > 0 ? true : undefined), "the change to be reported");
      assert.deepEqual(seen, [fingerprint(second.certificatePem)]);
      assert.equal(watcher.current?.caCertificatePem, second.caCertificatePem);
      // Another swap with identical content reports nothing new.
      await secret.update(second);
      await watcher.reload();
      assert.equal(seen.length, 1);
    } finally {
      watcher.close();
    }
  });

  test("keeps the current pair while the files on disk do not match, then takes the new one", async () => {
    // Plain files written one after the other, as a careless tool (not the kubelet) would.
    const dir = join(scratch, "plain");
    await mkdir(dir);
    await writeFile(join(dir, "tls.crt"), first.certificatePem);
    await writeFile(join(dir, "tls.key"), first.privateKeyPem);
    const warnings: string[] = [];
    const logger = {
      debug() {},
      info() {},
      error() {},
      warn: (_: unknown, message: string) => void warnings.push(message),
    };
    const seen: string[] = [];
    const watcher = new CertificateDirectoryWatcher(dir, { debounceMs: 20, logger });
    try {
      await watcher.start((pair) => seen.push(fingerprint(pair.certificatePem)));
      await writeFile(join(dir, "tls.crt"), second.certificatePem);
      await watcher.reload();
      assert.deepEqual(seen, []);
      assert.equal(watcher.current?.certificatePem, first.certificatePem);
      assert.ok(warnings.some((message) => /no usable pair/.test(message)));
      await writeFile(join(dir, "tls.key"), second.privateKeyPem);
      await eventually(() => (seen.length > 0 ? true : undefined), "the consistent pair");
      assert.deepEqual(seen, [fingerprint(second.certificatePem)]);
    } finally {
      watcher.close();
    }
  });

  test("the poll picks up a change even without a file event", async () => {
    const dir = join(scratch, "poll");
    await mkdir(dir);
    await writeFile(join(dir, "tls.crt"), first.certificatePem);
    await writeFile(join(dir, "tls.key"), first.privateKeyPem);
    const seen: string[] = [];
    // A debounce longer than the test: only the 50 ms poll can notice the change in time.
    const watcher = new CertificateDirectoryWatcher(dir, {
      debounceMs: 60_000,
      pollIntervalMs: 50,
    });
    try {
      await watcher.start((pair) => seen.push(fingerprint(pair.certificatePem)));
      await writeFile(join(dir, "tls.key"), second.privateKeyPem);
      await writeFile(join(dir, "tls.crt"), second.certificatePem);
      await eventually(() => (seen.length > 0 ? true : undefined), "the poll");
      assert.deepEqual(seen, [fingerprint(second.certificatePem)]);
    } finally {
      watcher.close();
    }
  });

  test("start fails on a directory without a valid pair", async () => {
    const dir = join(scratch, "broken");
    await mkdir(dir);
    await writeFile(join(dir, "tls.crt"), first.certificatePem);
    await writeFile(join(dir, "tls.key"), second.privateKeyPem);
    const watcher = new CertificateDirectoryWatcher(dir);
    await assert.rejects(
      watcher.start(() => {}),
      /does not belong to the certificate/,
    );
  });
});

describe("WebhookServer with a mounted Secret", () => {
  /** The certificate the server presents to a new TLS connection. */
  function presented(port: number, ca: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: "127.0.0.1", port, ca }, () => {
        const certificate = socket.getPeerX509Certificate();
        socket.end();
        if (certificate) resolve(certificate.fingerprint256);
        else reject(new Error("no peer certificate"));
      });
      socket.once("error", reject);
    });
  }

  test("presents the new certificate to new connections after the Secret changes, without a restart", async () => {
    const secret = await MountedSecret.create("server", first);
    const server = new WebhookServer({
      webhooks: [],
      port: 0,
      host: "127.0.0.1",
      certificates: { mode: "directory", directory: secret.dir, debounceMs: 20 },
    });
    await server.start();
    const trusted = [first.caCertificatePem, second.caCertificatePem, third.caCertificatePem];
    try {
      assert.equal(await presented(server.port, trusted), fingerprint(first.certificatePem));
      assert.equal(server.caCertificatePem, first.caCertificatePem);

      await secret.update(second);
      await eventually(async () => {
        const now = await presented(server.port, trusted);
        return now === fingerprint(second.certificatePem) ? now : undefined;
      }, "the second certificate to be served");
      assert.equal(server.caCertificatePem, second.caCertificatePem);

      await secret.update(third);
      await eventually(async () => {
        const now = await presented(server.port, trusted);
        return now === fingerprint(third.certificatePem) ? now : undefined;
      }, "the third certificate to be served");
      // A client trusting only the first CA now refuses: the old certificate is really gone.
      await assert.rejects(
        presented(server.port, [first.caCertificatePem]),
        /self-signed|unable to verify|certificate/i,
      );
    } finally {
      await server.close();
    }
  });
});
