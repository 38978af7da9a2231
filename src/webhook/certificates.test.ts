import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { X509Certificate } from "node:crypto";
import { once } from "node:events";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { connect } from "node:tls";
import {
  caBundle,
  checkServingCertificate,
  createDevelopmentCertificates,
  serviceDnsNames,
} from "./certificates.ts";

const certs = await createDevelopmentCertificates({
  dnsNames: serviceDnsNames("webhook", "operators"),
  ipAddresses: ["127.0.0.1", "::1"],
});

test("the serving certificate is signed by the CA and the CA is a CA", async () => {
  const ca = new X509Certificate(certs.caCertificatePem);
  const serving = new X509Certificate(certs.certificatePem);
  assert.ok(ca.ca, "the CA certificate has basicConstraints CA:TRUE");
  assert.ok(!serving.ca);
  assert.ok(serving.checkIssued(ca));
  assert.ok(serving.verify(ca.publicKey), "the signature verifies with the CA's key");
  assert.ok(ca.verify(ca.publicKey), "the CA is self-signed");
  const otherCa = new X509Certificate(
    (await createDevelopmentCertificates({ ipAddresses: ["127.0.0.1"] })).caCertificatePem,
  );
  assert.ok(!serving.verify(otherCa.publicKey));
  // Distinct names: a client trusting both CAs during a rotation looks up the right issuer.
  assert.notEqual(otherCa.subject, ca.subject);
});

test("the serving certificate carries the DNS and IP SANs, for server authentication", () => {
  const serving = new X509Certificate(certs.certificatePem);
  assert.deepEqual(serving.subjectAltName?.split(", "), [
    "DNS:webhook",
    "DNS:webhook.operators",
    "DNS:webhook.operators.svc",
    "DNS:webhook.operators.svc.cluster.local",
    "IP Address:127.0.0.1",
    "IP Address:0:0:0:0:0:0:0:1",
  ]);
  assert.equal(serving.checkHost("webhook.operators.svc"), "webhook.operators.svc");
  assert.equal(serving.checkIP("127.0.0.1"), "127.0.0.1");
  assert.equal(serving.checkHost("elsewhere.example.com"), undefined);
  assert.deepEqual(serving.keyUsage, ["1.3.6.1.5.5.7.3.1"]); // serverAuth
  assert.ok(Date.parse(serving.validTo) > Date.now() + 300 * 86_400_000);
});

test("a TLS client that trusts only the CA accepts the certificate for the names in it", async () => {
  const server = createServer({ cert: certs.certificatePem, key: certs.privateKeyPem }, (_, res) =>
    res.end("ok"),
  );
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  try {
    const handshake = (servername?: string) =>
      new Promise<void>((resolve, reject) => {
        const socket = connect({
          host: "127.0.0.1",
          port,
          ca: certs.caCertificatePem,
          ...(servername ? { servername } : {}),
        });
        socket.once("secureConnect", () => {
          socket.end();
          resolve();
        });
        socket.once("error", reject);
      });
    await handshake(); // by IP SAN
    await handshake("webhook.operators.svc"); // by DNS SAN
    await assert.rejects(handshake("not-in-the-cert.example.com"), /Hostname\/IP does not match/);
  } finally {
    server.close();
  }
});

test("checkServingCertificate accepts a matching pair and names what is wrong otherwise", async () => {
  assert.ok(checkServingCertificate(certs) instanceof X509Certificate);
  const other = await createDevelopmentCertificates({ dnsNames: ["x"] });
  assert.throws(
    () =>
      checkServingCertificate({
        certificatePem: certs.certificatePem,
        privateKeyPem: other.privateKeyPem,
      }),
    /does not belong to the certificate/,
  );
  assert.throws(
    () =>
      checkServingCertificate({ certificatePem: "garbage", privateKeyPem: certs.privateKeyPem }),
    /certificate is not valid PEM/,
  );
  assert.throws(
    () =>
      checkServingCertificate({ certificatePem: certs.certificatePem, privateKeyPem: "garbage" }),
    /private key is not valid PEM/,
  );
});

test("creation refuses bad input", async () => {
  await assert.rejects(createDevelopmentCertificates({}), /at least one DNS name or IP address/);
  await assert.rejects(
    createDevelopmentCertificates({ ipAddresses: ["localhost"] }),
    /not an IP address/,
  );
});

test("caBundle is the PEM, base64-encoded", () => {
  const bundle = caBundle(certs.caCertificatePem);
  assert.match(bundle, /^[A-Za-z0-9+/]+=*$/);
  assert.equal(Buffer.from(bundle, "base64").toString("utf8"), certs.caCertificatePem);
});
