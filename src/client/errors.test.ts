import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  AlreadyExistsError,
  BadRequestError,
  ConflictError,
  describeRequest,
  errorFromStatus,
  ForbiddenError,
  GoneError,
  InvalidError,
  ignoreNotFound,
  isConflict,
  isGone,
  isNotFound,
  KubeError,
  NotFoundError,
  parseRetryAfter,
  ServerError,
  type Status,
  statusFromBody,
  TimeoutError,
  TooManyRequestsError,
  UnauthorizedError,
  UnknownKindError,
} from "./errors.ts";

const cmRequest = {
  verb: "create",
  resource: "configmaps",
  group: "",
  name: "foo",
  namespace: "bar",
};

function status(
  code: number,
  reason: string,
  message: string,
  details?: Status["details"],
): Status {
  return {
    kind: "Status",
    apiVersion: "v1",
    status: "Failure",
    code,
    reason,
    message,
    ...(details ? { details } : {}),
  };
}

describe("describeRequest", () => {
  test("names verb, resource, group, object, subresource and namespace", () => {
    assert.equal(describeRequest(cmRequest), 'create configmaps "foo" in namespace "bar"');
    assert.equal(
      describeRequest({
        verb: "update",
        resource: "widgets",
        group: "example.com",
        name: "w",
        subresource: "status",
      }),
      'update widgets.example.com "w" (status)',
    );
    assert.equal(describeRequest({ verb: "list", resource: "nodes", group: "" }), "list nodes");
    assert.equal(describeRequest({ verb: "discover", path: "/apis/x/v1" }), "discover /apis/x/v1");
  });
});

