/**
 * Kinds of the core API group (`v1`): Pod and what a pod template is made of, Service, ConfigMap,
 * Secret, ServiceAccount, Namespace, Node and PersistentVolumeClaim.
 *
 * These are hand-written for the fields operators commonly read and write, with upstream's names
 * and JSON types; they are not the complete upstream API.
 */
import type { Condition, ConditionStatus } from "./conditions.ts";
import type {
  IntOrString,
  LabelSelector,
  LocalObjectReference,
  ObjectReference,
  Quantity,
  Time,
  TypedLocalObjectReference,
  TypedObjectReference,
} from "./meta.ts";
import { type ObjectMeta, resourceType } from "./object.ts";

/** A network protocol of a port. */
export type Protocol = "TCP" | "UDP" | "SCTP";

/** Resource amounts by resource name, e.g. `{ cpu: "500m", memory: "256Mi" }`. */
export type ResourceList = Record<string, Quantity>;

// ---------------------------------------------------------------------------------------------
// Containers
// ---------------------------------------------------------------------------------------------

/** A port a container listens on. */
export interface ContainerPort {
  /** An IANA_SVC_NAME (at most 15 characters) that Services can refer to. */
  name?: string;
  containerPort: number;
  hostPort?: number;
  hostIP?: string;
  /** Default `TCP`. */
  protocol?: Protocol;
}

/** Selects a field of the pod, e.g. `metadata.name`, `status.podIP`. */
export interface ObjectFieldSelector {
  apiVersion?: string;
  fieldPath: string;
}

/** Selects a resource of a container, e.g. `limits.memory`. */
export interface ResourceFieldSelector {
  containerName?: string;
  resource: string;
  divisor?: Quantity;
}

/** Selects a key of a ConfigMap. */
export interface ConfigMapKeySelector {
  name?: string;
  key: string;
  optional?: boolean;
}

/** Selects a key of a Secret. */
export interface SecretKeySelector {
  name?: string;
  key: string;
  optional?: boolean;
}

/** Where an environment variable's value comes from. Exactly one source is set. */
export interface EnvVarSource {
  fieldRef?: ObjectFieldSelector;
  resourceFieldRef?: ResourceFieldSelector;
  configMapKeyRef?: ConfigMapKeySelector;
  secretKeyRef?: SecretKeySelector;
}

/**
 * An environment variable of a container.
 *
 * @example
 * const env: EnvVar[] = [
 *   { name: "LOG_LEVEL", value: "info" },
 *   { name: "PASSWORD", valueFrom: { secretKeyRef: { name: "db", key: "password" } } },
 * ];
 */
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: EnvVarSource;
}

/** Imports all keys of a ConfigMap or Secret as environment variables. */
export interface EnvFromSource {
  prefix?: string;
  configMapRef?: { name?: string; optional?: boolean };
  secretRef?: { name?: string; optional?: boolean };
}

/** A claim on a DynamicResourceAllocation resource. */
export interface ResourceClaim {
  name: string;
  request?: string;
}

/**
 * Compute resources a container requests and may use at most.
 *
 * @example
 * const resources: ResourceRequirements = {
 *   requests: { cpu: "100m", memory: "128Mi" },
 *   limits: { memory: "256Mi" },
 * };
 */
export interface ResourceRequirements {
  limits?: ResourceList;
  requests?: ResourceList;
  claims?: ResourceClaim[];
}

/** Where a volume is mounted in a container. */
export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  subPath?: string;
  subPathExpr?: string;
  mountPropagation?: "None" | "HostToContainer" | "Bidirectional";
  recursiveReadOnly?: "Disabled" | "IfPossible" | "Enabled";
}

/** Runs a command in the container. */
export interface ExecAction {
  command?: string[];
}

/** A header of an HTTP probe. */
export interface HTTPHeader {
  name: string;
  value: string;
}

/** Performs an HTTP GET against the container. */
export interface HTTPGetAction {
  path?: string;
  /** Port number or name. */
  port: IntOrString;
  host?: string;
  scheme?: "HTTP" | "HTTPS";
  httpHeaders?: HTTPHeader[];
}

/** Opens a TCP connection to the container. */
export interface TCPSocketAction {
  port: IntOrString;
  host?: string;
}

/** Calls the gRPC health checking protocol. */
export interface GRPCAction {
  port: number;
  service?: string;
}

/**
 * A liveness, readiness or startup check. Exactly one of `exec`, `httpGet`, `tcpSocket`, `grpc`.
 *
 * @example
 * const readinessProbe: Probe = { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 5 };
 */
