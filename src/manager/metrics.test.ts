/** The hooks turn into the controller-runtime / client-go metric names, one registry per manager. */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { InformerStats } from "../cache/observer.ts";
import { ManagerMetrics } from "./metrics.ts";

/** The value of one sample in Prometheus text, e.g. `value(text, 'x_total{a="b"}')`. */
function value(text: string, sample: string): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith(`${sample} `)) return Number(line.slice(sample.length + 1));
  }
  return undefined;
}

test("every hook feeds its metric", async () => {
  const metrics = new ManagerMetrics();
  metrics.reconciled("widgets", "success", 0.02);
  metrics.reconciled("widgets", "error", 0.5);
  metrics.reconciled("widgets", "requeue_after", 0.1);
  metrics.maxConcurrentReconciles.set({ controller: "widgets" }, 8);
  metrics.activeWorkers.inc({ controller: "widgets" });
  metrics.leaderStatus.set({ name: "widgets-leader" }, 1);
  metrics.queue.add("widgets");
  metrics.queue.add("widgets");
  metrics.queue.depth("widgets", 2);
  metrics.queue.queueDuration("widgets", 0.001);
  metrics.queue.workDuration("widgets", 0.2);
  metrics.queue.retry("widgets");
  metrics.queue.unfinishedWork("widgets", 3, 2);
  metrics.client.request?.({
    verb: "apply",
    resource: "deployments",
    group: "apps",
    subresource: "",
    method: "PATCH",
    host: "10.0.0.1:6443",
    code: 200,
    durationSeconds: 0.03,
  });
  metrics.client.request?.({
    verb: "get",
    resource: "widgets",
    group: "example.com",
    subresource: "status",
    method: "GET",
    host: "10.0.0.1:6443",
    code: 0,
    durationSeconds: 1,
  });
  const id = { apiVersion: "v1", kind: "ConfigMap", metadataOnly: false };
  metrics.informers.restarted?.(id, { reason: "gone", delayMs: 0, relist: true });
  metrics.observeInformers(
    () =>
      [
        { id, objects: 4 },
        { id: { ...id, namespace: "a" }, objects: 3 },
        { id: { apiVersion: "apps/v1", kind: "Deployment", metadataOnly: false }, objects: 1 },
      ] as InformerStats[],
  );

  const text = await metrics.registry.metrics();
  const expect = (sample: string, expected: number) =>
    assert.equal(value(text, sample), expected, sample);
  expect('controller_runtime_reconcile_total{controller="widgets",result="success"}', 1);
  expect('controller_runtime_reconcile_total{controller="widgets",result="error"}', 1);
  expect('controller_runtime_reconcile_total{controller="widgets",result="requeue_after"}', 1);
  expect('controller_runtime_reconcile_errors_total{controller="widgets"}', 1);
  expect('controller_runtime_reconcile_time_seconds_count{controller="widgets"}', 3);
  expect('controller_runtime_max_concurrent_reconciles{controller="widgets"}', 8);
  expect('controller_runtime_active_workers{controller="widgets"}', 1);
  expect('leader_election_master_status{name="widgets-leader"}', 1);
  expect('workqueue_adds_total{name="widgets"}', 2);
  expect('workqueue_depth{name="widgets"}', 2);
  expect('workqueue_queue_duration_seconds_count{name="widgets"}', 1);
  expect('workqueue_work_duration_seconds_count{name="widgets"}', 1);
  expect('workqueue_retries_total{name="widgets"}', 1);
  expect('workqueue_unfinished_work_seconds{name="widgets"}', 3);
  expect('workqueue_longest_running_processor_seconds{name="widgets"}', 2);
  expect('rest_client_requests_total{code="200",method="PATCH",host="10.0.0.1:6443"}', 1);
  expect('rest_client_requests_total{code="<error>",method="GET",host="10.0.0.1:6443"}', 1);
  expect('rest_client_request_duration_seconds_count{verb="PATCH",host="10.0.0.1:6443"}', 1);
  expect('operon_api_requests_total{verb="apply",resource="deployments.apps",code="200"}', 1);
  expect(
    'operon_api_requests_total{verb="get",resource="widgets.example.com/status",code="<error>"}',
    1,
  );
  expect('operon_informer_restarts_total{resource="v1/ConfigMap",reason="gone"}', 1);
  expect('operon_cache_objects{resource="v1/ConfigMap"}', 7);
  expect('operon_cache_objects{resource="apps/v1/Deployment"}', 1);
});

test("two managers' metrics do not share a registry; process metrics are opt-in", async () => {
  const a = new ManagerMetrics();
  const b = new ManagerMetrics();
  a.reconciled("x", "success", 0.1);
  a.collectProcessMetrics();
  a.collectProcessMetrics();
  const textA = await a.registry.metrics();
  const textB = await b.registry.metrics();
  assert.equal(
    value(textA, 'controller_runtime_reconcile_total{controller="x",result="success"}'),
    1,
  );
  assert.equal(
    value(textB, 'controller_runtime_reconcile_total{controller="x",result="success"}'),
    undefined,
  );
  assert.match(textA, /^process_cpu_seconds_total /m);
  assert.match(textA, /^nodejs_eventloop_lag_seconds /m);
  assert.doesNotMatch(textB, /process_cpu_seconds_total/);
});
