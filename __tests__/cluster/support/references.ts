/**
 * What the render's objects point at, resolved on the server after the controllers made the Pods:
 * every Pod's ServiceAccount, ConfigMaps, Secrets (with the keys read), claims and SecretProviderClasses
 * exist; every Service, NetworkPolicy and PodDisruptionBudget selects a Pod, and a Service's named
 * target ports are ports of the Pods it selects; every autoscaler's target exists. Secrets that a cert-manager Certificate on the server will write count as present (no
 * cert-manager runs here); the Certificate must exist. Likewise the ConfigMap and Secret a trust-manager
 * Bundle on the server writes in each namespace its namespaceSelector selects (no trust-manager runs
 * here either), named after the Bundle (charts/certificates/ca-bundle.ts).
 */
import type { Cluster } from './cluster';

type Json = Record<string, any>;

const key = (namespace: string, name: string) => `${namespace}/${name}`;

function selects(selector: Json | undefined, labels: Json = {}): boolean {
  if (!selector) return false;
  const matchLabels: Json = selector.matchLabels ?? (selector.matchExpressions ? {} : selector);
  if (!Object.entries(matchLabels).every(([k, v]) => labels[k] === v)) return false;
  return (selector.matchExpressions ?? []).every((e: Json) => {
    const has = e.key in labels;
    if (e.operator === 'In') return has && e.values.includes(labels[e.key]);
    if (e.operator === 'NotIn') return !has || !e.values.includes(labels[e.key]);
    if (e.operator === 'Exists') return has;
    if (e.operator === 'DoesNotExist') return !has;
    return false;
  });
}

interface Ref {
  readonly kind: 'ConfigMap' | 'Secret' | 'PersistentVolumeClaim' | 'SecretProviderClass';
  readonly name: string;
  readonly key?: string;
  readonly optional?: boolean;
  readonly where: string;
}

function podReferences(pod: Json): Ref[] {
  const spec = pod.spec;
  const refs: Ref[] = [];
  for (const v of spec.volumes ?? []) {
    const where = `volume ${v.name}`;
    if (v.configMap) refs.push({ kind: 'ConfigMap', name: v.configMap.name, optional: v.configMap.optional, where });
    if (v.secret) refs.push({ kind: 'Secret', name: v.secret.secretName, optional: v.secret.optional, where });
    if (v.persistentVolumeClaim) refs.push({ kind: 'PersistentVolumeClaim', name: v.persistentVolumeClaim.claimName, where });
    if (v.csi?.volumeAttributes?.secretProviderClass) refs.push({ kind: 'SecretProviderClass', name: v.csi.volumeAttributes.secretProviderClass, where });
    for (const s of v.projected?.sources ?? []) {
      if (s.configMap) refs.push({ kind: 'ConfigMap', name: s.configMap.name, optional: s.configMap.optional, where });
      if (s.secret) refs.push({ kind: 'Secret', name: s.secret.name, optional: s.secret.optional, where });
    }
  }
  for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
    const where = `container ${c.name}`;
    for (const e of c.env ?? []) {
      const cm = e.valueFrom?.configMapKeyRef;
      const sec = e.valueFrom?.secretKeyRef;
      if (cm) refs.push({ kind: 'ConfigMap', name: cm.name, key: cm.key, optional: cm.optional, where: `${where} env ${e.name}` });
      if (sec) refs.push({ kind: 'Secret', name: sec.name, key: sec.key, optional: sec.optional, where: `${where} env ${e.name}` });
    }
    for (const e of c.envFrom ?? []) {
      if (e.configMapRef) refs.push({ kind: 'ConfigMap', name: e.configMapRef.name, optional: e.configMapRef.optional, where });
      if (e.secretRef) refs.push({ kind: 'Secret', name: e.secretRef.name, optional: e.secretRef.optional, where });
    }
  }
  for (const s of spec.imagePullSecrets ?? []) refs.push({ kind: 'Secret', name: s.name, where: 'imagePullSecrets' });
  return refs;
}

export interface ReferenceReport {
  /** References that do not resolve, one line each. */
  readonly broken: string[];
  /** Selectors that select no Pod, one line each. */
  readonly selectNothing: string[];
  /** Namespace-wide NetworkPolicies (empty podSelector) in a namespace without Pods: they select nothing by design. */
  readonly namespaceWideWithoutPods: string[];
  /** Secrets that exist only once cert-manager has issued their Certificate. */
  readonly issuedByCertManager: string[];
  /** ConfigMaps and Secrets that exist only once trust-manager has synced their Bundle. */
  readonly writtenByTrustManager: string[];
}

