/**
 * Availability: PodDisruptionBudgets for replicated workloads that still let a node drain, and
 * spreading of replicas across nodes or zones.
 */
import { PodTemplate, PolicySet, selectorMatches } from '../model';
import type { Json, SourceObject } from '../types';
import type { Rule } from '../rule';

const REPLICATED = ['Deployment', 'StatefulSet'];

/** Replica range of a workload: its HPA's min/max when one targets it, else spec.replicas. */
export function replicaRange(set: PolicySet, object: SourceObject): { min: number; max: number } {
  const m = object.manifest;
  const hpa = set
    .ofKind('HorizontalPodAutoscaler')
    .find(
      (h) =>
        (h.manifest.metadata?.namespace ?? '') === (m.metadata?.namespace ?? '') &&
        h.manifest.spec?.scaleTargetRef?.kind === m.kind &&
        h.manifest.spec?.scaleTargetRef?.name === m.metadata?.name,
    );
  if (hpa) return { min: hpa.manifest.spec?.minReplicas ?? 1, max: hpa.manifest.spec?.maxReplicas ?? 1 };
  const r = typeof m.spec?.replicas === 'number' ? m.spec.replicas : 1;
  return { min: r, max: r };
}

function pdbsSelecting(set: PolicySet, t: PodTemplate): SourceObject[] {
  return set
    .ofKind('PodDisruptionBudget')
    .filter((p) => (p.manifest.metadata?.namespace ?? '') === t.namespace && selectorMatches(p.manifest.spec?.selector, t.labels));
}

/** Value of an int-or-percent against a replica count, rounded up as the disruption controller does. */
function scaled(value: unknown, replicas: number): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^\d+%$/.test(value)) return Math.ceil((parseInt(value, 10) * replicas) / 100);
  if (typeof value === 'string' && /^\d+$/.test(value)) return parseInt(value, 10);
  return undefined;
}

/** Disruptions a PDB allows when `replicas` healthy pods run. */
export function allowedDisruptions(pdbSpec: Json, replicas: number): number | undefined {
  if (pdbSpec.maxUnavailable !== undefined) {
    const v = scaled(pdbSpec.maxUnavailable, replicas);
    return v === undefined ? undefined : Math.min(v, replicas);
  }
  if (pdbSpec.minAvailable !== undefined) {
    const v = scaled(pdbSpec.minAvailable, replicas);
    return v === undefined ? undefined : Math.max(0, replicas - v);
  }
  return undefined;
}

