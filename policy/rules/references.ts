/**
 * Reference integrity: everything an object names resolves in the checked set, or is declared
 * external (`--external Kind/namespace/name`, `--external-namespace`, or for Secrets created out of
 * band the `policy.mlflow-gke.io/external-secrets` annotation on the referencing object).
 */
import { EXTERNAL_SECRETS_ANNOTATION, isClusterScoped, PodTemplate, PolicySet, workContainers } from '../model';
import type { Json, SourceObject, Violation } from '../types';
import type { Rule } from '../rule';

export interface Reference {
  readonly object: SourceObject;
  readonly kind: 'ConfigMap' | 'Secret' | 'PersistentVolumeClaim' | 'ServiceAccount';
  readonly namespace: string;
  readonly name: string;
  readonly path: string;
  readonly key?: string;
  readonly keyPath?: string;
}

/** Every ConfigMap, Secret, PVC and ServiceAccount a pod template names, optional ones excluded. */
export function templateReferences(t: PodTemplate): Reference[] {
  const out: Reference[] = [];
  const add = (kind: Reference['kind'], name: unknown, path: string, optional?: unknown, key?: unknown, keyPath?: string) => {
    if (typeof name !== 'string' || name === '' || optional === true) return;
    out.push({ object: t.object, kind, namespace: t.namespace, name, path, key: typeof key === 'string' ? key : undefined, keyPath });
  };
  const s = t.spec;
  (s.volumes ?? []).forEach((v: Json, i: number) => {
    const at = `${t.specPath}.volumes[${i}]`;
    add('ConfigMap', v?.configMap?.name, `${at}.configMap.name`, v?.configMap?.optional);
    add('Secret', v?.secret?.secretName, `${at}.secret.secretName`, v?.secret?.optional);
    add('PersistentVolumeClaim', v?.persistentVolumeClaim?.claimName, `${at}.persistentVolumeClaim.claimName`);
    (v?.projected?.sources ?? []).forEach((src: Json, j: number) => {
      add('ConfigMap', src?.configMap?.name, `${at}.projected.sources[${j}].configMap.name`, src?.configMap?.optional);
      add('Secret', src?.secret?.name, `${at}.projected.sources[${j}].secret.name`, src?.secret?.optional);
    });
  });
  for (const c of workContainers(t)) {
    (c.container.env ?? []).forEach((e: Json, i: number) => {
      const at = `${c.path}.env[${i}].valueFrom`;
      const cm = e?.valueFrom?.configMapKeyRef;
      const sec = e?.valueFrom?.secretKeyRef;
      add('ConfigMap', cm?.name, `${at}.configMapKeyRef.name`, cm?.optional, cm?.key, `${at}.configMapKeyRef.key`);
      add('Secret', sec?.name, `${at}.secretKeyRef.name`, sec?.optional, sec?.key, `${at}.secretKeyRef.key`);
    });
    (c.container.envFrom ?? []).forEach((e: Json, i: number) => {
      add('ConfigMap', e?.configMapRef?.name, `${c.path}.envFrom[${i}].configMapRef.name`, e?.configMapRef?.optional);
      add('Secret', e?.secretRef?.name, `${c.path}.envFrom[${i}].secretRef.name`, e?.secretRef?.optional);
    });
  }
  (s.imagePullSecrets ?? []).forEach((p: Json, i: number) => add('Secret', p?.name, `${t.specPath}.imagePullSecrets[${i}].name`));
  const sa = s.serviceAccountName ?? s.serviceAccount;
  // Every namespace has a `default` ServiceAccount.
  if (sa !== 'default') add('ServiceAccount', sa, `${t.specPath}.${s.serviceAccountName !== undefined ? 'serviceAccountName' : 'serviceAccount'}`);
  return out;
}

