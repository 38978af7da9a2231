import { ConfigMap, Denied, Manager, mutatingWebhook, Pod, validatingWebhook } from "kube-operon";
import greeter, { Greeting } from "./greeting.ts";

// What the CRD schema cannot say: a rule across fields, and a field that may not change.
export const validateGreeting = validatingWebhook(Greeting, {
  validate({ operation, object, oldObject, warn }) {
    if (!object) return; // DELETE: nothing new to judge
    const { name, excited } = object.spec;
    if (excited && name === name.toUpperCase()) {
      return {
        allowed: false,
        reason: `Greeting ${object.metadata.name} is invalid`,
        causes: [{ field: "spec.excited", message: "a name in capitals is excited already" }],
      };
    }
    if (operation === "UPDATE" && oldObject.spec.name !== name) {
      throw new Denied(`spec.name cannot change (it was ${oldObject.spec.name})`);
    }
    if (name.length > 40) warn("names over 40 characters are cut in the ConfigMap");
  },
});

// Defaults that depend on other fields: Operon sends the JSON patch to the changed copy.
export const defaultGreeting = mutatingWebhook(Greeting, {
  mutate({ object }) {
    if (!object) return;
    object.metadata.labels = {
      ...object.metadata.labels,
      "example.com/tone": object.spec.excited ? "excited" : "calm",
    };
  },
});

// Built-in kinds too. A webhook on Pods must not stop the cluster when it is down, so it ignores
// its own failures, and it is scoped to the namespaces that ask for it. `cache` reads the
// manager's informer cache, so the lookup costs no API call.
export const requireTeam = validatingWebhook(Pod, {
  failurePolicy: "Ignore",
  namespaceSelector: { matchLabels: { "example.com/teams": "enforced" } },
  async validate({ object, namespace, cache }) {
    const team = object?.metadata.labels?.team;
    if (!object) return;
    if (!team) return { allowed: false, reason: "a Pod needs a team label" };
    if (!(await cache.get(ConfigMap, `team-${team}`, namespace))) {
      return { allowed: false, reason: `there is no team ${team} in ${namespace}` };
    }
  },
});

// The manager serves them over HTTPS beside the operator; `operon run --install-webhooks`
// registers them with the cluster for as long as it runs.
const manager = new Manager({
  webhookServer: { bindAddress: ":9443", install: Boolean(process.env.INSTALL_WEBHOOKS) },
});
manager.add(greeter, validateGreeting, defaultGreeting, requireTeam);
export const running = process.env.RUN_EXAMPLE ? manager.run() : undefined;
