/** The flags every command that talks to a cluster shares, following kubectl. */
import type { Options } from "./command.ts";

export const kubeOptions = {
  kubeconfig: {
    type: "string",
    description: "Path of the kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)",
  },
  context: {
    type: "string",
    description: "The kubeconfig context to use (default: its current context)",
  },
} satisfies Options;

export function kubeFlags(values: Record<string, unknown>): {
  kubeconfig?: string;
  context?: string;
} {
  return {
    ...(typeof values.kubeconfig === "string" ? { kubeconfig: values.kubeconfig } : {}),
    ...(typeof values.context === "string" ? { context: values.context } : {}),
  };
}
