/**
 * What a cluster needs to call an operator's webhooks and to scrape its metrics securely: the
 * webhook Service, the webhook configurations, the conversion settings of multi-version CRDs, the
 * certificates (an Operon-managed Secret, or cert-manager's Issuer and Certificate) and exactly
 * the RBAC that takes, plus the roles of secure metrics.
 *
 * @module
 */
import type { CustomResourceConversion } from "../resources/apiextensions.ts";
import type { Secret, Service, Volume, VolumeMount } from "../resources/core.ts";
import type { KubeObject } from "../resources/object.ts";
import type {
  ClusterRole,
  ClusterRoleBinding,
  PolicyRule,
  Role,
  RoleBinding,
} from "../resources/rbac.ts";
import { type WebhookConfigurations, webhookConfigurations } from "../webhook/configuration.ts";
import { type ConversionDefinition, conversionPath } from "../webhook/conversion.ts";
import type { Webhook } from "../webhook/webhook.ts";

/** The port `operon run` serves webhooks on (`--webhook-bind-address`), controller-runtime's. */
export const defaultWebhookPort = 9443;
/** The port secure metrics are served on (`--metrics-secure`), as in Kubebuilder projects. */
export const defaultSecureMetricsPort = 8443;
/** Where a mounted serving certificate is read from, as in controller-runtime. */
export const webhookCertificateDirectory = "/tmp/k8s-webhook-server/serving-certs";

/**
 * Who provides the webhooks' serving certificate:
 * - `operon` (default): Operon itself, in a Secret it fills at the first start; the leader injects
 *   the CA into the configurations and CRDs and renews before expiry. Nothing to install.
 * - `cert-manager`: a self-signed Issuer and a Certificate; cert-manager writes the Secret and its
 *   CA injector sets the `caBundle`s (cert-manager must be installed in the cluster).
 */
export type CertificateProviderName = "operon" | "cert-manager";

/** Options of {@link webhookManifests}. */
export interface WebhookManifestOptions {
  /** Names the Service, configurations, Secret and roles (the Deployment's name). */
  name: string;
  namespace: string;
  /** The ServiceAccount the operator runs as. */
  serviceAccountName: string;
  webhooks: readonly Webhook[];
  conversions: readonly ConversionDefinition[];
  /** Default `operon`. */
  certificates?: CertificateProviderName;
  /** Labels of every object. */
  labels: Record<string, string>;
  /** The pods' selector. */
  selector: Record<string, string>;
}

/** What {@link webhookManifests} returns. */
export interface WebhookManifests {
  /** `<name>-webhook`, port 443 to the pods' `webhook-server` port. */
  service: Service;
  configurations: WebhookConfigurations;
  /** The conversion of each CRD named by a conversion, with its annotations. */
  crdConversions: Map<
    string,
    { conversion: CustomResourceConversion; annotations: Record<string, string> }
  >;
  /** The Operon-managed Secret (created empty; the operator fills it). */
  secret?: Secret;
  /** cert-manager's Issuer and Certificate. */
  certManager: KubeObject[];
  /** Roles and bindings the certificates need. */
  rbac: (ClusterRole | ClusterRoleBinding | Role | RoleBinding)[];
  /** Arguments of `operon run`. */
  args: string[];
  volumes: Volume[];
  volumeMounts: VolumeMount[];
  /** Everything to apply besides the RBAC and the CRDs. */
  objects: KubeObject[];
}

const rbacApiVersion = "rbac.authorization.k8s.io/v1" as const;

function binding<K extends "ClusterRoleBinding" | "RoleBinding">(
  kind: K,
  name: string,
  namespace: string | undefined,
  labels: Record<string, string>,
  serviceAccount: { name: string; namespace: string },
): K extends "RoleBinding" ? RoleBinding : ClusterRoleBinding {
  return {
    apiVersion: rbacApiVersion,
    kind,
    metadata: { name, ...(namespace ? { namespace } : {}), labels: { ...labels } },
    roleRef: {
      apiGroup: "rbac.authorization.k8s.io",
      kind: kind === "ClusterRoleBinding" ? "ClusterRole" : "Role",
      name,
    },
    subjects: [{ kind: "ServiceAccount" as const, ...serviceAccount }],
  } as K extends "RoleBinding" ? RoleBinding : ClusterRoleBinding;
}

