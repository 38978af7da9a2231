import { child, defineOperator, Job } from "kube-operon";
import { Greeting } from "./greeting.ts";

const hourMs = 60 * 60_000;

/** A Job for each Greeting at the top of every hour, keeping the last three runs. */
export default defineOperator({
  name: "hourly-greeting",
  parent: Greeting,
  // Pruned runs take their Pods with them (the default propagation, "Background").
  children: { runs: child(Job, { propagationPolicy: "Background" }) },
  sync({ parent, children, now }) {
    // `now` is the time of this sync: tests set it (callSync, runOperator) instead of a clock.
    const hour = Math.floor(now.getTime() / hourMs);
    const kept = children.runs
      .list()
      .map((job) => Number(job.metadata.labels?.["example.com/hour"]))
      .filter((run) => run >= hour - 2 && run < hour);
    const runs = [...kept, hour].sort((a, b) => a - b);
    return {
      status: { message: `last run ${new Date(hour * hourMs).toISOString()}` },
      // Named after their hour, not the current time: the same result on every sync in an hour.
      children: runs.map((run) => ({
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: {
          name: `${parent.metadata.name}-${run}`,
          labels: { "example.com/hour": String(run) },
        },
        spec: {
          template: {
            spec: {
              restartPolicy: "Never",
              containers: [
                { name: "greet", image: "busybox:1.36", args: ["echo", parent.spec.name] },
              ],
            },
          },
        },
      })),
      // Look again at the next hour, even if nothing changes.
      requeueAfterMs: (hour + 1) * hourMs - now.getTime(),
    };
  },
});
