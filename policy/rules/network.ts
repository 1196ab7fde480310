/**
 * Network: every pod isolated by NetworkPolicies for ingress and egress, Services and Ingresses
 * that reach pods, no NodePort, HTTPS on every Ingress.
 */
import { mapSelectorMatches, PodTemplate, PolicySet, selectorMatches } from '../model';
import type { Json } from '../types';
import type { Rule } from '../rule';

/** policyTypes as the API server defaults them: Ingress always, Egress when egress rules exist. */
export function policyTypes(spec: Json): string[] {
  if (Array.isArray(spec?.policyTypes) && spec.policyTypes.length > 0) return spec.policyTypes;
  return spec?.egress ? ['Ingress', 'Egress'] : ['Ingress'];
}

export function servicePods(set: PolicySet, service: Json): PodTemplate[] {
  const selector = service.spec?.selector;
  if (!selector || Object.keys(selector).length === 0) return [];
  return set.templatesIn(service.metadata?.namespace ?? '').filter((t) => mapSelectorMatches(selector, t.labels));
}

export const networkRules: Rule[] = [
  {
    id: 'network.policy-coverage',
    severity: 'error',
    requires:
      'Every pod is selected by a NetworkPolicy of its namespace with policy type Ingress and by one with Egress (a namespace-wide default-deny counts).',
    sources: ['kube-score', 'kube-linter', 'Polaris', 'mlflow-gke design'],
    check: function* (set) {
      const policies = set.ofKind('NetworkPolicy');
      for (const t of set.templates) {
        const types = new Set<string>();
        for (const p of policies)
          if ((p.manifest.metadata?.namespace ?? '') === t.namespace && selectorMatches(p.manifest.spec?.podSelector ?? {}, t.labels))
            for (const type of policyTypes(p.manifest.spec)) types.add(type);
        for (const type of ['Ingress', 'Egress'])
          if (!types.has(type))
            yield {
              object: t.object,
              path: `${t.metaPath}.labels`,
              message: `no NetworkPolicy in namespace "${t.namespace}" restricts ${type.toLowerCase()} of these pods`,
              fix: `add a NetworkPolicy with policyTypes [${type}] selecting them (or a default-deny with podSelector: {})`,
            };
      }
    },
  },
  {
    id: 'network.policy-targets-pod',
    severity: 'warning',
    requires: 'A NetworkPolicy with a non-empty podSelector selects some pod in the set.',
    sources: ['kube-score', 'kube-linter'],
    check: function* (set) {
      for (const p of set.ofKind('NetworkPolicy')) {
        const sel = p.manifest.spec?.podSelector ?? {};
        if (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0) continue;
        if (!set.templatesIn(p.manifest.metadata?.namespace ?? '').some((t) => selectorMatches(sel, t.labels)))
          yield {
            object: p,
            path: 'spec.podSelector',
            message: 'NetworkPolicy selects no pod in the set',
            fix: 'make spec.podSelector match pod template labels, or remove the policy',
          };
      }
    },
  },
  {
    id: 'service.selector',
    severity: 'error',
    requires: 'A Service with a selector selects the pods of some workload in its namespace.',
    sources: ['kube-score', 'kube-linter'],
    check: function* (set) {
      for (const s of set.ofKind('Service')) {
        const spec = s.manifest.spec ?? {};
        if (spec.type === 'ExternalName' || !spec.selector || Object.keys(spec.selector).length === 0) continue;
        if (servicePods(set, s.manifest).length === 0)
          yield {
            object: s,
            path: 'spec.selector',
            message: `selector ${JSON.stringify(spec.selector)} matches no pod template in namespace "${s.manifest.metadata?.namespace ?? ''}"`,
            fix: 'use the selector labels of the target pod template',
          };
      }
    },
  },
  {
    id: 'service.target-port',
    severity: 'error',
    requires: "A Service's named targetPort is a port name declared by the containers of the pods it selects.",
    sources: ['kube-linter'],
    check: function* (set) {
      for (const s of set.ofKind('Service')) {
        const pods = servicePods(set, s.manifest);
        if (pods.length === 0) continue;
        const ports: Json[] = s.manifest.spec?.ports ?? [];
        for (let i = 0; i < ports.length; i++) {
          const target = ports[i]?.targetPort;
          if (typeof target !== 'string' || /^\d+$/.test(target)) continue;
          const declared = pods.some((t) =>
            [...(t.spec.containers ?? []), ...(t.spec.initContainers ?? [])].some((c: Json) => (c.ports ?? []).some((p: Json) => p?.name === target)),
          );
          if (!declared)
            yield {
              object: s,
              path: `spec.ports[${i}].targetPort`,
              message: `targetPort "${target}" is not a container port name of the selected pods`,
              fix: 'name a declared container port, or use its number',
            };
        }
      }
    },
  },
  {
    id: 'service.node-port',
    severity: 'warning',
    requires: 'No Service of type NodePort (use ClusterIP behind the Ingress).',
    sources: ['kube-score'],
    check: function* (set) {
      for (const s of set.ofKind('Service'))
        if (s.manifest.spec?.type === 'NodePort')
          yield { object: s, path: 'spec.type', message: 'Service opens a port on every node', fix: 'use type ClusterIP' };
    },
  },
  {
    id: 'ingress.tls',
    severity: 'error',
    requires:
      'An Ingress terminates TLS: `spec.tls`, or the GKE annotations `networking.gke.io/managed-certificates` or `ingress.gcp.kubernetes.io/pre-shared-cert`.',
    sources: ['Polaris', 'mlflow-gke design'],
    check: function* (set) {
      for (const i of set.ofKind('Ingress')) {
        const a = i.manifest.metadata?.annotations ?? {};
        const tls = (i.manifest.spec?.tls ?? []).length > 0 || a['networking.gke.io/managed-certificates'] || a['ingress.gcp.kubernetes.io/pre-shared-cert'];
        if (!tls)
          yield {
            object: i,
            path: 'spec.tls',
            message: 'Ingress serves no certificate',
            fix: 'add a ManagedCertificate and annotation networking.gke.io/managed-certificates, or spec.tls',
          };
      }
    },
  },
];
