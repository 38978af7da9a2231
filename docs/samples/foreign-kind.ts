import { defineOperator, type ObjectMeta, resourceType } from "kube-operon";
import { Greeting } from "./greeting.ts";

// A kind another project owns (cert-manager's Certificate): its type, written for the fields
// this operator reads and writes, and its ResourceType (apiVersion, kind, plural, namespaced).
export type Certificate = {
  apiVersion: "cert-manager.io/v1";
  kind: "Certificate";
  metadata: ObjectMeta;
  spec: {
    secretName: string;
    dnsNames: string[];
    issuerRef: { name: string; kind: "Issuer" | "ClusterIssuer" };
  };
  status?: { conditions?: { type: string; status: "True" | "False" | "Unknown" }[] };
};
export const Certificate = resourceType<Certificate>(
  "cert-manager.io/v1",
  "Certificate",
  "certificates",
  true,
);

// Used like a built-in kind: as a child type (or a related type), typed in sync.
export default defineOperator({
  name: "greeting-tls",
  parent: Greeting,
  children: { certificates: Certificate },
  sync({ parent, children }) {
    const name = parent.metadata.name!;
    const issued = children.certificates
      .get(name)
      ?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
    return {
      status: { message: issued ? "certificate issued" : "waiting for the certificate" },
      children: [
        {
          apiVersion: "cert-manager.io/v1",
          kind: "Certificate",
          metadata: { name },
          spec: {
            secretName: `${name}-tls`,
            dnsNames: [`${name}.example.com`],
            issuerRef: { name: "letsencrypt", kind: "ClusterIssuer" },
          },
        },
      ],
    };
  },
});