export async function checkReferences(cluster: Cluster): Promise<ReferenceReport> {
  const [pods, configMaps, secrets, claims, accounts, certificates, providers, services, policies, budgets, autoscalers] = await Promise.all([
    cluster.list('pods'),
    cluster.list('configmaps'),
    cluster.list('secrets'),
    cluster.list('persistentvolumeclaims'),
    cluster.list('serviceaccounts'),
    cluster.list('certificates.cert-manager.io').catch(() => []),
    cluster.list('secretproviderclasses.secrets-store.csi.x-k8s.io').catch(() => []),
    cluster.list('services'),
    cluster.list('networkpolicies'),
    cluster.list('poddisruptionbudgets'),
    cluster.list('horizontalpodautoscalers'),
  ]);
  const [bundles, namespaces] = await Promise.all([cluster.list('bundles.trust.cert-manager.io').catch(() => []), cluster.list('namespaces')]);
  // kind/namespace/name -> Bundle, for every target a Bundle's namespaceSelector selects.
  const synced = new Map<string, string>();
  for (const b of bundles)
    for (const n of namespaces)
      if (!b.spec.target?.namespaceSelector || selects(b.spec.target.namespaceSelector, n.metadata.labels))
        for (const kind of ['ConfigMap', 'Secret'] as const)
          if (b.spec.target?.[kind === 'ConfigMap' ? 'configMap' : 'secret']) synced.set(`${kind}/${key(n.metadata.name, b.metadata.name)}`, b.metadata.name);
  const index = (items: Json[]) => new Map(items.map((o) => [key(o.metadata.namespace, o.metadata.name), o]));
  const found = { ConfigMap: index(configMaps), Secret: index(secrets), PersistentVolumeClaim: index(claims), SecretProviderClass: index(providers) };
  const issued = new Map(certificates.map((c) => [key(c.metadata.namespace, c.spec.secretName), c.metadata.name]));
  const report: ReferenceReport = { broken: [], selectNothing: [], namespaceWideWithoutPods: [], issuedByCertManager: [], writtenByTrustManager: [] };

  for (const pod of pods) {
    const ns = pod.metadata.namespace;
    const podId = `Pod ${ns}/${pod.metadata.generateName ?? pod.metadata.name}`;
    if (!accounts.some((a) => a.metadata.namespace === ns && a.metadata.name === (pod.spec.serviceAccountName ?? 'default')))
      report.broken.push(`${podId}: ServiceAccount ${pod.spec.serviceAccountName} does not exist`);
    for (const r of podReferences(pod)) {
      if (r.optional) continue;
      const object = found[r.kind].get(key(ns, r.name));
      if (!object && r.kind === 'Secret' && issued.has(key(ns, r.name))) {
        report.issuedByCertManager.push(`${ns}/${r.name} (Certificate ${issued.get(key(ns, r.name))})`);
        continue;
      }
      if (!object && (r.kind === 'ConfigMap' || r.kind === 'Secret') && synced.has(`${r.kind}/${key(ns, r.name)}`)) {
        report.writtenByTrustManager.push(`${r.kind} ${ns}/${r.name} (Bundle ${synced.get(`${r.kind}/${key(ns, r.name)}`)})`);
        continue;
      }
      if (!object) report.broken.push(`${podId} ${r.where}: ${r.kind} ${ns}/${r.name} does not exist`);
      else if (r.key && !(r.key in (object.data ?? {}))) report.broken.push(`${podId} ${r.where}: ${r.kind} ${ns}/${r.name} has no key ${r.key}`);
    }
  }

  const podsIn = (ns: string) => pods.filter((p) => p.metadata.namespace === ns);
  for (const s of services) {
    if (!s.spec.selector || s.metadata.name === 'kubernetes') continue;
    const selected = podsIn(s.metadata.namespace).filter((p) => selects(s.spec.selector, p.metadata.labels));
    if (selected.length === 0) report.selectNothing.push(`Service ${s.metadata.namespace}/${s.metadata.name}`);
    // A port named in targetPort must be a container port of every selected Pod, or that Pod gets no traffic on it.
    for (const port of s.spec.ports ?? []) {
      if (typeof port.targetPort !== 'string') continue;
      for (const p of selected.filter(
        (pod) =>
          ![...(pod.spec.initContainers ?? []), ...pod.spec.containers].some((c: Json) => (c.ports ?? []).some((cp: Json) => cp.name === port.targetPort)),
      ))
        report.broken.push(
          `Service ${s.metadata.namespace}/${s.metadata.name} port ${port.name ?? port.port}: Pod ${p.metadata.generateName ?? p.metadata.name} has no container port named ${port.targetPort}`,
        );
    }
  }
  for (const np of policies) {
    const ns = np.metadata.namespace;
    const wide = Object.keys(np.spec.podSelector ?? {}).length === 0;
    if (wide && podsIn(ns).length === 0) report.namespaceWideWithoutPods.push(`NetworkPolicy ${ns}/${np.metadata.name}`);
    else if (!podsIn(ns).some((p) => wide || selects(np.spec.podSelector, p.metadata.labels)))
      report.selectNothing.push(`NetworkPolicy ${ns}/${np.metadata.name}`);
  }
  for (const b of budgets) {
    if (!podsIn(b.metadata.namespace).some((p) => selects(b.spec.selector, p.metadata.labels)))
      report.selectNothing.push(`PodDisruptionBudget ${b.metadata.namespace}/${b.metadata.name}`);
  }
  for (const h of autoscalers) {
    const t = h.spec.scaleTargetRef;
    const r = await cluster.run(['get', '-n', h.metadata.namespace, `${t.kind.toLowerCase()}.${t.apiVersion.split('/')[0]}/${t.name}`, '-o', 'name']);
    if (r.code !== 0) report.broken.push(`HorizontalPodAutoscaler ${h.metadata.namespace}/${h.metadata.name}: target ${t.kind} ${t.name} does not exist`);
  }
  report.issuedByCertManager.sort();
  report.issuedByCertManager.splice(0, report.issuedByCertManager.length, ...new Set(report.issuedByCertManager));
  return report;
}
