/**
 * Serving certificates from a directory (a mounted Secret: `tls.crt`, `tls.key`, optional
 * `ca.crt`), reloaded when the files change.
 *
 * Kubernetes updates a mounted Secret atomically: the files are symlinks into `..data`, itself a
 * symlink to a timestamped directory, and an update writes a new timestamped directory and renames
 * a fresh `..data` over the old one. Watching the files themselves would follow the old inodes and
 * miss the swap, so the directory is watched, and every event (any name) triggers a re-read of the
 * files through their paths. A slow poll backs the watch up, for filesystems where events do not
 * arrive (network and some overlay filesystems). A pair that does not match (a certificate
 * written before its key) is not used: the previous one stays until a consistent pair appears.
 *
 * @module
 */
import { type FSWatcher, watch } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type Logger, silentLogger } from "../logger.ts";
import { checkServingCertificate, type ServingCertificate } from "./certificates.ts";

/** Options of `CertificateDirectoryWatcher`: the files to read and how often. */
export interface CertificateDirectoryOptions {
  /** File name of the certificate; default `tls.crt`. */
  certificateFile?: string;
  /** File name of the private key; default `tls.key`. */
  keyFile?: string;
  /** File name of the optional CA certificate; default `ca.crt`. */
  caFile?: string;
  /** How often the files are re-read even without a change event; default 30 s. */
  pollIntervalMs?: number;
  /** Quiet period after a change event before reading, so a burst of events reads once; default 100 ms. */
  debounceMs?: number;
  logger?: Logger;
}

/**
 * Reads the serving certificate in `directory` once and checks that the key matches.
 *
 * @example
 * const pair = await readCertificateDirectory("/tmp/k8s-webhook-server/serving-certs");
 */
export async function readCertificateDirectory(
  directory: string,
  options: Pick<CertificateDirectoryOptions, "certificateFile" | "keyFile" | "caFile"> = {},
): Promise<ServingCertificate> {
  const certificateFile = join(directory, options.certificateFile ?? "tls.crt");
  const keyFile = join(directory, options.keyFile ?? "tls.key");
  const caFile = join(directory, options.caFile ?? "ca.crt");
  const [certificatePem, privateKeyPem, caCertificatePem] = await Promise.all([
    readFile(certificateFile, "utf8"),
    readFile(keyFile, "utf8"),
    readFile(caFile, "utf8").catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return undefined;
      throw error;
    }),
  ]);
  const pair: ServingCertificate = { certificatePem, privateKeyPem };
  if (caCertificatePem?.trim()) pair.caCertificatePem = caCertificatePem;
  try {
    checkServingCertificate(pair);
  } catch (error) {
    throw new Error(`${certificateFile} and ${keyFile}: ${(error as Error).message}`);
  }
  return pair;
}

function samePair(a: ServingCertificate, b: ServingCertificate): boolean {
  return (
    a.certificatePem === b.certificatePem &&
    a.privateKeyPem === b.privateKeyPem &&
    a.caCertificatePem === b.caCertificatePem
  );
}

/**
 * Keeps the serving certificate of a directory current and reports each new one.
 *
 * @example
 * const watcher = new CertificateDirectoryWatcher("/certs", {
 *   logger,
 * });
 * const first = await watcher.start((pair) => server.setSecureContext({ cert: pair.certificatePem, key: pair.privateKeyPem }));
 * // ...
 * watcher.close();
 */
export class CertificateDirectoryWatcher {
  readonly directory: string;
  readonly #options: CertificateDirectoryOptions;
  readonly #logger: Logger;
  #current: ServingCertificate | undefined;
  #listener: ((pair: ServingCertificate) => void) | undefined;
  #watcher: FSWatcher | undefined;
  #poll: NodeJS.Timeout | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #reading: Promise<void> | undefined;
  #again = false;
  #closed = false;

  constructor(directory: string, options: CertificateDirectoryOptions = {}) {
    this.directory = directory;
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
  }

  /** The pair in use; undefined before `start`. */
  get current(): ServingCertificate | undefined {
    return this.#current;
  }

  /**
   * Reads the directory (throwing if it holds no valid pair), starts watching, and calls
   * `onChange` for every later pair that differs from the one before.
   */
  async start(onChange: (pair: ServingCertificate) => void): Promise<ServingCertificate> {
    if (this.#closed) throw new Error("the certificate watcher is closed");
    this.#listener = onChange;
    // Watch before the first read: a change landing between the two is then not missed.
    this.#watch();
    try {
      this.#current = await readCertificateDirectory(this.directory, this.#options);
    } catch (error) {
      this.close();
      throw error;
    }
    this.#poll = setInterval(() => this.#reload(), this.#options.pollIntervalMs ?? 30_000);
    this.#poll.unref();
    return this.#current;
  }

  /** Re-reads now; resolves once done. The watch and the poll call this on their own. */
  async reload(): Promise<void> {
    this.#reload();
    while (this.#reading) await this.#reading;
  }

  /** Stops watching. */
  close(): void {
    this.#closed = true;
    this.#watcher?.close();
    this.#watcher = undefined;
    clearInterval(this.#poll);
    clearTimeout(this.#debounce);
  }

  #watch(): void {
    if (this.#closed || this.#watcher) return;
    try {
      const watcher = watch(this.directory, { persistent: false }, () => this.#scheduleReload());
      watcher.on("error", (error) => {
        // The directory may be gone for a moment; the poll re-reads and watches again.
        this.#logger.warn(
          { directory: this.directory, err: error },
          "watching the certificate directory failed",
        );
        watcher.close();
        if (this.#watcher === watcher) this.#watcher = undefined;
      });
      this.#watcher = watcher;
    } catch (error) {
      this.#logger.warn(
        { directory: this.directory, err: error },
        "cannot watch the certificate directory; polling only",
      );
    }
  }

  #scheduleReload(): void {
    if (this.#closed) return;
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => this.#reload(), this.#options.debounceMs ?? 100);
    this.#debounce.unref();
  }

  #reload(): void {
    if (this.#closed || !this.#current) return;
    // One read at a time; a change arriving meanwhile reads once more afterwards.
    if (this.#reading) {
      this.#again = true;
      return;
    }
    this.#reading = this.#readOnce().finally(() => {
      this.#reading = undefined;
      if (this.#again) {
        this.#again = false;
        this.#reload();
      }
    });
  }

  async #readOnce(): Promise<void> {
    this.#watch();
    let pair: ServingCertificate;
    try {
      pair = await readCertificateDirectory(this.directory, this.#options);
    } catch (error) {
      this.#logger.warn(
        { directory: this.directory, err: error },
        "the certificate directory holds no usable pair; keeping the current certificate",
      );
      return;
    }
    if (this.#closed || (this.#current && samePair(pair, this.#current))) return;
    this.#current = pair;
    this.#logger.info({ directory: this.directory }, "serving certificate reloaded");
    try {
      this.#listener?.(pair);
    } catch (error) {
      this.#logger.error(
        { directory: this.directory, err: error },
        "applying the new certificate failed",
      );
    }
  }
}