export interface Probe {
  exec?: ExecAction;
  httpGet?: HTTPGetAction;
  tcpSocket?: TCPSocketAction;
  grpc?: GRPCAction;
  initialDelaySeconds?: number;
  timeoutSeconds?: number;
  periodSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
  terminationGracePeriodSeconds?: number;
}

/** An action run at a container lifecycle hook. */
export interface LifecycleHandler {
  exec?: ExecAction;
  httpGet?: HTTPGetAction;
  tcpSocket?: TCPSocketAction;
  sleep?: { seconds: number };
}

/** Actions run right after a container starts and right before it stops. */
export interface Lifecycle {
  postStart?: LifecycleHandler;
  preStop?: LifecycleHandler;
}

/** SELinux labels. */
export interface SELinuxOptions {
  user?: string;
  role?: string;
  type?: string;
  level?: string;
}

/** The seccomp profile of a pod or container. */
export interface SeccompProfile {
  type: "RuntimeDefault" | "Unconfined" | "Localhost";
  localhostProfile?: string;
}

/** The AppArmor profile of a pod or container. */
export interface AppArmorProfile {
  type: "RuntimeDefault" | "Unconfined" | "Localhost";
  localhostProfile?: string;
}

/** Security options of one container. */
export interface SecurityContext {
  capabilities?: { add?: string[]; drop?: string[] };
  privileged?: boolean;
  seLinuxOptions?: SELinuxOptions;
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  procMount?: "Default" | "Unmasked";
  seccompProfile?: SeccompProfile;
  appArmorProfile?: AppArmorProfile;
}

/** How a container's resource may be resized in place. */
export interface ContainerResizePolicy {
  resourceName: string;
  restartPolicy: "NotRequired" | "RestartContainer";
}

/**
 * A container of a pod.
 *
 * @example
 * const web: Container = {
 *   name: "web",
 *   image: "nginx:1.27",
 *   ports: [{ name: "http", containerPort: 80 }],
 *   resources: { requests: { cpu: "100m" } },
 * };
 */
export interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  ports?: ContainerPort[];
  envFrom?: EnvFromSource[];
  env?: EnvVar[];
  resources?: ResourceRequirements;
  resizePolicy?: ContainerResizePolicy[];
  /** Only `Always`, for sidecar init containers. */
  restartPolicy?: "Always";
  volumeMounts?: VolumeMount[];
  volumeDevices?: { name: string; devicePath: string }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: Lifecycle;
  terminationMessagePath?: string;
  terminationMessagePolicy?: "File" | "FallbackToLogsOnError";
  imagePullPolicy?: "Always" | "Never" | "IfNotPresent";
  securityContext?: SecurityContext;
  stdin?: boolean;
  stdinOnce?: boolean;
  tty?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Volumes
// ---------------------------------------------------------------------------------------------

/** Maps a key of a ConfigMap or Secret to a file path in a volume. */
export interface KeyToPath {
  key: string;
  path: string;
  mode?: number;
}

/** A volume with the keys of a ConfigMap as files. */
export interface ConfigMapVolumeSource {
  name?: string;
  items?: KeyToPath[];
  defaultMode?: number;
  optional?: boolean;
}

/** A volume with the keys of a Secret as files. */
export interface SecretVolumeSource {
  secretName?: string;
  items?: KeyToPath[];
  defaultMode?: number;
  optional?: boolean;
}

/** A file of pod information in a downward API volume. */
export interface DownwardAPIVolumeFile {
  path: string;
  fieldRef?: ObjectFieldSelector;
  resourceFieldRef?: ResourceFieldSelector;
  mode?: number;
}

/** One source of a projected volume. */
export interface VolumeProjection {
  secret?: { name?: string; items?: KeyToPath[]; optional?: boolean };
  configMap?: { name?: string; items?: KeyToPath[]; optional?: boolean };
  downwardAPI?: { items?: DownwardAPIVolumeFile[] };
  serviceAccountToken?: { audience?: string; expirationSeconds?: number; path: string };
}

/** The spec of a PersistentVolumeClaim created for an ephemeral volume. */
export interface PersistentVolumeClaimTemplate {
  metadata?: ObjectMeta;
  spec: PersistentVolumeClaimSpec;
}

/**
 * A volume of a pod: a name and exactly one source.
 *
 * @example
 * const volumes: Volume[] = [
 *   { name: "config", configMap: { name: "web-config" } },
 *   { name: "cache", emptyDir: { sizeLimit: "1Gi" } },
 * ];
 */
