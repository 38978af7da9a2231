/**
 * Serving certificates for the webhook server: certificate authorities and the serving
 * certificates they issue (a throw-away pair for development, or a kept CA for certificates Operon
 * manages in a Secret), checks that a certificate and key belong together, and the `caBundle`
 * encoding.
 *
 * Keys come from node:crypto (native and fast); node-forge only builds and signs the X.509
 * structures, which node:crypto cannot create.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createPrivateKey, generateKeyPair, randomBytes, X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { promisify } from "node:util";
import forge from "node-forge";

/** A serving certificate and its key, PEM, and the CA that signed it when known. */
export interface ServingCertificate {
  /** The certificate (followed by any intermediates), PEM. */
  certificatePem: string;
  privateKeyPem: string;
  /** The CA the API server must trust, PEM; this becomes the configuration's `caBundle`. */
  caCertificatePem?: string;
}

/** Options of {@link createDevelopmentCertificates}. */
export interface DevelopmentCertificateOptions {
  /** DNS names the certificate is valid for, e.g. `serviceDnsNames("webhook", "operators")`. */
  dnsNames?: string[];
  /** IP addresses the certificate is valid for, e.g. `127.0.0.1` for a local server. */
  ipAddresses?: string[];
  /** Days until both certificates expire; default 365. */
  validDays?: number;
}

const generateKeyPairAsync = promisify(generateKeyPair);

async function newRsaKey(): Promise<{ privateKeyPem: string; publicKey: forge.pki.PublicKey }> {
  // Generated off the main thread: a server starting in development mode stays responsive.
  const { privateKey, publicKey } = await generateKeyPairAsync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  return { privateKeyPem: privateKey, publicKey: forge.pki.publicKeyFromPem(publicKey) };
}

function randomSerial(): string {
  const bytes = randomBytes(16);
  // DER integers are signed: a clear top bit keeps the serial positive.
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString("hex");
}

function setValidity(certificate: forge.pki.Certificate, ms: number, now = Date.now()): void {
  // Backdated a little so a peer whose clock runs behind does not see "not yet valid".
  certificate.validity.notBefore = new Date(now - 5 * 60_000);
  certificate.validity.notAfter = new Date(now + ms);
}

/**
 * The DNS names a Service is reached by inside the cluster, for the serving certificate of a
 * webhook behind that Service.
 *
 * @example
 * serviceDnsNames("webhook", "operators");
 * // ["webhook", "webhook.operators", "webhook.operators.svc", "webhook.operators.svc.cluster.local"]
 */
export function serviceDnsNames(
  name: string,
  namespace: string,
  clusterDomain = "cluster.local",
): string[] {
  return [
    name,
    `${name}.${namespace}`,
    `${name}.${namespace}.svc`,
    `${name}.${namespace}.svc.${clusterDomain}`,
  ];
}

/** A certificate authority: its certificate and the key it signs with, PEM. */
export interface CertificateAuthority {
  certificatePem: string;
  privateKeyPem: string;
}

/** How long a certificate is valid: `validDays`, or `validMs` (for tests) which wins. */
export interface Validity {
  /** Days until the certificate expires; default 365. */
  validDays?: number;
  /** Milliseconds until it expires; overrides `validDays`. */
  validMs?: number;
  /** When validity starts (ms since the epoch); default now. For tests with a clock. */
  now?: number;
}

function validityMs(validity: Validity): number {
  return validity.validMs ?? (validity.validDays ?? 365) * 86_400_000;
}

/**
 * Creates a self-signed CA, with a unique name: verifiers look issuers up by name, and two CAs
 * trusted side by side (during a rotation) must not be mistaken for one another.
 *
 * @example
 * const ca = await createCertificateAuthority({ validDays: 3650 });
 * const serving = await issueServingCertificate(ca, { dnsNames: ["webhook.ops.svc"] });
 */
export async function createCertificateAuthority(
  validity: Validity = {},
): Promise<CertificateAuthority> {
  const key = await newRsaKey();
  const privateKey = forge.pki.privateKeyFromPem(key.privateKeyPem) as forge.pki.rsa.PrivateKey;
  const ca = forge.pki.createCertificate();
  ca.publicKey = key.publicKey;
  ca.serialNumber = randomSerial();
  setValidity(ca, validityMs(validity), validity.now);
  const subject = [
    { name: "commonName", value: `operon-webhook-ca-${randomBytes(6).toString("hex")}` },
  ];
  ca.setSubject(subject);
  ca.setIssuer(subject);
  ca.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  ca.sign(privateKey, forge.md.sha256.create());
  return { certificatePem: forge.pki.certificateToPem(ca), privateKeyPem: key.privateKeyPem };
}

