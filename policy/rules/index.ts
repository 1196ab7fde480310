/** Every rule of the gate, in the order docs/policy.md lists them. */
import type { RuleMeta } from '../types';
import type { Rule } from '../rule';
import { apiVersionRules } from './api-versions';
import { availabilityRules } from './availability';
import { containerRules } from './containers';
import { networkRules } from './network';
import { podSecurityRules } from './pod-security';
import { referenceRules } from './references';
import { secretRules } from './secrets';

export const RULES: readonly Rule[] = [
  ...podSecurityRules,
  ...containerRules,
  ...availabilityRules,
  ...networkRules,
  ...referenceRules,
  ...secretRules,
  ...apiVersionRules,
];

/** Findings the engine itself raises: unreadable input and malformed exemptions. */
export const ENGINE_RULES: readonly RuleMeta[] = [
  {
    id: 'input.invalid',
    severity: 'error',
    requires: 'Every input document is valid YAML holding a Kubernetes object (apiVersion, kind, metadata.name) or a List of them.',
    sources: ['mlflow-gke design'],
  },
  {
    id: 'policy.exemption',
    severity: 'error',
    requires: 'Every exemption annotation `policy.mlflow-gke.io/exempt.<rule-id>` names an existing rule and gives a non-empty reason.',
    sources: ['mlflow-gke design'],
  },
];

export const ALL_RULE_IDS: ReadonlySet<string> = new Set([...RULES, ...ENGINE_RULES].map((r) => r.id));
