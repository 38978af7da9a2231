/**
 * A module with an operator, a validating and a mutating webhook, and a conversion between two
 * versions, for the tests of `operon generate` with webhooks. The API group and the operator's
 * name come from the environment, so concurrent tests do not meet.
 */
import { defineOperator } from "../../operator/declaration.ts";
import { ConfigMap, defineResource, Type } from "../../resources/index.ts";
import { defineConversion } from "../../webhook/conversion.ts";
import { mutatingWebhook, validatingWebhook } from "../../webhook/webhook.ts";

export const Widget = defineResource({
  group: process.env.WIDGET_GROUP ?? "widgets.operon.dev",
  kind: "Widget",
  plural: "widgets",
  scope: "Namespaced",
  versions: {
    v1: { spec: Type.Object({ size: Type.Integer() }), storage: true },
    v2: { spec: Type.Object({ dimensions: Type.Object({ size: Type.Integer() }) }) },
  },
});

export const widgetConversion = defineConversion(Widget, {
  hub: "v1",
  spokes: {
    v2: {
      toHub: ({ spec }) => ({ spec: { size: spec.dimensions.size } }),
      fromHub: ({ spec }) => ({ spec: { dimensions: { size: spec.size } } }),
    },
  },
});

export const validateWidget = validatingWebhook(Widget, {
  validate: ({ object }) => {
    if (object && object.spec.size > 10) return { allowed: false, reason: "at most 10" };
  },
});

export const defaultWidget = mutatingWebhook(Widget, {
  mutate: ({ object }) => {
    if (object) object.metadata.labels = { ...object.metadata.labels, sized: "yes" };
  },
});

export default defineOperator({
  name: process.env.WIDGET_OPERATOR ?? "widget",
  parent: Widget,
  children: { configMaps: ConfigMap },
  sync: ({ parent }) => ({
    children: [
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: parent.metadata.name! },
        data: { size: String(parent.spec.size) },
      },
    ],
  }),
});
