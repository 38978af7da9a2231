/**
 * How the simulated nodes (kwok) behave, and the annotations tests use to steer a Pod.
 *
 * A node becomes Ready once; kwok renews the nodes' Leases itself, so the node lifecycle
 * controller keeps them Ready. A Pod bound to a node (by kube-scheduler) moves by these stages:
 *
 * - by default, it becomes Running and Ready at once; a Pod owned by a Job then Succeeds
 *   (exit code 0) at once;
 * - `operon.dev/simulate` on the Pod (for a Job, Deployment, ...: on its pod template) picks
 *   where it ends: `pending` (stays Pending), `running` (Running, never Ready), `ready` (Running
 *   and Ready, never finishes, even in a Job), `succeed` (Running, then Succeeded, exit 0) or
 *   `fail` (Running, then its containers exit 1: Failed with `restartPolicy: Never`, else
 *   Running and not Ready in CrashLoopBackOff, restart count 1);
 * - `operon.dev/simulate-after` (a Go duration, `"10s"`) delays the last step: the Pod is Running
 *   but not Ready until then, and then becomes Ready, Succeeds or fails;
 * - a deleted Pod goes away at once (no grace period).
 *
 * Selectors are jq expressions (kwok's), templates Go templates; the tests in
 * `kwok-stages.integration.test.ts` prove each path on the real control plane.
 */

/** What a simulated Pod does, set with the `operon.dev/simulate` annotation. */
export type PodSimulation = "pending" | "running" | "ready" | "succeed" | "fail";

/** The annotation that picks a simulated Pod's fate. */
export const simulateAnnotation = "operon.dev/simulate";
/** The annotation that delays a simulated Pod's last step (a Go duration such as `"10s"`). */
export const simulateAfterAnnotation = "operon.dev/simulate-after";

/**
 * Annotations that make a Pod on the testkit's simulated nodes behave as asked: put them on the
 * Pod, or on the pod template of a Job, Deployment, StatefulSet, ...
 *
 * @example
 * import { simulatePod } from "kube-operon/testkit";
 *
 * // A Job whose Pod fails after 2 seconds: with restartPolicy Never and backoffLimit 0 the Job fails.
 * const job = {
 *   apiVersion: "batch/v1",
 *   kind: "Job",
 *   metadata: { name: "migrate" },
 *   spec: {
 *     backoffLimit: 0,
 *     template: {
 *       metadata: { annotations: simulatePod("fail", { after: "2s" }) },
 *       spec: { restartPolicy: "Never", containers: [{ name: "migrate", image: "migrate:1" }] },
 *     },
 *   },
 * };
 */
export function simulatePod(
  behaviour: PodSimulation,
  options: { after?: string } = {},
): Record<string, string> {
  return {
    [simulateAnnotation]: behaviour,
    ...(options.after !== undefined ? { [simulateAfterAnnotation]: options.after } : {}),
  };
}

/** jq: where the Pod ends, its annotation or the default (`succeed` in a Job, else `ready`). */
const target =
  `(.metadata.annotations["${simulateAnnotation}"] // ` +
  'if any(.metadata.ownerReferences[]?; .kind == "Job") then "succeed" else "ready" end)';
const after = `.metadata.annotations["${simulateAfterAnnotation}"]`;

/** A selector expression (kwok's jq form) that holds when `expression` is `true`. */
function when(expression: string): string {
  return `      - key: '${expression}'
        operator: In
        values: ["true"]`;
}

const alive = `      - key: .metadata.deletionTimestamp
        operator: DoesNotExist`;

function phase(value: string): string {
  return `      - key: .status.phase
        operator: In
        values: [${value}]`;
}

const notReady = `      - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
        operator: NotIn
        values: ["True"]`;

/** Delay a stage by the `simulate-after` annotation, when the Pod has one. */
const delayed = `  delay:
    durationMilliseconds: 0
    durationFrom:
      expressionFrom: '${after}'`;

const addresses = `      {{ with NodeIPsWith .spec.nodeName }}
      hostIP: {{ index . 0 | Quote }}
      {{ end }}
      {{ with PodIPsWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) }}
      podIP: {{ index . 0 | Quote }}
      podIPs:
        {{ range . }}
        - ip: {{ . | Quote }}
        {{ end }}
      {{ end }}`;

/** Pod conditions, each with the given status. */
function conditions(ready: boolean, reason = ""): string {
  const status = ready ? '"True"' : '"False"';
  return `      conditions:
        - type: PodScheduled
          status: "True"
          lastTransitionTime: {{ $now | Quote }}
        - type: Initialized
          status: "True"
          lastTransitionTime: {{ $now | Quote }}
        {{ range list "ContainersReady" "Ready" }}
        - type: {{ . }}
          status: ${status}
          reason: ${JSON.stringify(reason)}
          lastTransitionTime: {{ $now | Quote }}
        {{ end }}
        {{ range .spec.readinessGates }}
        - type: {{ .conditionType | Quote }}
          status: ${status}
          lastTransitionTime: {{ $now | Quote }}
        {{ end }}`;
}

/** Every container running, ready or not. */
function running(ready: boolean): string {
  return `      containerStatuses:
        {{ range .spec.containers }}
        - name: {{ .name | Quote }}
          image: {{ .image | Quote }}
          ready: ${ready}
          started: true
          restartCount: 0
          state: { running: { startedAt: {{ $now | Quote }} } }
        {{ end }}`;
}

/** Every container exited with `code`. */
function terminated(code: number, reason: string): string {
  return `      containerStatuses:
        {{ range .spec.containers }}
        - name: {{ .name | Quote }}
          image: {{ .image | Quote }}
          ready: false
          started: false
          restartCount: 0
          state: { terminated: { exitCode: ${code}, reason: ${reason}, startedAt: {{ $now | Quote }}, finishedAt: {{ $now | Quote }} } }
        {{ end }}`;
}