export interface Volume {
  name: string;
  emptyDir?: { medium?: string; sizeLimit?: Quantity };
  configMap?: ConfigMapVolumeSource;
  secret?: SecretVolumeSource;
  persistentVolumeClaim?: { claimName: string; readOnly?: boolean };
  hostPath?: { path: string; type?: string };
  projected?: { sources?: VolumeProjection[]; defaultMode?: number };
  downwardAPI?: { items?: DownwardAPIVolumeFile[]; defaultMode?: number };
  csi?: {
    driver: string;
    readOnly?: boolean;
    fsType?: string;
    volumeAttributes?: Record<string, string>;
    nodePublishSecretRef?: LocalObjectReference;
  };
  ephemeral?: { volumeClaimTemplate?: PersistentVolumeClaimTemplate };
  nfs?: { server: string; path: string; readOnly?: boolean };
  image?: { reference?: string; pullPolicy?: "Always" | "Never" | "IfNotPresent" };
}

// ---------------------------------------------------------------------------------------------
// Scheduling
// ---------------------------------------------------------------------------------------------

/** One requirement on node labels or fields. */
export interface NodeSelectorRequirement {
  key: string;
  operator: "In" | "NotIn" | "Exists" | "DoesNotExist" | "Gt" | "Lt";
  values?: string[];
}

/** Requirements a node must all meet. */
export interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[];
  matchFields?: NodeSelectorRequirement[];
}

/** Terms of which a node must meet at least one. */
export interface NodeSelector {
  nodeSelectorTerms: NodeSelectorTerm[];
}

/** Placement relative to pods matching a selector, within a topology domain. */
export interface PodAffinityTerm {
  labelSelector?: LabelSelector;
  namespaces?: string[];
  topologyKey: string;
  namespaceSelector?: LabelSelector;
  matchLabelKeys?: string[];
  mismatchLabelKeys?: string[];
}

/** A weighted pod (anti-)affinity preference. */
export interface WeightedPodAffinityTerm {
  weight: number;
  podAffinityTerm: PodAffinityTerm;
}

/** Scheduling constraints on nodes and on other pods. */
export interface Affinity {
  nodeAffinity?: {
    requiredDuringSchedulingIgnoredDuringExecution?: NodeSelector;
    preferredDuringSchedulingIgnoredDuringExecution?: {
      weight: number;
      preference: NodeSelectorTerm;
    }[];
  };
  podAffinity?: {
    requiredDuringSchedulingIgnoredDuringExecution?: PodAffinityTerm[];
    preferredDuringSchedulingIgnoredDuringExecution?: WeightedPodAffinityTerm[];
  };
  podAntiAffinity?: {
    requiredDuringSchedulingIgnoredDuringExecution?: PodAffinityTerm[];
    preferredDuringSchedulingIgnoredDuringExecution?: WeightedPodAffinityTerm[];
  };
}

/** The effect of a taint on pods that do not tolerate it. */
export type TaintEffect = "NoSchedule" | "PreferNoSchedule" | "NoExecute";

/** Lets a pod schedule onto (or stay on) nodes with a matching taint. */
export interface Toleration {
  key?: string;
  /** Default `Equal`. */
  operator?: "Exists" | "Equal";
  value?: string;
  effect?: TaintEffect;
  tolerationSeconds?: number;
}

/** Spreads pods across topology domains. */
export interface TopologySpreadConstraint {
  maxSkew: number;
  topologyKey: string;
  whenUnsatisfiable: "DoNotSchedule" | "ScheduleAnyway";
  labelSelector?: LabelSelector;
  minDomains?: number;
  nodeAffinityPolicy?: "Honor" | "Ignore";
  nodeTaintsPolicy?: "Honor" | "Ignore";
  matchLabelKeys?: string[];
}

/** Pod-level security options. */
export interface PodSecurityContext {
  seLinuxOptions?: SELinuxOptions;
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  supplementalGroups?: number[];
  fsGroup?: number;
  fsGroupChangePolicy?: "OnRootMismatch" | "Always";
  sysctls?: { name: string; value: string }[];
  seccompProfile?: SeccompProfile;
  appArmorProfile?: AppArmorProfile;
}

// ---------------------------------------------------------------------------------------------
// Pod
// ---------------------------------------------------------------------------------------------

/**
 * What a pod runs and how it is scheduled.
 *
 * @example
 * const spec: PodSpec = {
 *   containers: [{ name: "web", image: "nginx:1.27" }],
 *   restartPolicy: "Always",
 * };
 */
