/**
 * The hook client against local HTTP(S) servers: URLs, timeouts, status codes, 429 with
 * Retry-After, ETag caching, strict and loose decoding, Authorization and Basic headers, a
 * private CA and client certificates, endpointConfigs.
 */
import assert from "node:assert/strict";
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import type { KubeClient } from "../client/client.ts";
import { NotFoundError } from "../client/errors.ts";
import type { KubeObject } from "../resources/object.ts";
import { createDevelopmentCertificates } from "../webhook/certificates.ts";
import {
  HookClient,
  HookError,
  HookRetryLaterError,
  matchEndpointConfig,
  webhookTimeoutMs,
  webhookUrl,
} from "./hook.ts";
import type { Hook } from "./types.ts";

type Handler = (request: IncomingMessage, body: string, response: ServerResponse) => void;

async function serve(handler: Handler, tls?: Parameters<typeof createHttpsServer>[0]) {
  const listener = (request: IncomingMessage, response: ServerResponse) => {
    let body = "";
    request.on("data", (chunk) => {
      body += chunk;
    });
    request.on("end", () => handler(request, body, response));
  };
  const server = tls ? createHttpsServer(tls, listener) : createHttpServer(listener);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? "https" : "http"}://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A client that only reads the Secrets and ConfigMaps given. */
function fakeClient(objects: Record<string, Record<string, string>>): KubeClient {
  return {
    async get(type: { kind: string }, name: string, options: { namespace?: string }) {
      const data = objects[`${type.kind}/${options.namespace}/${name}`];
      if (!data) {
        throw new NotFoundError({
          request: { verb: "get", path: "/" },
          code: 404,
          detail: `${name} not found`,
        } as never);
      }
      return {
        apiVersion: "v1",
        kind: type.kind,
        metadata: { name },
        data:
          type.kind === "Secret"
            ? Object.fromEntries(
                Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")]),
              )
            : data,
      };
    },
  } as unknown as KubeClient;
}

const parent: KubeObject = {
  apiVersion: "v1",
  kind: "Thing",
  metadata: { name: "p", namespace: "ns" },
};
const syncFields = { status: "object", children: "objects" } as const;

function client(
  hook: Hook,
  objects: Record<string, Record<string, string>> = {},
  endpointConfigs = [],
) {
  return HookClient.create({
    hook,
    client: fakeClient(objects),
    serviceAccess: "dns",
    name: "sync",
    endpointConfigs,
  });
}

describe("webhook settings", () => {
  test("url, or service + path; timeouts default to 10 s", () => {
    assert.equal(webhookUrl({ url: "http://x/sync" }), "http://x/sync");
    assert.equal(
      webhookUrl({ service: { name: "s", namespace: "n" }, path: "/sync" }),
      "http://s.n:80/sync",
    );
    assert.equal(
      webhookUrl({
        service: { name: "s", namespace: "n", port: 8443, protocol: "https" },
        path: "/h",
      }),
      "https://s.n:8443/h",
    );
    assert.throws(
      () => webhookUrl({ path: "/sync" }),
      /either a full 'url', or both 'service' and 'path'/,
    );
    assert.equal(webhookTimeoutMs({}), 10_000);
    assert.equal(webhookTimeoutMs({ timeout: "2s" }), 2_000);
    assert.equal(webhookTimeoutMs({ timeout: "-1s" }), 10_000);
  });

  test("endpointConfigs match by host, with or without the default port", () => {
    const configs = [{ host: "hooks.example:8443" }, { host: "plain.example" }];
    assert.equal(
      matchEndpointConfig("https://hooks.example:8443/x", configs)?.host,
      "hooks.example:8443",
    );
    assert.equal(matchEndpointConfig("http://PLAIN.example/x", configs)?.host, "plain.example");
    assert.equal(matchEndpointConfig("http://plain.example:80/x", configs)?.host, "plain.example");
    assert.equal(matchEndpointConfig("http://other/x", configs), undefined);
  });
});

