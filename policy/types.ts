/** The vocabulary of the policy gate: objects as read, rules, and the findings they produce. */

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- untyped JSON (rendered manifests), read at any depth
export type Json = Record<string, any>;

export type Severity = 'error' | 'warning';

/** One Kubernetes object as read from a file or stdin. */
export interface SourceObject {
  /** File it came from (`-` for stdin). */
  readonly file: string;
  /** 0-based position among the YAML documents of that file. */
  readonly doc: number;
  readonly manifest: Json;
}

/** Where a rule comes from; shown in docs/policy.md. */
export type RuleSource = 'PSS restricted' | 'PSS baseline' | 'kube-score' | 'kube-linter' | 'Polaris' | 'Kubernetes deprecation guide' | 'mlflow-gke design';

export interface RuleMeta {
  /** Stable id, usable in an exemption annotation: `policy.mlflow-gke.io/exempt.<id>`. */
  readonly id: string;
  readonly severity: Severity;
  /** What an object must do to pass, one sentence. */
  readonly requires: string;
  readonly sources: readonly RuleSource[];
}

/** A violation as a rule reports it; the engine adds the rule, severity and object identity. */
export interface Violation {
  readonly object: SourceObject;
  /** Dotted field path inside the object, with [i] for list items. */
  readonly path: string;
  /** What is wrong, one line. */
  readonly message: string;
  /** How to fix it, one line. */
  readonly fix: string;
  /** Overrides the rule's severity (used where the same check is an error or a warning by context). */
  readonly severity?: Severity;
}

export interface Finding {
  readonly rule: string;
  readonly severity: Severity;
  readonly file: string;
  readonly doc: number;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  readonly path: string;
  readonly message: string;
  readonly fix: string;
}

/** Objects that exist outside the checked set, so references to them resolve. */
export interface ExternalDeclarations {
  /** Namespaces that exist already (objects may live in them). */
  readonly namespaces?: readonly string[];
  /** `Kind/namespace/name` patterns; `*` matches any one segment, e.g. `Secret/mlflow/*`. */
  readonly objects?: readonly string[];
}