export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
  restartPolicy?: "Always" | "OnFailure" | "Never";
  terminationGracePeriodSeconds?: number;
  activeDeadlineSeconds?: number;
  dnsPolicy?: "ClusterFirstWithHostNet" | "ClusterFirst" | "Default" | "None";
  dnsConfig?: {
    nameservers?: string[];
    searches?: string[];
    options?: { name?: string; value?: string }[];
  };
  nodeSelector?: Record<string, string>;
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  nodeName?: string;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  hostUsers?: boolean;
  shareProcessNamespace?: boolean;
  securityContext?: PodSecurityContext;
  imagePullSecrets?: LocalObjectReference[];
  hostname?: string;
  subdomain?: string;
  setHostnameAsFQDN?: boolean;
  hostAliases?: { ip: string; hostnames?: string[] }[];
  affinity?: Affinity;
  schedulerName?: string;
  tolerations?: Toleration[];
  topologySpreadConstraints?: TopologySpreadConstraint[];
  priorityClassName?: string;
  priority?: number;
  preemptionPolicy?: "PreemptLowerPriority" | "Never";
  readinessGates?: { conditionType: string }[];
  runtimeClassName?: string;
  enableServiceLinks?: boolean;
  overhead?: ResourceList;
  os?: { name: "linux" | "windows" };
}

/** The metadata and spec of pods a workload creates. */
export interface PodTemplateSpec {
  metadata?: ObjectMeta;
  spec?: PodSpec;
}

/** A condition of a pod (`PodScheduled`, `Initialized`, `ContainersReady`, `Ready`, ...). */
export interface PodCondition {
  type: string;
  status: ConditionStatus;
  observedGeneration?: number;
  lastProbeTime?: Time;
  lastTransitionTime?: Time;
  reason?: string;
  message?: string;
}

/** The state of a container: exactly one of `waiting`, `running`, `terminated`. */
export interface ContainerState {
  waiting?: { reason?: string; message?: string };
  running?: { startedAt?: Time };
  terminated?: {
    exitCode: number;
    signal?: number;
    reason?: string;
    message?: string;
    startedAt?: Time;
    finishedAt?: Time;
    containerID?: string;
  };
}

/** The observed state of one container of a pod. */
export interface ContainerStatus {
  name: string;
  state?: ContainerState;
  lastState?: ContainerState;
  ready: boolean;
  restartCount: number;
  image: string;
  imageID: string;
  containerID?: string;
  started?: boolean;
  allocatedResources?: ResourceList;
  resources?: ResourceRequirements;
}

/** The observed state of a pod. */
export interface PodStatus {
  observedGeneration?: number;
  phase?: "Pending" | "Running" | "Succeeded" | "Failed" | "Unknown";
  conditions?: PodCondition[];
  message?: string;
  reason?: string;
  nominatedNodeName?: string;
  hostIP?: string;
  hostIPs?: { ip: string }[];
  podIP?: string;
  podIPs?: { ip: string }[];
  startTime?: Time;
  initContainerStatuses?: ContainerStatus[];
  containerStatuses?: ContainerStatus[];
  qosClass?: "Guaranteed" | "Burstable" | "BestEffort";
}

/**
 * A pod (`v1/Pod`).
 *
 * @example
 * const pod: Pod = {
 *   apiVersion: "v1",
 *   kind: "Pod",
 *   metadata: { name: "web", namespace: "default" },
 *   spec: { containers: [{ name: "web", image: "nginx:1.27" }] },
 * };
 */
export type Pod = {
  apiVersion: "v1";
  kind: "Pod";
  metadata: ObjectMeta;
  spec?: PodSpec;
  status?: PodStatus;
};
/** The `Pod` kind: `v1`, `pods`, namespaced. */
export const Pod = resourceType<Pod>("v1", "Pod", "pods", true);

// ---------------------------------------------------------------------------------------------
// Service
// ---------------------------------------------------------------------------------------------

/** A port a Service exposes. */
export interface ServicePort {
  name?: string;
  /** Default `TCP`. */
  protocol?: Protocol;
  appProtocol?: string;
  port: number;
  /** The pods' port number or name; defaults to `port`. */
  targetPort?: IntOrString;
  nodePort?: number;
}

/** A port of a load balancer and its error, if any. */
export interface PortStatus {
  port: number;
  protocol: Protocol;
  error?: string;
}