describe("calling a hook", () => {
  test("POSTs JSON and decodes the answer; non-200 and timeouts are HookErrors", async () => {
    let seen: { method?: string; type?: string; body?: string } = {};
    const server = await serve((request, body, response) => {
      seen = { method: request.method!, type: request.headers["content-type"]!, body };
      if (request.url === "/fail") {
        response.writeHead(500).end("nope");
      } else if (request.url === "/slow") {
        setTimeout(() => response.end("{}"), 2_000);
      } else {
        response.end(JSON.stringify({ status: { ok: true } }));
      }
    });
    try {
      const hook = await client({ webhook: { url: `${server.url}/sync` } });
      assert.deepEqual(await hook.call('{"a":1}', parent, syncFields), { status: { ok: true } });
      assert.deepEqual(seen, { method: "POST", type: "application/json", body: '{"a":1}' });

      const failing = await client({ webhook: { url: `${server.url}/fail` } });
      await assert.rejects(failing.call("{}", parent, syncFields), (error: HookError) => {
        assert.equal(error.reason, "HookFailed");
        assert.match(error.message, /unsupported status code: 500 body: nope/);
        return true;
      });
      const slow = await client({ webhook: { url: `${server.url}/slow`, timeout: "200ms" } });
      await assert.rejects(
        slow.call("{}", parent, syncFields),
        (error: HookError) => error.reason === "HookTimeout",
      );
      await Promise.all([hook.close(), failing.close(), slow.close()]);
    } finally {
      await server.close();
    }
  });

  test("429 asks to retry after Retry-After seconds", async () => {
    const server = await serve((_request, _body, response) => {
      response.writeHead(429, { "retry-after": "7" }).end();
    });
    try {
      const hook = await client({ webhook: { url: server.url } });
      await assert.rejects(hook.call("{}", parent, syncFields), (error: HookRetryLaterError) => {
        assert.ok(error instanceof HookRetryLaterError);
        assert.equal(error.retryAfterMs, 7_000);
        return true;
      });
      await hook.close();
    } finally {
      await server.close();
    }
  });

  test("v1 decodes loosely, v2 strictly (unknown and duplicate fields); responseUnMarshallMode wins", async () => {
    const server = await serve((request, _body, response) => {
      response.end(
        request.url === "/dup" ? '{"status":{"a":1,"a":2}}' : '{"status":{},"extra":true}',
      );
    });
    try {
      const loose = await client({ webhook: { url: server.url } });
      assert.deepEqual(await loose.call("{}", parent, syncFields), { status: {}, extra: true });
      const strict = await client({ version: "v2", webhook: { url: server.url } });
      await assert.rejects(
        strict.call("{}", parent, syncFields),
        /strict validation failed.*unknown field "extra"/,
      );
      const duplicate = await client({ version: "v2", webhook: { url: `${server.url}/dup` } });
      await assert.rejects(duplicate.call("{}", parent, syncFields), /duplicate field "status.a"/);
      const relaxed = await client({
        version: "v2",
        webhook: { url: server.url, responseUnMarshallMode: "loose" },
      });
      assert.equal(relaxed.mode, "loose");
      await relaxed.call("{}", parent, syncFields);
      const tightened = await client({
        webhook: { url: server.url, responseUnMarshallMode: "strict" },
      });
      await assert.rejects(tightened.call("{}", parent, syncFields), HookError);
      await Promise.all([loose, strict, duplicate, relaxed, tightened].map((h) => h.close()));
    } finally {
      await server.close();
    }
  });

  test("ETag: If-None-Match is sent, and 304 or 412 answers reuse the cached response", async () => {
    const seen: Array<string | undefined> = [];
    const server = await serve((request, _body, response) => {
      const tag = request.headers["if-none-match"];
      seen.push(tag);
      if (tag === '"v1"') response.writeHead(seen.length === 2 ? 304 : 412).end();
      else response.writeHead(200, { etag: '"v1"' }).end('{"status":{"cached":true}}');
    });
    try {
      const hook = await client({ webhook: { url: server.url, etag: { enabled: true } } });
      for (let i = 0; i < 3; i++) {
        assert.deepEqual(await hook.call("{}", parent, syncFields), { status: { cached: true } });
      }
      assert.deepEqual(seen, [undefined, '"v1"', '"v1"']);
      await hook.close();
    } finally {
      await server.close();
    }
  });

  test("Authorization from a Secret, or Basic auth; the two together are refused", async () => {
    const headers: Array<string | undefined> = [];
    const server = await serve((request, _body, response) => {
      headers.push(request.headers.authorization);
      response.end("{}");
    });
    const secrets = {
      "Secret/ns/token": { token: " abc \n" },
      "Secret/ns/basic": { username: "me", password: "pw" },
    };
    try {
      const bearer = await client(
        {
          webhook: {
            url: server.url,
            authorization: { secretRef: { name: "token", namespace: "ns", key: "token" } },
          },
        },
        secrets,
      );
      await bearer.call("{}", parent, syncFields);
      const basic = await client(
        {
          webhook: {
            url: server.url,
            basicAuth: { secretRef: { name: "basic", namespace: "ns" } },
          },
        },
        secrets,
      );
      await basic.call("{}", parent, syncFields);
      assert.deepEqual(headers, ["Bearer abc", `Basic ${Buffer.from("me:pw").toString("base64")}`]);
      await assert.rejects(
        client(
          {
            webhook: {
              url: server.url,
              authorization: { secretRef: { name: "token", namespace: "ns", key: "token" } },
              basicAuth: { secretRef: { name: "basic", namespace: "ns" } },
            },
          },
          secrets,
        ),
        /mutually exclusive/,
      );
      await assert.rejects(
        client(
          {
            webhook: {
              url: server.url,
              authorization: {
                type: "Basic",
                secretRef: { name: "token", namespace: "ns", key: "token" },
              },
            },
          },
          secrets,
        ),
        /use the basicAuth field instead/,
      );
      await Promise.all([bearer.close(), basic.close()]);
    } finally {
      await server.close();
    }
  });

  test("a private CA from a ConfigMap and a client certificate from a Secret (mTLS), through endpointConfigs", async () => {
    const [servingCerts, clientCerts] = await Promise.all([
      createDevelopmentCertificates({ ipAddresses: ["127.0.0.1"] }),
      createDevelopmentCertificates({ dnsNames: ["hook-client"] }),
    ]);
    const server = await serve(
      (request, _body, response) => {
        const socket = request.socket as import("node:tls").TLSSocket;
        response.end(
          JSON.stringify({ status: { client: socket.getPeerCertificate().subject?.CN } }),
        );
      },
      {
        cert: servingCerts.certificatePem,
        key: servingCerts.privateKeyPem,
        // The development certificate is made for serving: asked for, shown, not verified.
        requestCert: true,
        rejectUnauthorized: false,
      },
    );
    const objects = {
      "ConfigMap/ns/ca": { "ca.crt": servingCerts.caCertificatePem },
      "Secret/ns/client": {
        "tls.crt": clientCerts.certificatePem,
        "tls.key": clientCerts.privateKeyPem,
      },
    };
    try {
      const host = new URL(server.url).host;
      const hook = await client({ webhook: { url: server.url } }, objects, [
        {
          host,
          caBundle: { configMapRef: { name: "ca", namespace: "ns" } },
          clientTLS: { secretRef: { name: "client", namespace: "ns" } },
        },
      ] as never);
      assert.deepEqual(await hook.call("{}", parent, syncFields), {
        status: { client: "hook-client" },
      });
      // Without the CA, the server's certificate is not trusted.
      const untrusted = await client({ webhook: { url: server.url } });
      await assert.rejects(
        untrusted.call("{}", parent, syncFields),
        (error: HookError) => error.reason === "HookUnreachable",
      );
      await Promise.all([hook.close(), untrusted.close()]);
    } finally {
      await server.close();
    }
  });
});