function spreads(t: PodTemplate): boolean {
  const tsc: Json[] = Array.isArray(t.spec.topologySpreadConstraints) ? t.spec.topologySpreadConstraints : [];
  if (tsc.some((c) => c?.topologyKey && selectorMatches(c.labelSelector, t.labels))) return true;
  const anti = t.spec.affinity?.podAntiAffinity ?? {};
  const terms: Json[] = [
    ...(anti.requiredDuringSchedulingIgnoredDuringExecution ?? []),
    ...(anti.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((p: Json) => p?.podAffinityTerm),
  ];
  return terms.some((term) => term?.topologyKey && selectorMatches(term.labelSelector, t.labels));
}

export const availabilityRules: Rule[] = [
  {
    id: 'availability.pdb',
    severity: 'error',
    requires: 'A Deployment or StatefulSet that runs 2 or more replicas (its HPA minimum, if any) is selected by a PodDisruptionBudget.',
    sources: ['kube-score', 'Polaris'],
    check: function* (set) {
      for (const t of set.templates) {
        if (!REPLICATED.includes(t.kind)) continue;
        const { min } = replicaRange(set, t.object);
        if (min >= 2 && pdbsSelecting(set, t).length === 0)
          yield {
            object: t.object,
            path: 'spec.replicas',
            message: `${min} replicas and no PodDisruptionBudget selects the pods`,
            fix: 'add a PodDisruptionBudget with maxUnavailable: 1 selecting the pod labels',
          };
      }
    },
  },
  {
    id: 'availability.pdb-allows-drain',
    severity: 'error',
    requires:
      'A PodDisruptionBudget allows at least one disruption at the minimum replica count of every workload it selects (never maxUnavailable 0, minAvailable 100%, or minAvailable 1 at one replica).',
    sources: ['kube-linter', 'Polaris'],
    check: function* (set) {
      for (const p of set.ofKind('PodDisruptionBudget')) {
        const spec = p.manifest.spec ?? {};
        const field = spec.maxUnavailable !== undefined ? 'maxUnavailable' : spec.minAvailable !== undefined ? 'minAvailable' : undefined;
        if (!field) continue;
        if (allowedDisruptions(spec, 1000) === 0) {
          yield {
            object: p,
            path: `spec.${field}`,
            message: `${field}: ${spec[field]} never allows a disruption: node drains block forever`,
            fix: 'use maxUnavailable: 1',
          };
          continue;
        }
        for (const t of set.templates) {
          if (t.namespace !== (p.manifest.metadata?.namespace ?? '') || !selectorMatches(spec.selector, t.labels)) continue;
          if (!REPLICATED.includes(t.kind) && t.kind !== 'ReplicaSet') continue;
          const { min } = replicaRange(set, t.object);
          if (allowedDisruptions(spec, min) === 0)
            yield {
              object: p,
              path: `spec.${field}`,
              message: `${field}: ${spec[field]} allows no disruption of ${t.kind} ${t.object.manifest.metadata?.name} at ${min} replica(s): node drains block`,
              fix: 'use maxUnavailable: 1, or no PDB for a single replica',
            };
        }
      }
    },
  },
  {
    id: 'availability.pdb-policy',
    severity: 'error',
    requires: 'A PodDisruptionBudget sets minAvailable or maxUnavailable.',
    sources: ['kube-score'],
    check: function* (set) {
      for (const p of set.ofKind('PodDisruptionBudget')) {
        const spec = p.manifest.spec ?? {};
        if (spec.minAvailable === undefined && spec.maxUnavailable === undefined)
          yield { object: p, path: 'spec', message: 'PodDisruptionBudget sets neither minAvailable nor maxUnavailable', fix: 'set spec.maxUnavailable: 1' };
      }
    },
  },
  {
    id: 'availability.pdb-eviction-policy',
    severity: 'warning',
    requires: 'A PodDisruptionBudget sets `unhealthyPodEvictionPolicy` explicitly (AlwaysAllow lets drains evict crash-looping pods).',
    sources: ['kube-linter'],
    check: function* (set) {
      for (const p of set.ofKind('PodDisruptionBudget'))
        if (p.manifest.spec?.unhealthyPodEvictionPolicy === undefined)
          yield {
            object: p,
            path: 'spec.unhealthyPodEvictionPolicy',
            message: 'unhealthyPodEvictionPolicy is not set',
            fix: 'set spec.unhealthyPodEvictionPolicy: AlwaysAllow',
          };
    },
  },
  {
    id: 'availability.pdb-targets-pod',
    severity: 'warning',
    requires: 'A PodDisruptionBudget selects pods of some workload in the set.',
    sources: ['kube-score'],
    check: function* (set) {
      for (const p of set.ofKind('PodDisruptionBudget')) {
        const ns = p.manifest.metadata?.namespace ?? '';
        if (!set.templatesIn(ns).some((t) => selectorMatches(p.manifest.spec?.selector, t.labels)))
          yield {
            object: p,
            path: 'spec.selector',
            message: 'PodDisruptionBudget selects no pod in the set',
            fix: 'make spec.selector match the pod template labels',
          };
      }
    },
  },
  {
    id: 'availability.spread',
    severity: 'error',
    requires:
      'A Deployment or StatefulSet that runs 2 or more replicas spreads them: topologySpreadConstraints or podAntiAffinity whose selector matches its own pods.',
    sources: ['kube-score', 'kube-linter', 'Polaris'],
    check: function* (set) {
      for (const t of set.templates) {
        if (!REPLICATED.includes(t.kind)) continue;
        const { min } = replicaRange(set, t.object);
        if (min >= 2 && !spreads(t))
          yield {
            object: t.object,
            path: `${t.specPath}.topologySpreadConstraints`,
            message: `${min} replicas with no topology spread or anti-affinity on their own labels`,
            fix: 'add topologySpreadConstraints (zone, hostname) with a labelSelector of the pod labels',
          };
      }
    },
  },
];
