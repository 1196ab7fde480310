/**
 * The label contract: every object carries the app.kubernetes.io labels; selectors use only the
 * stable subset (name, instance, component), because selectors are immutable once applied.
 */
export const PART_OF = 'mlflow-gke';
export const MANAGED_BY = 'cdk8s';

export interface AppLabelsOptions {
  /** The application, e.g. `mlflow`, `jupyter`. */
  readonly name: string;
  /** The environment (config `environment`). */
  readonly instance: string;
  /** The role inside the application, e.g. `server`, `database`. */
  readonly component: string;
  /** Version of what runs, usually the image tag. */
  readonly version?: string;
}

/** Labels for selectors: stable across upgrades. */
export function selectorLabels(o: AppLabelsOptions): Record<string, string> {
  return {
    'app.kubernetes.io/name': o.name,
    'app.kubernetes.io/instance': o.instance,
    'app.kubernetes.io/component': o.component,
  };
}

/** The full label set for metadata and pod templates. */
export function appLabels(o: AppLabelsOptions): Record<string, string> {
  return {
    ...selectorLabels(o),
    'app.kubernetes.io/part-of': PART_OF,
    'app.kubernetes.io/managed-by': MANAGED_BY,
    ...(o.version ? { 'app.kubernetes.io/version': labelValue(o.version) } : {}),
  };
}

/** A string made valid as a label value (63 characters, alphanumeric ends). */
export function labelValue(value: string): string {
  return value
    .replace(/[^A-Za-z0-9_.-]/g, '-')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
}