/**
 * The objects and settings that serve an operator's webhooks and conversions in a cluster.
 *
 * @example
 * const manifests = webhookManifests({
 *   name: "myapp", namespace: "myapp-system", serviceAccountName: "myapp",
 *   webhooks: [validateMyApp, defaultMyApp], conversions: [],
 *   labels: { "app.kubernetes.io/name": "myapp" }, selector: { "app.kubernetes.io/name": "myapp" },
 * });
 * manifests.objects; // Service, Secret, ValidatingWebhookConfiguration, MutatingWebhookConfiguration
 */
export function webhookManifests(options: WebhookManifestOptions): WebhookManifests {
  const { name, namespace, labels } = options;
  const provider = options.certificates ?? "operon";
  const serviceName = `${name}-webhook`;
  const secretName = `${name}-webhook-certs`;
  const certificateName = `${name}-serving-cert`;
  const injectFrom = { "cert-manager.io/inject-ca-from": `${namespace}/${certificateName}` };
  const serviceAccount = { name: options.serviceAccountName, namespace };

  const service: Service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: serviceName, namespace, labels: { ...labels } },
    spec: {
      selector: { ...options.selector },
      ports: [{ name: "https", port: 443, targetPort: "webhook-server", protocol: "TCP" }],
    },
  };
  const configurations = webhookConfigurations({
    name,
    webhooks: options.webhooks,
    endpoint: { service: { namespace, name: serviceName, port: 443 } },
    labels: { ...labels },
    ...(provider === "cert-manager" ? { annotations: { ...injectFrom } } : {}),
  });
  const crdConversions: WebhookManifests["crdConversions"] = new Map();
  for (const conversion of options.conversions) {
    crdConversions.set(conversion.crdName, {
      conversion: {
        strategy: "Webhook",
        webhook: {
          clientConfig: {
            service: { namespace, name: serviceName, path: conversionPath, port: 443 },
          },
          conversionReviewVersions: ["v1"],
        },
      },
      annotations: provider === "cert-manager" ? { ...injectFrom } : {},
    });
  }

  const args = [`--webhook-bind-address=:${defaultWebhookPort}`];
  const rbac: WebhookManifests["rbac"] = [];
  const volumes: Volume[] = [];
  const volumeMounts: VolumeMount[] = [];
  const certManager: KubeObject[] = [];
  let secret: Secret | undefined;

  if (provider === "cert-manager") {
    args.push(`--webhook-cert-path=${webhookCertificateDirectory}`);
    volumes.push({ name: "webhook-certs", secret: { secretName } } as Volume);
    volumeMounts.push({
      name: "webhook-certs",
      mountPath: webhookCertificateDirectory,
      readOnly: true,
    });
    const issuerName = `${name}-selfsigned-issuer`;
    certManager.push(
      {
        apiVersion: "cert-manager.io/v1",
        kind: "Issuer",
        metadata: { name: issuerName, namespace, labels: { ...labels } },
        spec: { selfSigned: {} },
      } as KubeObject,
      {
        apiVersion: "cert-manager.io/v1",
        kind: "Certificate",
        metadata: { name: certificateName, namespace, labels: { ...labels } },
        spec: {
          dnsNames: [
            `${serviceName}.${namespace}.svc`,
            `${serviceName}.${namespace}.svc.cluster.local`,
          ],
          issuerRef: { kind: "Issuer", name: issuerName },
          secretName,
        },
      } as KubeObject,
    );
  } else {
    args.push(
      `--webhook-cert-secret=${secretName}`,
      `--webhook-service=${serviceName}`,
      `--webhook-configuration-name=${name}`,
    );
    // Created empty, so the operator needs no `create` on Secrets: it fills this one only.
    secret = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: secretName, namespace, labels: { ...labels } },
      type: "Opaque",
    };
    rbac.push(
      {
        apiVersion: rbacApiVersion,
        kind: "Role",
        metadata: { name: `${name}-webhook-certs`, namespace, labels: { ...labels } },
        rules: [
          {
            apiGroups: [""],
            resources: ["secrets"],
            resourceNames: [secretName],
            verbs: ["get", "update"],
          },
        ],
      },
      binding("RoleBinding", `${name}-webhook-certs`, namespace, labels, serviceAccount),
    );
    const injection: PolicyRule[] = [];
    const validating = configurations.some((c) => c.kind === "ValidatingWebhookConfiguration");
    const mutating = configurations.some((c) => c.kind === "MutatingWebhookConfiguration");
    const kinds = [
      ...(mutating ? ["mutatingwebhookconfigurations"] : []),
      ...(validating ? ["validatingwebhookconfigurations"] : []),
    ];
    if (kinds.length > 0) {
      injection.push({
        apiGroups: ["admissionregistration.k8s.io"],
        resources: kinds,
        resourceNames: [name],
        verbs: ["get", "patch"],
      });
    }
    if (crdConversions.size > 0) {
      injection.push({
        apiGroups: ["apiextensions.k8s.io"],
        resources: ["customresourcedefinitions"],
        resourceNames: [...crdConversions.keys()].sort(),
        verbs: ["get", "patch"],
      });
    }
    if (injection.length > 0) {
      rbac.push(
        {
          apiVersion: rbacApiVersion,
          kind: "ClusterRole",
          metadata: { name: `${name}-webhook-ca-injector`, labels: { ...labels } },
          rules: injection,
        },
        binding(
          "ClusterRoleBinding",
          `${name}-webhook-ca-injector`,
          undefined,
          labels,
          serviceAccount,
        ),
      );
    }
  }

  return {
    service,
    configurations,
    crdConversions,
    ...(secret ? { secret } : {}),
    certManager,
    rbac,
    args,
    volumes,
    volumeMounts,
    objects: [
      service,
      ...(secret ? [secret] : []),
      ...certManager,
      ...configurations,
    ] as KubeObject[],
  };
}

