/**
 * Kinds of the `networking.k8s.io/v1` group: Ingress and NetworkPolicy.
 */
import type { PortStatus, Protocol } from "./core.ts";
import type { IntOrString, LabelSelector, TypedLocalObjectReference } from "./meta.ts";
import { type ObjectMeta, resourceType } from "./object.ts";

/** Where an Ingress sends matching traffic: a Service port, or another resource. */
export interface IngressBackend {
  service?: {
    name: string;
    /** Exactly one of `name` and `number`. */
    port?: { name?: string; number?: number };
  };
  resource?: TypedLocalObjectReference;
}

/** One path of an HTTP Ingress rule. */
export interface HTTPIngressPath {
  path?: string;
  pathType: "Exact" | "Prefix" | "ImplementationSpecific";
  backend: IngressBackend;
}

/** Routes requests for a host (or every host) by path. */
export interface IngressRule {
  host?: string;
  http?: { paths: HTTPIngressPath[] };
}

/** TLS for some hosts, with the certificate in a Secret. */
export interface IngressTLS {
  hosts?: string[];
  secretName?: string;
}

/** The desired state of an Ingress. */
export interface IngressSpec {
  ingressClassName?: string;
  defaultBackend?: IngressBackend;
  tls?: IngressTLS[];
  rules?: IngressRule[];
}

/**
 * An Ingress (`networking.k8s.io/v1/Ingress`).
 *
 * @example
 * const ingress: Ingress = {
 *   apiVersion: "networking.k8s.io/v1",
 *   kind: "Ingress",
 *   metadata: { name: "web" },
 *   spec: {
 *     rules: [{
 *       host: "example.com",
 *       http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "web", port: { number: 80 } } } }] },
 *     }],
 *   },
 * };
 */
export type Ingress = {
  apiVersion: "networking.k8s.io/v1";
  kind: "Ingress";
  metadata: ObjectMeta;
  spec?: IngressSpec;
  status?: {
    loadBalancer?: { ingress?: { ip?: string; hostname?: string; ports?: PortStatus[] }[] };
  };
};
/** The `Ingress` kind: `networking.k8s.io/v1`, `ingresses`, namespaced. */
export const Ingress = resourceType<Ingress>("networking.k8s.io/v1", "Ingress", "ingresses", true);

/** A port (or port range with `endPort`) a NetworkPolicy rule applies to. */
export interface NetworkPolicyPort {
  protocol?: Protocol;
  port?: IntOrString;
  endPort?: number;
}

/** The peers a NetworkPolicy rule allows: pods, namespaces or an IP block. */
export interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

/** The desired state of a NetworkPolicy. */
export interface NetworkPolicySpec {
  /** The pods the policy applies to; empty selects all pods of the namespace. */
  podSelector?: LabelSelector;
  policyTypes?: ("Ingress" | "Egress")[];
  ingress?: { ports?: NetworkPolicyPort[]; from?: NetworkPolicyPeer[] }[];
  egress?: { ports?: NetworkPolicyPort[]; to?: NetworkPolicyPeer[] }[];
}

/** A NetworkPolicy (`networking.k8s.io/v1/NetworkPolicy`). */
export type NetworkPolicy = {
  apiVersion: "networking.k8s.io/v1";
  kind: "NetworkPolicy";
  metadata: ObjectMeta;
  spec?: NetworkPolicySpec;
};
/** The `NetworkPolicy` kind: `networking.k8s.io/v1`, `networkpolicies`, namespaced. */
export const NetworkPolicy = resourceType<NetworkPolicy>(
  "networking.k8s.io/v1",
  "NetworkPolicy",
  "networkpolicies",
  true,
);