/** The load balancer endpoints of a Service or Ingress. */
export interface LoadBalancerStatus {
  ingress?: {
    ip?: string;
    hostname?: string;
    ipMode?: "VIP" | "Proxy";
    ports?: PortStatus[];
  }[];
}

/** The desired behavior of a Service. */
export interface ServiceSpec {
  ports?: ServicePort[];
  /** Routes to pods with these labels; without it, endpoints are managed externally. */
  selector?: Record<string, string>;
  clusterIP?: string;
  clusterIPs?: string[];
  type?: "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalName";
  externalIPs?: string[];
  sessionAffinity?: "ClientIP" | "None";
  sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
  loadBalancerIP?: string;
  loadBalancerSourceRanges?: string[];
  loadBalancerClass?: string;
  externalName?: string;
  externalTrafficPolicy?: "Cluster" | "Local";
  internalTrafficPolicy?: "Cluster" | "Local";
  healthCheckNodePort?: number;
  publishNotReadyAddresses?: boolean;
  ipFamilies?: ("IPv4" | "IPv6")[];
  ipFamilyPolicy?: "SingleStack" | "PreferDualStack" | "RequireDualStack";
  allocateLoadBalancerNodePorts?: boolean;
  trafficDistribution?: string;
}

/**
 * A Service (`v1/Service`).
 *
 * @example
 * const service: Service = {
 *   apiVersion: "v1",
 *   kind: "Service",
 *   metadata: { name: "web" },
 *   spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: "http" }] },
 * };
 */
export type Service = {
  apiVersion: "v1";
  kind: "Service";
  metadata: ObjectMeta;
  spec?: ServiceSpec;
  status?: {
    loadBalancer?: LoadBalancerStatus;
    conditions?: Condition[];
  };
};
/** The `Service` kind: `v1`, `services`, namespaced. */
export const Service = resourceType<Service>("v1", "Service", "services", true);

// ---------------------------------------------------------------------------------------------
// ConfigMap, Secret, ServiceAccount
// ---------------------------------------------------------------------------------------------

/**
 * A ConfigMap (`v1/ConfigMap`): configuration as string key-value pairs.
 *
 * @example
 * const config: ConfigMap = {
 *   apiVersion: "v1",
 *   kind: "ConfigMap",
 *   metadata: { name: "web-config" },
 *   data: { "nginx.conf": "..." },
 * };
 */
export type ConfigMap = {
  apiVersion: "v1";
  kind: "ConfigMap";
  metadata: ObjectMeta;
  data?: Record<string, string>;
  /** Base64-encoded values. */
  binaryData?: Record<string, string>;
  immutable?: boolean;
};
/** The `ConfigMap` kind: `v1`, `configmaps`, namespaced. */
export const ConfigMap = resourceType<ConfigMap>("v1", "ConfigMap", "configmaps", true);

/**
 * A Secret (`v1/Secret`). `data` values are base64-encoded; `stringData` is a write-only
 * convenience merged into `data` by the API server.
 *
 * @example
 * const secret: Secret = {
 *   apiVersion: "v1",
 *   kind: "Secret",
 *   metadata: { name: "db" },
 *   type: "Opaque",
 *   stringData: { password: "s3cret" },
 * };
 */
export type Secret = {
  apiVersion: "v1";
  kind: "Secret";
  metadata: ObjectMeta;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  /** e.g. `Opaque`, `kubernetes.io/tls`, `kubernetes.io/dockerconfigjson`. */
  type?: string;
  immutable?: boolean;
};
/** The `Secret` kind: `v1`, `secrets`, namespaced. */
export const Secret = resourceType<Secret>("v1", "Secret", "secrets", true);

/** A ServiceAccount (`v1/ServiceAccount`): an identity for pods. */
export type ServiceAccount = {
  apiVersion: "v1";
  kind: "ServiceAccount";
  metadata: ObjectMeta;
  secrets?: ObjectReference[];
  imagePullSecrets?: LocalObjectReference[];
  automountServiceAccountToken?: boolean;
};
/** The `ServiceAccount` kind: `v1`, `serviceaccounts`, namespaced. */
export const ServiceAccount = resourceType<ServiceAccount>(
  "v1",
  "ServiceAccount",
  "serviceaccounts",
  true,
);

// ---------------------------------------------------------------------------------------------
// Namespace, Node
// ---------------------------------------------------------------------------------------------

