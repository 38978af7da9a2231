/**
 * Why operators with children get `update` on `<parent plural>/finalizers`: with the
 * OwnerReferencesPermissionEnforcement admission plugin (off in a stock kube-apiserver, on in
 * some distributions), a child's ownerReference with `blockOwnerDeletion` is refused unless its
 * author may update the owner's finalizers. Proven on a control plane of its own with the plugin
 * on: without that rule the children are refused, with it the operator converges.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import echoServer, { EchoServer } from "../../examples/echo-server/echo-server.ts";
import { KubeClient } from "../client/client.ts";
import { installCustomResources } from "../manager/install.ts";
import { defineOperator } from "../operator/declaration.ts";
import { Pod, Service } from "../resources/core.ts";
import { type ControlPlane, startControlPlane } from "../testkit/control-plane.ts";
import { eventually, getOrUndefined, runOperator } from "../testkit/operator-harness.ts";
import { rbacManifests } from "./rbac.ts";
import { Kubectl } from "./testdata/kubectl.ts";
import { toYaml } from "./yaml.ts";

let plane: ControlPlane;
let admin: KubeClient;
let kubectl: Kubectl;

before(async () => {
  plane = await startControlPlane({
    nodes: 0,
    apiServerArgs: ["--enable-admission-plugins=OwnerReferencesPermissionEnforcement"],
  });
  admin = await KubeClient.fromKubeConfig({
    kubeconfig: plane.kubeconfigPath,
    fieldManager: "test",
  });
  kubectl = await Kubectl.create(plane.kubeconfigPath);
  await installCustomResources(admin, [EchoServer]);
});
after(async () => {
  await admin?.close();
  await kubectl?.dispose();
  await plane?.stop();
});

test("children are refused without update on the parent's finalizers, and accepted with it", async () => {
  const namespace = await plane.createNamespace("owners");
  const operator = defineOperator({ ...echoServer, namespace });
  const rbac = rbacManifests(operator, { namespace });
  const [role] = rbac.roles;
  assert.ok(role);
  assert.ok(role.rules?.some((rule) => rule.resources?.includes("echoservers/finalizers")));
  const withoutFinalizers = {
    ...role,
    rules: role.rules!.filter((rule) => !rule.resources?.includes("echoservers/finalizers")),
  };
  await kubectl.ok(
    ["apply", "-f", "-"],
    toYaml([rbac.serviceAccount, withoutFinalizers, ...rbac.roleBindings]),
  );
  const identity = await plane.kubeconfigFor({
    serviceAccount: { namespace, name: rbac.serviceAccount.metadata.name! },
    create: false,
  });
  const restricted = kubectl.as(identity.path);
  await eventually(() => restricted.canI("list", "echoservers.examples.operon.dev", namespace));

  const harness = await runOperator(operator, { plane, kubeconfigPath: identity.path });
  try {
    await admin.create(EchoServer, {
      metadata: { name: "hello", namespace },
      spec: { message: "hi", port: 8080 },
    });
    const refused = await eventually(
      () =>
        harness
          .errors(`${namespace}/hello`)
          .find((error) => /blockOwnerDeletion/.test(error.message)),
      { message: "the children are refused" },
    );
    assert.match(refused.message, /cannot set blockOwnerDeletion/);
    assert.equal(await getOrUndefined(admin, Pod, "hello", namespace), undefined);

    await kubectl.ok(["apply", "-f", "-"], toYaml(role));
    await eventually(() => getOrUndefined(admin, Pod, "hello", namespace), {
      message: "the Pod is created once the rule is there",
    });
    const service = await eventually(() => getOrUndefined(admin, Service, "hello", namespace));
    assert.equal(service.metadata.ownerReferences?.[0]?.blockOwnerDeletion, true);
  } finally {
    await harness.stop();
  }
});
