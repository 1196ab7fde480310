/**
 * Warnings the API server gives on a render that are known and kept on purpose, each with its reason.
 * Every other warning fails the cluster tests. Nothing else in them may accept a warning.
 */
export const KNOWN_WARNINGS: readonly { readonly message: RegExp; readonly reason: string }[] = [
  {
    message: /^[^:]*: Warning: annotation "kubernetes\.io\/ingress\.class" is deprecated, please use 'spec\.ingressClassName' instead$/,
    reason:
      'GKE Ingress: the render names the class with the annotation, not spec.ingressClassName, because ingress-gce skips an Ingress that only names a class (charts/edge/entry.ts)',
  },
];

/** The warnings that KNOWN_WARNINGS does not explain. */
export function unexplainedWarnings(warnings: readonly string[]): string[] {
  return warnings.filter((w) => !KNOWN_WARNINGS.some((k) => k.message.test(w)));
}