function podStage(name: string, selectors: string[], template: string, delay = ""): string {
  return `---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: ${name}
spec:
  resourceRef: { apiGroup: v1, kind: Pod }
  selector:
    matchExpressions:
${selectors.join("\n")}
${delay ? `${delay}\n` : ""}  next:
    statusTemplate: |
      {{ $now := Now }}
${template}
`;
}

const podStages = [
  // The common case in one write: bound → Running and Ready.
  podStage(
    "operon-pod-ready",
    [
      alive,
      phase("Pending"),
      notReady,
      when(`${target} as $t | ($t == "ready" or $t == "succeed") and ${after} == null`),
    ],
    `      phase: Running
      startTime: {{ $now | Quote }}
${conditions(true)}
${running(true)}
${addresses}`,
  ),
  // Running but not Ready: for good (`running`), until it fails, or until `simulate-after`.
  podStage(
    "operon-pod-start",
    [
      alive,
      phase("Pending"),
      notReady,
      when(
        `${target} as $t | $t == "running" or $t == "fail" or (($t == "ready" or $t == "succeed") and ${after} != null)`,
      ),
    ],
    `      phase: Running
      startTime: {{ $now | Quote }}
${conditions(false, "ContainersNotReady")}
${running(false)}
${addresses}`,
  ),
  // Ready once `simulate-after` has passed.
  podStage(
    "operon-pod-ready-later",
    [alive, phase("Running"), notReady, when(`${target} == "ready"`)],
    `${conditions(true)}
${running(true)}`,
    delayed,
  ),
  // Completes: a Job's Pod by default, any Pod with `succeed`.
  podStage(
    "operon-pod-succeed",
    [alive, phase("Running"), when(`${target} == "succeed"`)],
    `      phase: Succeeded
${conditions(false, "PodCompleted")}
${terminated(0, "Completed")}`,
    delayed,
  ),
  // Fails: with restartPolicy Never the Pod is Failed; otherwise its containers crash-loop.
  podStage(
    "operon-pod-fail",
    [
      alive,
      phase("Running"),
      when(`${target} == "fail"`),
      `      - key: .status.containerStatuses.[].state.running.startedAt
        operator: Exists`,
    ],
    `      {{ if eq .spec.restartPolicy "Never" }}
      phase: Failed
${conditions(false, "PodFailed")}
${terminated(1, "Error")}
      {{ else }}
${conditions(false, "ContainersNotReady")}
      containerStatuses:
        {{ range .spec.containers }}
        - name: {{ .name | Quote }}
          image: {{ .image | Quote }}
          ready: false
          started: false
          restartCount: 1
          lastState: { terminated: { exitCode: 1, reason: Error, startedAt: {{ $now | Quote }}, finishedAt: {{ $now | Quote }} } }
          state: { waiting: { reason: CrashLoopBackOff, message: "simulated failure (operon.dev/simulate: fail)" } }
        {{ end }}
      {{ end }}`,
    delayed,
  ),
];

/** kwok's configuration for the simulated nodes: see the module documentation. */
export const kwokConfiguration = `apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  nodeLeaseDurationSeconds: 40
  nodeLeaseParallelism: 4
  nodePlayStageParallelism: 4
  podPlayStageParallelism: 8
  podsOnNodeSyncParallelism: 2
  enableDebuggingHandlers: false
  enableProfilingHandler: false
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: operon-node-ready
spec:
  resourceRef: { apiGroup: v1, kind: Node }
  selector:
    matchExpressions:
      - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
        operator: NotIn
        values: ["True"]
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
        - type: Ready
          status: "True"
          reason: KubeletReady
          message: simulated node is ready
          lastHeartbeatTime: {{ $now | Quote }}
          lastTransitionTime: {{ $now | Quote }}
        - type: MemoryPressure
          status: "False"
          reason: KubeletHasSufficientMemory
          message: simulated
          lastHeartbeatTime: {{ $now | Quote }}
          lastTransitionTime: {{ $now | Quote }}
        - type: DiskPressure
          status: "False"
          reason: KubeletHasNoDiskPressure
          message: simulated
          lastHeartbeatTime: {{ $now | Quote }}
          lastTransitionTime: {{ $now | Quote }}
        - type: PIDPressure
          status: "False"
          reason: KubeletHasSufficientPID
          message: simulated
          lastHeartbeatTime: {{ $now | Quote }}
          lastTransitionTime: {{ $now | Quote }}
        - type: NetworkUnavailable
          status: "False"
          reason: RouteCreated
          message: simulated
          lastHeartbeatTime: {{ $now | Quote }}
          lastTransitionTime: {{ $now | Quote }}
      addresses:
        - type: InternalIP
          address: {{ NodeIP | Quote }}
        - type: Hostname
          address: {{ .metadata.name | Quote }}
      allocatable: {{ with .status.allocatable }}{{ YAML . 1 }}{{ else }}{ cpu: "32", memory: 256Gi, pods: "110" }{{ end }}
      capacity: {{ with .status.capacity }}{{ YAML . 1 }}{{ else }}{ cpu: "32", memory: 256Gi, pods: "110" }{{ end }}
      nodeInfo:
        architecture: amd64
        operatingSystem: linux
        kubeletVersion: simulated
        containerRuntimeVersion: simulated
        kernelVersion: simulated
        osImage: simulated
        bootID: ""
        machineID: ""
        systemUUID: ""
      phase: Running
${podStages.join("")}---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: operon-pod-delete
spec:
  resourceRef: { apiGroup: v1, kind: Pod }
  selector:
    matchExpressions:
${alive.replace("DoesNotExist", "Exists")}
  next:
    delete: true
`;
