import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { describe, test } from "node:test";
import { KubeRequestAuthorizer } from "./metrics-auth.ts";

/** Answers reviews like an API server: tokens name users; `reader` may get /metrics. */
function fakeApiServer() {
  const calls: string[] = [];
  const client = {
    raw: async <R>(request: { path: string; body?: unknown }): Promise<R> => {
      const body = request.body as { spec: Record<string, unknown> };
      if (request.path.endsWith("/tokenreviews")) {
        calls.push(`token ${body.spec.token}`);
        const users: Record<string, string> = { "t-reader": "reader", "t-other": "other" };
        const username = users[String(body.spec.token)];
        return (
          username
            ? { status: { authenticated: true, user: { username, groups: ["g"] } } }
            : { status: { authenticated: false, error: "invalid bearer token" } }
        ) as R;
      }
      const attributes = body.spec.nonResourceAttributes as { path: string; verb: string };
      calls.push(`access ${body.spec.user} ${attributes.verb} ${attributes.path}`);
      return {
        status: {
          allowed:
            body.spec.user === "reader" &&
            attributes.path === "/metrics" &&
            attributes.verb === "get",
        },
      } as R;
    },
  };
  return { calls, client };
}

const scrape = (authorization?: string, method = "GET") =>
  ({ method, headers: authorization ? { authorization } : {} }) as IncomingMessage;
const metricsUrl = new URL("https://localhost/metrics");

describe("KubeRequestAuthorizer", () => {
  test("401 without a token or with one the API server rejects, 403 without the permission, allowed with it", async () => {
    const { client } = fakeApiServer();
    const authorizer = new KubeRequestAuthorizer({ client });
    assert.deepEqual(await authorizer.check(scrape(), metricsUrl), {
      allowed: false,
      status: 401,
      message: "Unauthorized",
    });
    assert.equal((await authorizer.check(scrape("Basic abc"), metricsUrl)).allowed, false);
    assert.deepEqual(await authorizer.check(scrape("Bearer t-forged"), metricsUrl), {
      allowed: false,
      status: 401,
      message: "Unauthorized",
    });
    assert.deepEqual(await authorizer.check(scrape("Bearer t-other"), metricsUrl), {
      allowed: false,
      status: 403,
      message: 'Forbidden: user "other" may not get /metrics',
    });
    assert.deepEqual(await authorizer.check(scrape("bearer t-reader"), metricsUrl), {
      allowed: true,
    });
    const post = await authorizer.check(scrape("Bearer t-reader", "POST"), metricsUrl);
    assert.equal(post.allowed, false, "the verb follows the method");
  });

  test("answers are cached: grants 5 minutes, refusals and rejected tokens 30 seconds, tokens 1 minute", async () => {
    const { calls, client } = fakeApiServer();
    let now = 0;
    const authorizer = new KubeRequestAuthorizer({ client, now: () => now });
    await authorizer.check(scrape("Bearer t-reader"), metricsUrl);
    await authorizer.check(scrape("Bearer t-other"), metricsUrl);
    await authorizer.check(scrape("Bearer t-forged"), metricsUrl);
    assert.deepEqual(calls, [
      "token t-reader",
      "access reader get /metrics",
      "token t-other",
      "access other get /metrics",
      "token t-forged",
    ]);
    calls.length = 0;
    now = 29_000;
    for (const token of ["t-reader", "t-other", "t-forged"])
      await authorizer.check(scrape(`Bearer ${token}`), metricsUrl);
    assert.deepEqual(calls, []);
    now = 31_000;
    for (const token of ["t-reader", "t-other", "t-forged"])
      await authorizer.check(scrape(`Bearer ${token}`), metricsUrl);
    assert.deepEqual(calls, ["access other get /metrics", "token t-forged"]);
    calls.length = 0;
    now = 61_000;
    await authorizer.check(scrape("Bearer t-reader"), metricsUrl);
    assert.deepEqual(calls, ["token t-reader"], "the grant is still cached, the token is not");
  });

  test("an API server that cannot be asked answers 500, and nothing is cached", async () => {
    let fail = true;
    const authorizer = new KubeRequestAuthorizer({
      client: {
        raw: async <R>() => {
          if (fail) throw new Error("connection refused");
          return { status: { authenticated: true, user: { username: "x" }, allowed: true } } as R;
        },
      },
    });
    assert.deepEqual(await authorizer.check(scrape("Bearer t"), metricsUrl), {
      allowed: false,
      status: 500,
      message: "Authentication failed",
    });
    fail = false;
    assert.deepEqual(await authorizer.check(scrape("Bearer t"), metricsUrl), { allowed: true });
  });
});
