/**
 * Label selectors (`metav1.LabelSelector`) as matchers, with apimachinery's rules: `matchLabels`
 * and `matchExpressions` must all hold, `NotIn` and `DoesNotExist` match objects without the key,
 * and a malformed requirement is an error (not a selector that silently matches nothing).
 */
import type { LabelSelector, LabelSelectorRequirement } from "../resources/meta.ts";

/** Tests a label (or annotation) map. */
export type Matcher = (labels: Readonly<Record<string, string>> | undefined) => boolean;

/** A selector that cannot be used; the message says which requirement and why. */
export class SelectorError extends Error {
  override readonly name = "SelectorError";
}

export const matchEverything: Matcher = () => true;
export const matchNothing: Matcher = () => false;

function requirement(req: LabelSelectorRequirement): Matcher {
  const { key, operator } = req;
  const values = req.values ?? [];
  if (typeof key !== "string" || key === "") throw new SelectorError("a requirement has no key");
  switch (operator) {
    case "In":
    case "NotIn": {
      if (values.length === 0) {
        throw new SelectorError(
          `key "${key}": for 'in', 'notin' operators, values set can't be empty`,
        );
      }
      const set = new Set(values);
      return operator === "In"
        ? (labels) => labels?.[key] !== undefined && set.has(labels[key]!)
        : (labels) => labels?.[key] === undefined || !set.has(labels[key]!);
    }
    case "Exists":
    case "DoesNotExist":
      if (values.length > 0) {
        throw new SelectorError(
          `key "${key}": values set must be empty for exists and does not exist`,
        );
      }
      return operator === "Exists"
        ? (labels) => labels?.[key] !== undefined
        : (labels) => labels?.[key] === undefined;
    default:
      throw new SelectorError(`"${String(operator)}" is not a valid label selector operator`);
  }
}

/**
 * A matcher for a `LabelSelector`. A missing selector (`undefined`/`null`) matches `whenMissing`
 * (apimachinery: nothing; Metacontroller's rules often choose everything); an empty one (`{}`)
 * matches everything.
 *
 * @example
 * const matches = selectorMatcher({ matchLabels: { app: "web" } });
 * matches({ app: "web", tier: "a" }); // true
 */
export function selectorMatcher(
  selector: LabelSelector | null | undefined,
  whenMissing: Matcher = matchNothing,
): Matcher {
  if (selector === undefined || selector === null) return whenMissing;
  const tests: Matcher[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    tests.push((labels) => labels?.[key] === value);
  }
  for (const req of selector.matchExpressions ?? []) tests.push(requirement(req));
  if (tests.length === 0) return matchEverything;
  if (tests.length === 1) return tests[0]!;
  return (labels) => tests.every((test) => test(labels));
}

/** True when the selector has neither `matchLabels` nor `matchExpressions`. */
export function isEmptySelector(selector: LabelSelector | null | undefined): boolean {
  return (
    !selector ||
    (Object.keys(selector.matchLabels ?? {}).length === 0 &&
      (selector.matchExpressions ?? []).length === 0)
  );
}