/** A Namespace (`v1/Namespace`). */
export type Namespace = {
  apiVersion: "v1";
  kind: "Namespace";
  metadata: ObjectMeta;
  spec?: { finalizers?: string[] };
  status?: {
    phase?: "Active" | "Terminating";
    conditions?: {
      type: string;
      status: ConditionStatus;
      lastTransitionTime?: Time;
      reason?: string;
      message?: string;
    }[];
  };
};
/** The `Namespace` kind: `v1`, `namespaces`, cluster-scoped. */
export const Namespace = resourceType<Namespace>("v1", "Namespace", "namespaces", false);

/** A taint on a node: pods that do not tolerate it are kept off (or evicted). */
export interface Taint {
  key: string;
  value?: string;
  effect: TaintEffect;
  timeAdded?: Time;
}

/** A condition of a node (`Ready`, `MemoryPressure`, `DiskPressure`, ...). */
export interface NodeCondition {
  type: string;
  status: ConditionStatus;
  lastHeartbeatTime?: Time;
  lastTransitionTime?: Time;
  reason?: string;
  message?: string;
}

/** Facts about a node's software. */
export interface NodeSystemInfo {
  machineID: string;
  systemUUID: string;
  bootID: string;
  kernelVersion: string;
  osImage: string;
  containerRuntimeVersion: string;
  kubeletVersion: string;
  kubeProxyVersion: string;
  operatingSystem: string;
  architecture: string;
}

/** The observed state of a node. */
export interface NodeStatus {
  capacity?: ResourceList;
  allocatable?: ResourceList;
  conditions?: NodeCondition[];
  addresses?: {
    type: "Hostname" | "InternalIP" | "ExternalIP" | "InternalDNS" | "ExternalDNS";
    address: string;
  }[];
  daemonEndpoints?: { kubeletEndpoint?: { Port: number } };
  nodeInfo?: NodeSystemInfo;
  images?: { names?: string[]; sizeBytes?: number }[];
  volumesInUse?: string[];
}

/** A Node (`v1/Node`). */
export type Node = {
  apiVersion: "v1";
  kind: "Node";
  metadata: ObjectMeta;
  spec?: {
    podCIDR?: string;
    podCIDRs?: string[];
    providerID?: string;
    unschedulable?: boolean;
    taints?: Taint[];
  };
  status?: NodeStatus;
};
/** The `Node` kind: `v1`, `nodes`, cluster-scoped. */
export const Node = resourceType<Node>("v1", "Node", "nodes", false);

// ---------------------------------------------------------------------------------------------
// PersistentVolumeClaim
// ---------------------------------------------------------------------------------------------

/** How a volume can be mounted. */
export type PersistentVolumeAccessMode =
  | "ReadWriteOnce"
  | "ReadOnlyMany"
  | "ReadWriteMany"
  | "ReadWriteOncePod";

/** The desired storage of a PersistentVolumeClaim. */
export interface PersistentVolumeClaimSpec {
  accessModes?: PersistentVolumeAccessMode[];
  selector?: LabelSelector;
  resources?: { limits?: ResourceList; requests?: ResourceList };
  volumeName?: string;
  storageClassName?: string;
  volumeMode?: "Filesystem" | "Block";
  dataSource?: TypedLocalObjectReference;
  dataSourceRef?: TypedObjectReference;
  volumeAttributesClassName?: string;
}

/** The observed state of a PersistentVolumeClaim. */
export interface PersistentVolumeClaimStatus {
  phase?: "Pending" | "Bound" | "Lost";
  accessModes?: PersistentVolumeAccessMode[];
  capacity?: ResourceList;
  conditions?: {
    type: string;
    status: ConditionStatus;
    lastProbeTime?: Time;
    lastTransitionTime?: Time;
    reason?: string;
    message?: string;
  }[];
  allocatedResources?: ResourceList;
}

/**
 * A PersistentVolumeClaim (`v1/PersistentVolumeClaim`).
 *
 * @example
 * const claim: PersistentVolumeClaim = {
 *   apiVersion: "v1",
 *   kind: "PersistentVolumeClaim",
 *   metadata: { name: "data" },
 *   spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "10Gi" } } },
 * };
 */
export type PersistentVolumeClaim = {
  apiVersion: "v1";
  kind: "PersistentVolumeClaim";
  metadata: ObjectMeta;
  spec?: PersistentVolumeClaimSpec;
  status?: PersistentVolumeClaimStatus;
};
/** The `PersistentVolumeClaim` kind: `v1`, `persistentvolumeclaims`, namespaced. */
export const PersistentVolumeClaim = resourceType<PersistentVolumeClaim>(
  "v1",
  "PersistentVolumeClaim",
  "persistentvolumeclaims",
  true,
);