/** Secret references held by objects other than pods. */
function otherSecretReferences(o: SourceObject): Reference[] {
  const m = o.manifest;
  const ns = m.metadata?.namespace ?? '';
  const out: Reference[] = [];
  if (m.kind === 'Ingress')
    (m.spec?.tls ?? []).forEach((tls: Json, i: number) => {
      if (tls?.secretName) out.push({ object: o, kind: 'Secret', namespace: ns, name: tls.secretName, path: `spec.tls[${i}].secretName` });
    });
  if (m.kind === 'BackendConfig' && m.spec?.iap?.oauthclientCredentials?.secretName)
    out.push({
      object: o,
      kind: 'Secret',
      namespace: ns,
      name: m.spec.iap.oauthclientCredentials.secretName,
      path: 'spec.iap.oauthclientCredentials.secretName',
    });
  // Config Connector reads a built-in user's password "from the given Secret in the resource's
  // namespace" (SQLUser CRD, k8s-config-connector v1.155.1).
  const password = m.spec?.password?.valueFrom?.secretKeyRef;
  if (m.kind === 'SQLUser' && typeof password?.name === 'string')
    out.push({
      object: o,
      kind: 'Secret',
      namespace: ns,
      name: password.name,
      path: 'spec.password.valueFrom.secretKeyRef.name',
      key: password.key,
      keyPath: 'spec.password.valueFrom.secretKeyRef.key',
    });
  return out;
}