describe("errorFromStatus", () => {
  const cases: Array<[Status, new (...args: never[]) => KubeError]> = [
    [
      status(404, "NotFound", 'configmaps "foo" not found', { name: "foo", kind: "configmaps" }),
      NotFoundError,
    ],
    [status(409, "AlreadyExists", 'configmaps "foo" already exists'), AlreadyExistsError],
    [
      status(
        409,
        "Conflict",
        'Operation cannot be fulfilled on configmaps "foo": the object has been modified; please apply your changes to the latest version and try again',
      ),
      ConflictError,
    ],
    [
      status(422, "Invalid", 'ConfigMap "foo" is invalid: metadata.labels: Invalid value'),
      InvalidError,
    ],
    [
      status(403, "Forbidden", 'configmaps "foo" is forbidden: User "x" cannot create resource'),
      ForbiddenError,
    ],
    [status(401, "Unauthorized", "Unauthorized"), UnauthorizedError],
    [status(410, "Expired", "too old resource version: 1 (5)"), GoneError],
    [status(410, "Gone", "gone"), GoneError],
    [status(429, "TooManyRequests", "slow down"), TooManyRequestsError],
    [status(500, "InternalError", "boom"), ServerError],
    [status(503, "ServiceUnavailable", "unavailable"), ServerError],
    [status(504, "Timeout", "timed out"), TimeoutError],
    [status(500, "ServerTimeout", "server timeout"), TimeoutError],
    [status(400, "BadRequest", "bad"), BadRequestError],
  ];
  for (const [s, want] of cases) {
    test(`${s.code} ${s.reason} → ${want.name}`, () => {
      const err = errorFromStatus(s, cmRequest);
      assert.ok(err instanceof want, `${err.constructor.name} is not ${want.name}`);
      assert.ok(err instanceof KubeError);
      assert.equal(err.code, s.code);
      assert.equal(err.reason, s.reason);
      assert.equal(err.status, s);
      assert.equal(err.name, want.name);
    });
  }

  test("falls back to the code when the reason is unknown or missing", () => {
    assert.ok(
      errorFromStatus({ kind: "Status", apiVersion: "v1", code: 404 }, cmRequest) instanceof
        NotFoundError,
    );
    assert.ok(
      errorFromStatus(
        { kind: "Status", apiVersion: "v1", code: 409, reason: "Weird" },
        cmRequest,
      ) instanceof ConflictError,
    );
    assert.ok(
      errorFromStatus({ kind: "Status", apiVersion: "v1", code: 502 }, cmRequest) instanceof
        ServerError,
    );
    const other = errorFromStatus({ kind: "Status", apiVersion: "v1", code: 418 }, cmRequest);
    assert.equal(other.constructor, KubeError);
  });

  test("messages say what failed on which object, without repeating the server's subject", () => {
    const forbidden = errorFromStatus(
      status(
        403,
        "Forbidden",
        'configmaps "foo" is forbidden: User "x" cannot create resource "configmaps" in API group "" in the namespace "bar"',
      ),
      cmRequest,
    );
    assert.equal(
      forbidden.message,
      'create configmaps "foo" in namespace "bar": forbidden: User "x" cannot create resource "configmaps" in API group "" in the namespace "bar"',
    );
    const notFound = errorFromStatus(status(404, "NotFound", 'configmaps "foo" not found'), {
      ...cmRequest,
      verb: "get",
    });
    assert.equal(notFound.message, 'get configmaps "foo" in namespace "bar": not found');
    const conflict = errorFromStatus(
      status(
        409,
        "Conflict",
        'Operation cannot be fulfilled on configmaps "foo": the object has been modified; please apply your changes to the latest version and try again',
      ),
      { ...cmRequest, verb: "update" },
    );
    assert.equal(
      conflict.message,
      'update configmaps "foo" in namespace "bar": conflict: the object has been modified; please apply your changes to the latest version and try again',
    );
    assert.equal(conflict.serverMessage?.startsWith("Operation cannot be fulfilled"), true);
  });

  test("invalid errors carry the field causes", () => {
    const err = errorFromStatus(
      status(
        422,
        "Invalid",
        'ConfigMap "foo" is invalid: metadata.labels: Invalid value: "a b": must be valid',
        {
          name: "foo",
          kind: "ConfigMap",
          causes: [
            {
              reason: "FieldValueInvalid",
              message: 'Invalid value: "a b"',
              field: "metadata.labels",
            },
          ],
        },
      ),
      cmRequest,
    );
    assert.ok(err instanceof InvalidError);
    assert.deepEqual(
      err.causes.map((c) => c.field),
      ["metadata.labels"],
    );
    assert.match(
      err.message,
      /^create configmaps "foo" in namespace "bar": invalid: metadata\.labels: Invalid value/,
    );
  });

  test("429 takes retryAfterSeconds from the header, else from the Status details", () => {
    const fromHeader = errorFromStatus(
      status(429, "TooManyRequests", "x", { retryAfterSeconds: 9 }),
      cmRequest,
      {
        retryAfter: "3",
      },
    );
    assert.ok(fromHeader instanceof TooManyRequestsError);
    assert.equal(fromHeader.retryAfterSeconds, 3);
    const fromDetails = errorFromStatus(
      status(429, "TooManyRequests", "x", { retryAfterSeconds: 9 }),
      cmRequest,
    );
    assert.equal((fromDetails as TooManyRequestsError).retryAfterSeconds, 9);
  });

  test("the is* helpers and ignoreNotFound", () => {
    const nf = errorFromStatus(status(404, "NotFound", "x"), cmRequest);
    assert.equal(isNotFound(nf), true);
    assert.equal(isConflict(nf), false);
    assert.equal(isGone(errorFromStatus(status(410, "Expired", "x"), cmRequest)), true);
    assert.equal(ignoreNotFound(nf), undefined);
    const other = new Error("x");
    assert.throws(
      () => ignoreNotFound(other),
      (e) => e === other,
    );
  });

  test("UnknownKindError is a NotFoundError", () => {
    const err = new UnknownKindError({
      request: { verb: "discover", path: "/apis/x/v1" },
      code: 404,
      detail: "no such kind",
      apiVersion: "x/v1",
      kind: "Widget",
    });
    assert.equal(isNotFound(err), true);
    assert.equal(err.message, "discover /apis/x/v1: not found: no such kind");
  });
});

describe("statusFromBody", () => {
  test("uses a Status body as is", () => {
    const body = JSON.stringify(status(404, "NotFound", "nope"));
    assert.deepEqual(statusFromBody(404, body), status(404, "NotFound", "nope"));
  });

  test("synthesises a Status from text and HTML bodies", () => {
    const s = statusFromBody(503, "<html>service unavailable</html>");
    assert.equal(s.code, 503);
    assert.equal(s.reason, "ServiceUnavailable");
    assert.equal(s.message, "<html>service unavailable</html>");
    assert.equal(statusFromBody(502, "").message, undefined);
    assert.equal(statusFromBody(404, "{not json").reason, "NotFound");
  });

  test("fills a missing code from the response", () => {
    assert.equal(
      statusFromBody(409, JSON.stringify({ kind: "Status", apiVersion: "v1", reason: "Conflict" }))
        .code,
      409,
    );
  });
});

describe("parseRetryAfter", () => {
  test("seconds and HTTP dates", () => {
    assert.equal(parseRetryAfter("7"), 7);
    assert.equal(parseRetryAfter(["2"]), 2);
    assert.equal(parseRetryAfter(undefined), undefined);
    assert.equal(parseRetryAfter("soon"), undefined);
    const inTen = new Date(Date.now() + 10_000).toUTCString();
    const parsed = parseRetryAfter(inTen)!;
    assert.ok(parsed >= 9 && parsed <= 11, String(parsed));
  });
});
