import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { describe, test } from "node:test";
import { NotFoundError } from "../client/index.ts";
import { Deployment } from "../resources/apps.ts";
import { ConfigMap } from "../resources/core.ts";
import { resourceType } from "../resources/object.ts";
import {
  installWebhookConfigurations,
  mutatingWebhookConfiguration,
  uninstallWebhookConfigurations,
  validatingWebhookConfiguration,
  type WebhookConfigurationClient,
  webhookConfigurations,
} from "./configuration.ts";
import { defaultWebhookPath, mutatingWebhook, validatingWebhook } from "./webhook.ts";

const ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

const requireOwner = validatingWebhook(ConfigMap, {
  name: "configmaps.validate.example.com",
  validate: () => {},
});
const scaleCheck = validatingWebhook(Deployment, {
  name: "deployments.validate.example.com",
  operations: ["CREATE", "UPDATE", "DELETE"],
  resources: ["deployments", "deployments/scale"],
  scope: "Namespaced",
  failurePolicy: "Ignore",
  sideEffects: "NoneOnDryRun",
  timeoutSeconds: 3,
  matchPolicy: "Exact",
  namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "prod" } },
  objectSelector: { matchExpressions: [{ key: "skip", operator: "DoesNotExist" }] },
  matchConditions: [
    { name: "not-system", expression: "!request.userInfo.username.startsWith('system:')" },
  ],
  validate: () => {},
});
const addLabels = mutatingWebhook(ConfigMap, {
  name: "configmaps.mutate.example.com",
  reinvocationPolicy: "IfNeeded",
  mutate: () => {},
});

describe("webhook declarations", () => {
  test("default paths follow /<admission>-<group with dashes>-<version>-<kind>", () => {
    assert.equal(defaultWebhookPath("validate", ConfigMap), "/validate--v1-configmap");
    assert.equal(defaultWebhookPath("mutate", Deployment), "/mutate-apps-v1-deployment");
    const Widget = resourceType("widgets.example.com/v1alpha1", "Widget", "widgets", true);
    assert.equal(
      defaultWebhookPath("validate", Widget),
      "/validate-widgets-example-com-v1alpha1-widget",
    );
  });

  test("defaults: CREATE and UPDATE, Fail, None, 10 s, the kind's plural", () => {
    assert.equal(requireOwner.admission, "validating");
    assert.deepEqual(requireOwner.rules, [
      {
        operations: ["CREATE", "UPDATE"],
        apiGroups: [""],
        apiVersions: ["v1"],
        resources: ["configmaps"],
      },
    ]);
    assert.equal(requireOwner.failurePolicy, "Fail");
    assert.equal(requireOwner.sideEffects, "None");
    assert.equal(requireOwner.timeoutSeconds, 10);
    assert.equal(addLabels.reinvocationPolicy, "IfNeeded");
    assert.equal(
      mutatingWebhook(ConfigMap, { name: "a.b.c", mutate: () => {} }).reinvocationPolicy,
      "Never",
    );
  });

  test("refuse what the API server would refuse, at declaration time", () => {
    const validate = () => {};
    assert.throws(
      () => validatingWebhook(ConfigMap, { name: "short.name", validate }),
      /at least three segments/,
    );
    assert.throws(
      () => validatingWebhook(ConfigMap, { name: "Upper.Case.com", validate }),
      /lowercase domain/,
    );
    assert.throws(
      () => validatingWebhook(ConfigMap, { name: "a.b.c", timeoutSeconds: 31, validate }),
      /1 to 30/,
    );
    assert.throws(
      () => validatingWebhook(ConfigMap, { name: "a.b.c", timeoutSeconds: 0, validate }),
      /1 to 30/,
    );
    assert.throws(
      () => validatingWebhook(ConfigMap, { name: "a.b.c", path: "no-slash", validate }),
      /must start with/,
    );
    assert.throws(
      () => validatingWebhook(ConfigMap, { name: "a.b.c", operations: [], validate }),
      /must not be empty/,
    );
    const NoPlural = { apiVersion: "example.com/v1", kind: "Thing" };
    assert.throws(() => validatingWebhook(NoPlural, { name: "a.b.c", validate }), /no plural/);
    assert.equal(
      validatingWebhook(NoPlural, { name: "a.b.c", resources: ["things"], validate }).rules[0]
        ?.resources?.[0],
      "things",
    );
    assert.throws(
      () =>
        validatingWebhook(ConfigMap, { name: "a.b.c" } as unknown as Parameters<
          typeof validatingWebhook
        >[1]),
      /validate must be a function/,
    );
  });
});

