/**
 * YAML rendering of manifests, as `kubectl apply -f` reads them.
 */
import { stringify } from "yaml";

/**
 * Renders an object as YAML, or an array of objects as a multi-document stream (`---` between
 * documents).
 *
 * Strings that YAML 1.1 readers (such as kubectl's) would take for booleans, numbers or null, e.g.
 * `"on"`, `"no"`, `"0755"`, are quoted; repeated values are written out, never as anchors.
 *
 * @example
 * import { customResourceDefinition, toYaml } from "kube-operon";
 * await writeFile("config/crd/widgets.yaml", toYaml(customResourceDefinition(Widget)));
 */
export function toYaml(objects: unknown): string {
  const list = Array.isArray(objects) ? objects : [objects];
  return list
    .map((object) =>
      stringify(object, {
        version: "1.1",
        aliasDuplicateObjects: false,
        lineWidth: 0,
        indentSeq: true,
        defaultStringType: "PLAIN",
        defaultKeyType: "PLAIN",
      }),
    )
    .join("---\n");
}