/** Secrets a referencing object declares as created out of band. */
export function declaredExternalSecrets(o: SourceObject): Set<string> {
  const value = o.manifest.metadata?.annotations?.[EXTERNAL_SECRETS_ANNOTATION];
  return new Set(
    String(value ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
}

/**
 * Secrets an object of the set makes: cert-manager writes a Certificate's key pair into the Secret
 * `spec.secretName` of the Certificate's namespace (cert-manager v1.21.1 CRD, Certificate.spec.secretName:
 * "Name of the Secret resource that will be automatically created and managed by this Certificate
 * resource"). Such a Secret is neither missing nor created out of band.
 */
export function madeSecrets(set: PolicySet): Set<string> {
  const made = new Set<string>();
  for (const o of set.ofKind('Certificate')) {
    const name = o.manifest.spec?.secretName;
    if (String(o.manifest.apiVersion ?? '').startsWith('cert-manager.io/') && typeof name === 'string')
      made.add(`${o.manifest.metadata?.namespace ?? ''}/${name}`);
  }
  return made;
}

/**
 * ConfigMaps and Secrets a trust-manager Bundle writes: one of each target kind, named after the
 * Bundle, in every namespace its `spec.target.namespaceSelector` selects (trust-manager v0.24.0
 * pkg/apis/trust/v1alpha1/types_bundle.go BundleTarget; pkg/bundle/bundle.go names the target after
 * the Bundle). A namespace's labels are those of its Namespace in the set plus
 * `kubernetes.io/metadata.name`, which the API server sets on every namespace; without a selector the
 * Bundle writes into every namespace of the set.
 */
export function bundleTargets(set: PolicySet, kind: 'ConfigMap' | 'Secret'): Set<string> {
  const made = new Set<string>();
  const field = kind === 'ConfigMap' ? 'configMap' : 'secret';
  const namespaces = set.ofKind('Namespace').map((n) => ({
    name: String(n.manifest.metadata?.name),
    labels: { ...(n.manifest.metadata?.labels ?? {}), 'kubernetes.io/metadata.name': String(n.manifest.metadata?.name) } as Record<string, string>,
  }));
  for (const o of set.ofKind('Bundle')) {
    const spec = o.manifest.spec;
    if (o.manifest.apiVersion !== 'trust.cert-manager.io/v1alpha1' || !spec?.target?.[field]) continue;
    for (const ns of namespaces) if (selects(spec.target.namespaceSelector, ns.labels)) made.add(`${ns.name}/${o.manifest.metadata?.name}`);
  }
  return made;
}

/** A Kubernetes LabelSelector (matchLabels and the In, NotIn, Exists, DoesNotExist expressions) against labels. */
interface LabelSelector {
  readonly matchLabels?: Record<string, string>;
  readonly matchExpressions?: readonly { readonly key: string; readonly operator: string; readonly values?: readonly string[] }[];
}

function selects(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  const byLabel = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpression = (selector.matchExpressions ?? []).every((e) => {
    const has = e.key in labels;
    if (e.operator === 'In') return has && (e.values ?? []).includes(labels[e.key]);
    if (e.operator === 'NotIn') return !has || !(e.values ?? []).includes(labels[e.key]);
    if (e.operator === 'Exists') return has;
    if (e.operator === 'DoesNotExist') return !has;
    return false;
  });
  return byLabel && byExpression;
}

function allReferences(set: PolicySet): Reference[] {
  return [...set.templates.flatMap(templateReferences), ...set.objects.flatMap(otherSecretReferences)];
}

/** A Secret the objects read but do not hold: created out of band, before they are applied. */
export interface OutOfBandSecret {
  readonly namespace: string;
  readonly name: string;
  /** Keys read from it (sorted); empty when it is mounted or read whole. */
  readonly keys: readonly string[];
  /** Objects that read it, as `Kind/name`. */
  readonly readers: readonly string[];
}

/** Every Secret the objects read that is not among them, in namespace and name order. */
export function outOfBandSecrets(objects: readonly SourceObject[]): OutOfBandSecret[] {
  const set = new PolicySet(objects);
  const found = new Map<string, { namespace: string; name: string; keys: Set<string>; readers: Set<string> }>();
  const made = new Set([...madeSecrets(set), ...bundleTargets(set, 'Secret')]);
  for (const r of allReferences(set)) {
    if (r.kind !== 'Secret' || set.find('Secret', r.namespace, r.name) || made.has(`${r.namespace}/${r.name}`)) continue;
    const id = `${r.namespace}/${r.name}`;
    const entry = found.get(id) ?? { namespace: r.namespace, name: r.name, keys: new Set<string>(), readers: new Set<string>() };
    if (r.key) entry.keys.add(r.key);
    entry.readers.add(`${r.object.manifest.kind}/${r.object.manifest.metadata?.name}`);
    found.set(id, entry);
  }
  return [...found.values()]
    .sort((a, b) => (a.namespace === b.namespace ? (a.name < b.name ? -1 : 1) : a.namespace < b.namespace ? -1 : 1))
    .map((e) => ({ namespace: e.namespace, name: e.name, keys: [...e.keys].sort(), readers: [...e.readers].sort() }));
}

const LABEL: Record<Reference['kind'], string> = { ConfigMap: 'configmap', Secret: 'secret', PersistentVolumeClaim: 'pvc', ServiceAccount: 'service-account' };

function referenceRule(kind: Reference['kind'], severity: 'error' | 'warning', requires: string, sources: Rule['sources']): Rule {
  return {
    id: `references.${LABEL[kind]}`,
    severity,
    requires,
    sources,
    check: function* (set) {
      const made =
        kind === 'Secret'
          ? new Set([...madeSecrets(set), ...bundleTargets(set, 'Secret')])
          : kind === 'ConfigMap'
            ? bundleTargets(set, 'ConfigMap')
            : new Set<string>();
      for (const r of allReferences(set)) {
        if (r.kind !== kind || set.resolves(kind, r.namespace, r.name) || made.has(`${r.namespace}/${r.name}`)) continue;
        if (kind === 'Secret' && declaredExternalSecrets(r.object).has(r.name)) continue;
        yield {
          object: r.object,
          path: r.path,
          message: `${kind} ${r.namespace}/${r.name} is not in the checked set`,
          fix:
            kind === 'Secret'
              ? `create it out of band and declare it: annotation ${EXTERNAL_SECRETS_ANNOTATION}: "${r.name}" on this object, or --external Secret/${r.namespace}/${r.name}`
              : `add the ${kind} to the set, fix the name, or declare it: --external ${kind}/${r.namespace}/${r.name}`,
        };
      }
    },
  };
}

function* missingTarget(set: PolicySet, o: SourceObject, kind: string, name: unknown, path: string): Iterable<Violation> {
  if (typeof name !== 'string' || name === '') return;
  const ns = o.manifest.metadata?.namespace ?? '';
  if (!set.resolves(kind, ns, name))
    yield {
      object: o,
      path,
      message: `${kind} ${ns}/${name} is not in the checked set`,
      fix: `add the ${kind}, fix the name, or declare it: --external ${kind}/${ns}/${name}`,
    };
}

export const referenceRules: Rule[] = [
  {
    id: 'objects.namespace',
    severity: 'warning',
    requires: 'Every namespaced object names its namespace explicitly, and not `default`.',
    sources: ['kube-linter'],
    check: function* (set) {
      for (const o of set.objects) {
        if (isClusterScoped(String(o.manifest.kind))) continue;
        const ns = o.manifest.metadata?.namespace;
        if (!ns || ns === 'default')
          yield {
            object: o,
            path: 'metadata.namespace',
            message: ns ? 'object lives in the default namespace' : 'namespaced object has no namespace',
            fix: 'set metadata.namespace to a dedicated namespace',
          };
      }
    },
  },
  {
    id: 'references.namespace',
    severity: 'error',
    requires:
      "A namespaced object's namespace is a Namespace in the set or declared external (`--external-namespace`, or `namespaces.external` of the `--config` file).",
    sources: ['mlflow-gke design'],
    check: function* (set) {
      for (const o of set.objects) {
        const ns = o.manifest.metadata?.namespace;
        if (!ns || isClusterScoped(String(o.manifest.kind))) continue;
        if (!set.resolves('Namespace', '', ns))
          yield {
            object: o,
            path: 'metadata.namespace',
            message: `namespace ${ns} is not in the checked set`,
            fix: `add the Namespace, or declare it: --external-namespace ${ns}`,
          };
      }
    },
  },
  referenceRule('ConfigMap', 'error', 'Every ConfigMap a pod mounts or reads (not marked optional) is in the set or declared external.', ['kube-linter']),
  {
    id: 'references.configmap-key',
    severity: 'error',
    requires: 'Every key read with configMapKeyRef exists in the ConfigMap when that ConfigMap is in the set.',
    sources: ['kube-linter'],
    check: function* (set) {
      for (const r of allReferences(set)) {
        if (r.kind !== 'ConfigMap' || !r.key || !r.keyPath) continue;
        const cm = set.find('ConfigMap', r.namespace, r.name)?.manifest;
        if (cm && !(r.key in (cm.data ?? {})) && !(r.key in (cm.binaryData ?? {})))
          yield {
            object: r.object,
            path: r.keyPath,
            message: `ConfigMap ${r.namespace}/${r.name} has no key ${r.key}`,
            fix: `use one of: ${Object.keys({ ...cm.data, ...cm.binaryData }).join(', ') || '(none)'}`,
          };
      }
    },
  },
  referenceRule(
    'Secret',
    'warning',
    'Every Secret referenced (pods, Ingress TLS, BackendConfig IAP) is in the set or declared external; Secrets are created out of band, so an undeclared one is a warning.',
    ['kube-linter', 'mlflow-gke design'],
  ),
  referenceRule(
    'PersistentVolumeClaim',
    'error',
    'Every PersistentVolumeClaim a pod mounts is in the set or declared external (StatefulSet claim templates need no entry).',
    ['mlflow-gke design'],
  ),
  referenceRule('ServiceAccount', 'error', 'Every ServiceAccount a pod runs as (other than `default`) is in the set or declared external.', ['kube-linter']),
  {
    id: 'references.statefulset-service',
    severity: 'error',
    requires: "A StatefulSet's serviceName names a headless Service (clusterIP: None) in the set or declared external.",
    sources: ['kube-score'],
    check: function* (set) {
      for (const o of set.ofKind('StatefulSet')) {
        const name = o.manifest.spec?.serviceName;
        if (!name) continue;
        const ns = o.manifest.metadata?.namespace ?? '';
        const svc = set.find('Service', ns, name);
        if (svc && svc.manifest.spec?.clusterIP !== 'None')
          yield { object: o, path: 'spec.serviceName', message: `Service ${ns}/${name} is not headless`, fix: `set clusterIP: None on Service ${name}` };
        else if (!svc) yield* missingTarget(set, o, 'Service', name, 'spec.serviceName');
      }
    },
  },
  {
    id: 'references.ingress-service',
    severity: 'error',
    requires: 'Every Service an Ingress routes to is in the set or declared external.',
    sources: ['kube-score'],
    check: function* (set) {
      for (const o of set.ofKind('Ingress')) {
        const spec = o.manifest.spec ?? {};
        yield* missingTarget(set, o, 'Service', spec.defaultBackend?.service?.name, 'spec.defaultBackend.service.name');
        for (const [i, rule] of (spec.rules ?? []).entries())
          for (const [j, p] of (rule?.http?.paths ?? []).entries())
            yield* missingTarget(set, o, 'Service', p?.backend?.service?.name, `spec.rules[${i}].http.paths[${j}].backend.service.name`);
      }
    },
  },
  {
    id: 'references.scale-target',
    severity: 'error',
    requires: "A HorizontalPodAutoscaler's scaleTargetRef is in the set or declared external.",
    sources: ['kube-score'],
    check: function* (set) {
      for (const o of set.ofKind('HorizontalPodAutoscaler')) {
        const ref = o.manifest.spec?.scaleTargetRef ?? {};
        if (ref.kind) yield* missingTarget(set, o, ref.kind, ref.name, 'spec.scaleTargetRef.name');
      }
    },
  },
];
