/**
 * An operator module for tests that run `operon run` in a child process: each Bundle gets a
 * ConfigMap and a Secret. The namespace and the operator name come from the environment so
 * concurrent tests do not meet.
 */
import { ConfigMap, Secret } from "../../resources/index.ts";
import { defineOperator } from "../declaration.ts";
import { Bundle } from "./bundle.ts";

const delayMs = Number(process.env.BUNDLE_SYNC_DELAY_MS ?? 0);

export default defineOperator({
  name: process.env.BUNDLE_OPERATOR_NAME ?? "bundle",
  parent: Bundle,
  ...(process.env.BUNDLE_NAMESPACE ? { namespace: process.env.BUNDLE_NAMESPACE } : {}),
  children: { configMaps: ConfigMap, secrets: Secret },
  async sync({ parent, children, signal }) {
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    signal.throwIfAborted();
    const name = parent.metadata.name!;
    const data = parent.spec.data ?? {};
    return {
      status: {
        keys: Object.keys(data).length,
        note: `${children.configMaps.size + children.secrets.size} children`,
      },
      children: [
        { apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data },
        {
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name },
          data: Object.fromEntries(
            Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString("base64")]),
          ),
        },
      ],
    };
  },
});