describe("configurations", () => {
  test("a ValidatingWebhookConfiguration with a Service clientConfig and the CA bundle", () => {
    const config = validatingWebhookConfiguration({
      name: "my-operator",
      webhooks: [requireOwner, scaleCheck, addLabels],
      endpoint: { service: { namespace: "operators", name: "my-operator-webhook" } },
      caCertificatePem: ca,
      labels: { "app.kubernetes.io/name": "my-operator" },
    });
    assert.deepEqual(config, {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingWebhookConfiguration",
      metadata: { name: "my-operator", labels: { "app.kubernetes.io/name": "my-operator" } },
      webhooks: [
        {
          name: "configmaps.validate.example.com",
          clientConfig: {
            service: {
              namespace: "operators",
              name: "my-operator-webhook",
              path: "/validate--v1-configmap",
              port: 443,
            },
            caBundle: Buffer.from(ca).toString("base64"),
          },
          rules: [
            {
              operations: ["CREATE", "UPDATE"],
              apiGroups: [""],
              apiVersions: ["v1"],
              resources: ["configmaps"],
            },
          ],
          failurePolicy: "Fail",
          sideEffects: "None",
          timeoutSeconds: 10,
          admissionReviewVersions: ["v1"],
        },
        {
          name: "deployments.validate.example.com",
          clientConfig: {
            service: {
              namespace: "operators",
              name: "my-operator-webhook",
              path: "/validate-apps-v1-deployment",
              port: 443,
            },
            caBundle: Buffer.from(ca).toString("base64"),
          },
          rules: [
            {
              operations: ["CREATE", "UPDATE", "DELETE"],
              apiGroups: ["apps"],
              apiVersions: ["v1"],
              resources: ["deployments", "deployments/scale"],
              scope: "Namespaced",
            },
          ],
          failurePolicy: "Ignore",
          sideEffects: "NoneOnDryRun",
          timeoutSeconds: 3,
          admissionReviewVersions: ["v1"],
          matchPolicy: "Exact",
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "prod" } },
          objectSelector: { matchExpressions: [{ key: "skip", operator: "DoesNotExist" }] },
          matchConditions: [
            { name: "not-system", expression: "!request.userInfo.username.startsWith('system:')" },
          ],
        },
      ],
    });
  });

  test("a MutatingWebhookConfiguration with a URL clientConfig and the reinvocation policy", () => {
    const config = mutatingWebhookConfiguration({
      name: "my-operator",
      webhooks: [requireOwner, addLabels],
      endpoint: { url: "https://127.0.0.1:9443/" },
    });
    assert.deepEqual(config.webhooks, [
      {
        name: "configmaps.mutate.example.com",
        clientConfig: { url: "https://127.0.0.1:9443/mutate--v1-configmap" },
        rules: [
          {
            operations: ["CREATE", "UPDATE"],
            apiGroups: [""],
            apiVersions: ["v1"],
            resources: ["configmaps"],
          },
        ],
        failurePolicy: "Fail",
        sideEffects: "None",
        timeoutSeconds: 10,
        admissionReviewVersions: ["v1"],
        reinvocationPolicy: "IfNeeded",
      },
    ]);
  });

  test("webhookConfigurations leaves out a kind with no webhooks", () => {
    const both = webhookConfigurations({
      name: "x",
      webhooks: [requireOwner, addLabels],
      endpoint: { url: "https://h" },
    });
    assert.deepEqual(
      both.map((config) => config.kind),
      ["ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"],
    );
    const one = webhookConfigurations({
      name: "x",
      webhooks: [addLabels],
      endpoint: { url: "https://h" },
    });
    assert.deepEqual(
      one.map((config) => config.kind),
      ["MutatingWebhookConfiguration"],
    );
  });

  test("the generated objects do not share state with the declarations", () => {
    const config = validatingWebhookConfiguration({
      name: "x",
      webhooks: [scaleCheck],
      endpoint: { url: "https://h" },
    });
    config.webhooks?.[0]?.rules?.[0]?.resources?.push("pods");
    const labels = config.webhooks?.[0]?.namespaceSelector?.matchLabels;
    if (labels) labels.x = "y";
    assert.deepEqual(scaleCheck.rules[0]?.resources, ["deployments", "deployments/scale"]);
    assert.deepEqual(scaleCheck.namespaceSelector, {
      matchLabels: { "kubernetes.io/metadata.name": "prod" },
    });
  });
});

describe("installing", () => {
  function fakeClient(fieldManager?: string) {
    const calls: { verb: string; kind: string; name: string; options: unknown; body?: unknown }[] =
      [];
    const client = {
      fieldManager,
      apply: async (
        type: { kind: string },
        object: { metadata: { name: string } },
        options: unknown,
      ) => {
        calls.push({
          verb: "apply",
          kind: type.kind,
          name: object.metadata.name,
          options,
          body: object,
        });
        return object;
      },
      delete: async (type: { kind: string }, name: string, options: unknown) => {
        calls.push({ verb: "delete", kind: type.kind, name, options });
        if (name === "gone") {
          throw new NotFoundError({ code: 404, request: { verb: "delete", resource: "x", name } });
        }
        return {};
      },
    } as unknown as WebhookConfigurationClient;
    return { client, calls };
  }

  test("applies each configuration server-side with force and a field manager", async () => {
    const { client, calls } = fakeClient();
    const configs = webhookConfigurations({
      name: "op",
      webhooks: [requireOwner, addLabels],
      endpoint: { url: "https://h" },
    });
    await installWebhookConfigurations(client, configs);
    assert.deepEqual(
      calls.map(({ verb, kind, name, options }) => ({ verb, kind, name, options })),
      [
        {
          verb: "apply",
          kind: "ValidatingWebhookConfiguration",
          name: "op",
          options: { fieldManager: "operon-webhook", force: true },
        },
        {
          verb: "apply",
          kind: "MutatingWebhookConfiguration",
          name: "op",
          options: { fieldManager: "operon-webhook", force: true },
        },
      ],
    );
    assert.deepEqual(calls[0]?.body, configs[0]);
    const withManager = fakeClient("my-operator");
    await installWebhookConfigurations(withManager.client, configs, { force: false });
    assert.deepEqual(withManager.calls[0]?.options, { fieldManager: "my-operator", force: false });
  });

  test("uninstall deletes each configuration and skips those already gone", async () => {
    const { client, calls } = fakeClient();
    const configs = webhookConfigurations({
      name: "gone",
      webhooks: [requireOwner, addLabels],
      endpoint: { url: "https://h" },
    });
    await uninstallWebhookConfigurations(client, configs);
    assert.deepEqual(
      calls.map(({ verb, kind }) => `${verb} ${kind}`),
      ["delete ValidatingWebhookConfiguration", "delete MutatingWebhookConfiguration"],
    );
  });
});