/** The roles of secure metrics; see {@link metricsRbac}. */
export interface MetricsRbac {
  /** `<name>-metrics-auth`: lets the operator send TokenReviews and SubjectAccessReviews. */
  authRole: ClusterRole;
  authRoleBinding: ClusterRoleBinding;
  /** `<name>-metrics-reader`: bind a scraper's ServiceAccount to it to let it scrape. */
  readerRole: ClusterRole;
  objects: (ClusterRole | ClusterRoleBinding)[];
}

/**
 * What secure metrics need, as Kubebuilder scaffolds it: the operator may review tokens and
 * access (`<name>-metrics-auth`), and scrapers bound to `<name>-metrics-reader` may `get`
 * `/metrics`.
 *
 * @example
 * const { objects } = metricsRbac({ name: "myapp", namespace: "myapp-system", serviceAccountName: "myapp", labels: {} });
 */
export function metricsRbac(options: {
  name: string;
  namespace: string;
  serviceAccountName: string;
  labels: Record<string, string>;
}): MetricsRbac {
  const { name, labels } = options;
  const authRole: ClusterRole = {
    apiVersion: rbacApiVersion,
    kind: "ClusterRole",
    metadata: { name: `${name}-metrics-auth`, labels: { ...labels } },
    rules: [
      { apiGroups: ["authentication.k8s.io"], resources: ["tokenreviews"], verbs: ["create"] },
      {
        apiGroups: ["authorization.k8s.io"],
        resources: ["subjectaccessreviews"],
        verbs: ["create"],
      },
    ],
  };
  const authRoleBinding = binding("ClusterRoleBinding", `${name}-metrics-auth`, undefined, labels, {
    name: options.serviceAccountName,
    namespace: options.namespace,
  });
  const readerRole: ClusterRole = {
    apiVersion: rbacApiVersion,
    kind: "ClusterRole",
    metadata: { name: `${name}-metrics-reader`, labels: { ...labels } },
    rules: [{ nonResourceURLs: ["/metrics"], verbs: ["get"] }],
  };
  return {
    authRole,
    authRoleBinding,
    readerRole,
    objects: [authRole, authRoleBinding, readerRole],
  };
}
