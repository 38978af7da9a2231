/**
 * MyApp: a Deployment and a Service from three fields. The status reports the Deployment's ready
 * replicas and a `Ready` condition that is true once all replicas are ready.
 *
 * Two admission webhooks add what the CRD schema cannot express: a validating one with a
 * cross-field rule (an unpinned image runs one replica at most) and an immutable field (`port`),
 * and a mutating one that labels each MyApp with its image's version.
 */
import {
  Deployment,
  defineOperator,
  defineResource,
  K8s,
  mutatingWebhook,
  Service,
  Type,
  validatingWebhook,
} from "kube-operon";

export const MyApp = defineResource({
  group: "apps.example.com",
  version: "v1",
  kind: "MyApp",
  plural: "myapps",
  shortNames: ["app"],
  scope: "Namespaced",
  description:
    "A web application: a Deployment of `image` with `replicas` Pods behind a Service on `port`.",
  spec: Type.Object({
    replicas: Type.Integer({
      minimum: 0,
      maximum: 100,
      default: 1,
      description: "How many Pods run the application.",
    }),
    image: Type.String({ minLength: 1, description: "The container image, e.g. nginx:1.27." }),
    port: Type.Integer({
      minimum: 1,
      maximum: 65535,
      default: 8080,
      description: "The port the application listens on and the Service exposes.",
    }),
  }),
  status: K8s.Status({
    readyReplicas: Type.Optional(Type.Integer({ description: "Pods ready to serve." })),
  }),
  printerColumns: [
    { name: "Image", type: "string", jsonPath: ".spec.image" },
    { name: "Desired", type: "integer", jsonPath: ".spec.replicas" },
    { name: "Ready", type: "integer", jsonPath: ".status.readyReplicas" },
  ],
  scale: { specReplicasPath: ".spec.replicas", statusReplicasPath: ".status.readyReplicas" },
});

/** The tag of an image reference, or undefined when it has none (`nginx`, `nginx@sha256:...`). */
export function imageTag(image: string): string | undefined {
  const name = image.split("@")[0]!;
  const colon = name.lastIndexOf(":");
  return colon > name.lastIndexOf("/") ? name.slice(colon + 1) : undefined;
}

/** Whether an image names one build: a digest, or a tag other than `latest`. */
function pinned(image: string): boolean {
  const tag = imageTag(image);
  return image.includes("@") || (tag !== undefined && tag !== "latest");
}

/** Rules across fields and over time, which the CRD schema cannot express. */
export const validateMyApp = validatingWebhook(MyApp, {
  validate({ operation, object, oldObject, warn }) {
    if (!object) return;
    const { image, replicas, port } = object.spec;
    if (replicas > 1 && !pinned(image)) {
      return {
        allowed: false,
        reason: `MyApp ${object.metadata.name} is invalid`,
        causes: [
          {
            field: "spec.image",
            message: `${image} is not pinned to a version; pin a tag or digest to run ${replicas} replicas`,
          },
        ],
      };
    }
    if (operation === "UPDATE" && oldObject.spec.port !== port) {
      return {
        allowed: false,
        reason: `MyApp ${object.metadata.name} is invalid`,
        causes: [{ field: "spec.port", message: `is immutable (was ${oldObject.spec.port})` }],
      };
    }
    if (replicas === 0) warn("spec.replicas is 0: the application serves nothing");
  },
});

/** Labels each MyApp with the version its image runs, unless it says otherwise. */
export const defaultMyApp = mutatingWebhook(MyApp, {
  mutate({ object }) {
    if (!object) return;
    const tag = imageTag(object.spec.image);
    const labels = object.metadata.labels ?? {};
    if (tag && !labels["app.kubernetes.io/version"]) {
      object.metadata.labels = { ...labels, "app.kubernetes.io/version": tag };
    }
    return object;
  },
});

export default defineOperator({
  name: "myapp",
  parent: MyApp,
  children: { deployments: Deployment, services: Service },
  sync({ parent, children }) {
    const name = parent.metadata.name!;
    const { replicas, image, port } = parent.spec;
    const labels = { "app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "myapp" };
    const readyReplicas = children.deployments.get(name)?.status?.readyReplicas ?? 0;
    const ready = readyReplicas >= replicas;
    return {
      status: {
        readyReplicas,
        conditions: [
          {
            type: "Ready",
            status: ready ? "True" : "False",
            reason: ready ? "AllReplicasReady" : "ReplicasNotReady",
            message: `${readyReplicas}/${replicas} replicas ready`,
            lastTransitionTime: new Date().toISOString(),
          },
        ],
      },
      children: [
        {
          apiVersion: "apps/v1",
          kind: "Deployment",
          metadata: { name, labels },
          spec: {
            replicas,
            selector: { matchLabels: labels },
            template: {
              metadata: { labels },
              spec: {
                containers: [
                  { name: "app", image, ports: [{ name: "http", containerPort: port }] },
                ],
              },
            },
          },
        },
        {
          apiVersion: "v1",
          kind: "Service",
          metadata: { name, labels },
          spec: { selector: labels, ports: [{ name: "http", port, targetPort: "http" }] },
        },
      ],
    };
  },
});