/** Options of {@link issueServingCertificate}. */
export interface ServingCertificateOptions extends Validity {
  /** DNS names the certificate is valid for, e.g. `serviceDnsNames("webhook", "operators")`. */
  dnsNames?: string[];
  /** IP addresses the certificate is valid for, e.g. `127.0.0.1` for a local server. */
  ipAddresses?: string[];
}

/**
 * Issues a serving certificate for the given names, signed by `ca`. The result's
 * `caCertificatePem` is the CA's certificate.
 *
 * @example
 * const serving = await issueServingCertificate(ca, { dnsNames: serviceDnsNames("webhook", "ops") });
 */
export async function issueServingCertificate(
  ca: CertificateAuthority,
  options: ServingCertificateOptions,
): Promise<Required<ServingCertificate>> {
  const dnsNames = options.dnsNames ?? [];
  const ipAddresses = options.ipAddresses ?? [];
  for (const ip of ipAddresses) {
    if (isIP(ip) === 0) throw new TypeError(`not an IP address: ${JSON.stringify(ip)}`);
  }
  if (dnsNames.length === 0 && ipAddresses.length === 0) {
    throw new TypeError("a serving certificate needs at least one DNS name or IP address");
  }
  const caCertificate = forge.pki.certificateFromPem(ca.certificatePem);
  const caPrivateKey = forge.pki.privateKeyFromPem(ca.privateKeyPem) as forge.pki.rsa.PrivateKey;
  const key = await newRsaKey();
  const serving = forge.pki.createCertificate();
  serving.publicKey = key.publicKey;
  serving.serialNumber = randomSerial();
  setValidity(serving, validityMs(options), options.now);
  serving.setSubject([{ name: "commonName", value: dnsNames[0] ?? ipAddresses[0] ?? "webhook" }]);
  serving.setIssuer(caCertificate.subject.attributes);
  serving.setExtensions([
    { name: "basicConstraints", cA: false },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true },
    {
      name: "authorityKeyIdentifier",
      keyIdentifier: caCertificate.generateSubjectKeyIdentifier().getBytes(),
    },
    // Clients (the API server included) match names against these, never the common name.
    {
      name: "subjectAltName",
      altNames: [
        ...dnsNames.map((value) => ({ type: 2, value })),
        ...ipAddresses.map((ip) => ({ type: 7, ip })),
      ],
    },
  ]);
  serving.sign(caPrivateKey, forge.md.sha256.create());
  return {
    certificatePem: forge.pki.certificateToPem(serving),
    privateKeyPem: key.privateKeyPem,
    caCertificatePem: ca.certificatePem,
  };
}

/**
 * Creates a self-signed CA and a serving certificate signed by it for the given names. For
 * development and tests: the CA's key is discarded, so nothing else can ever be signed with it.
 *
 * @example
 * const certs = await createDevelopmentCertificates({ ipAddresses: ["127.0.0.1"] });
 * // serve with certs.certificatePem / certs.privateKeyPem,
 * // put caBundle(certs.caCertificatePem) into the webhook configuration
 */
export async function createDevelopmentCertificates(
  options: DevelopmentCertificateOptions = {},
): Promise<Required<ServingCertificate>> {
  const dnsNames = options.dnsNames ?? [];
  const ipAddresses = options.ipAddresses ?? [];
  for (const ip of ipAddresses) {
    if (isIP(ip) === 0) throw new TypeError(`not an IP address: ${JSON.stringify(ip)}`);
  }
  if (dnsNames.length === 0 && ipAddresses.length === 0) {
    throw new TypeError("a serving certificate needs at least one DNS name or IP address");
  }
  const validity = { validDays: options.validDays ?? 365 };
  const ca = await createCertificateAuthority(validity);
  return issueServingCertificate(ca, { dnsNames, ipAddresses, ...validity });
}

/**
 * Checks that `certificatePem` parses and matches `privateKeyPem`; throws a message saying which
 * part is wrong. Used before serving a pair, so that a half-written Secret (new certificate, old
 * key) is never put in front of clients.
 */
export function checkServingCertificate(pair: ServingCertificate): X509Certificate {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pair.certificatePem);
  } catch (error) {
    throw new Error(`the certificate is not valid PEM: ${(error as Error).message}`);
  }
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(pair.privateKeyPem);
  } catch (error) {
    throw new Error(`the private key is not valid PEM: ${(error as Error).message}`);
  }
  if (!certificate.checkPrivateKey(key)) {
    throw new Error("the private key does not belong to the certificate");
  }
  return certificate;
}

/**
 * The `caBundle` field of a webhook clientConfig: the PEM bundle, base64-encoded (the field is
 * bytes in the API, which JSON carries as base64).
 *
 * @example
 * caBundle(certs.caCertificatePem); // "LS0tLS1CRUdJTi..."
 */
export function caBundle(caCertificatePem: string): string {
  return Buffer.from(caCertificatePem, "utf8").toString("base64");
}
