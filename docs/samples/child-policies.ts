import { ConfigMap, child, defineOperator, desired, Job, PersistentVolumeClaim } from "kube-operon";
import { Greeting } from "./greeting.ts";

export default defineOperator({
  name: "policies-demo",
  parent: Greeting,
  children: {
    // A Job's template cannot change: it is deleted and created again. How its Pods go with it:
    // "Background" (the default, as `kubectl delete`), "Foreground" (the Job waits for its Pods,
    // so the new one starts after them) or "Orphan" (the Pods stay).
    jobs: child(Job, { strategy: "recreate", propagationPolicy: "Foreground" }),
    // Claims outlive the Greeting: deleting it leaves them, and a new Greeting of the same name
    // takes them over.
    claims: child(PersistentVolumeClaim, { whenParentDeleted: "Retain" }),
    configMaps: ConfigMap,
  },
  sync({ parent }) {
    const name = parent.metadata.name!;
    // Children built outside the returned array: desired(Type, ...) fills in apiVersion and kind.
    const settings = ["en", "fr"].map((language) =>
      desired(ConfigMap, { metadata: { name: `${name}-${language}` }, data: { language } }),
    );
    return {
      children: [
        ...settings,
        {
          apiVersion: "batch/v1",
          kind: "Job",
          metadata: { name: `${name}-render` },
          spec: {
            template: {
              spec: {
                restartPolicy: "Never",
                containers: [
                  { name: "render", image: "busybox:1.36", args: ["echo", parent.spec.name] },
                ],
              },
            },
          },
        },
        {
          apiVersion: "v1",
          kind: "PersistentVolumeClaim",
          metadata: { name: `${name}-data` },
          spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
        },
      ],
    };
  },
});
