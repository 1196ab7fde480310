/**
 * The checked set as rules see it: every object, every pod template with the path it sits at, and
 * indexes for the cross-object rules (references, selectors, PDBs, NetworkPolicies).
 */
import { EXTERNAL_SECRETS_ANNOTATION, POLICY_ANNOTATION_PREFIX } from '../common/contract';
import type { ExternalDeclarations, Json, SourceObject } from './types';

export const ANNOTATION_PREFIX = POLICY_ANNOTATION_PREFIX;
/** Per object and rule: `policy.mlflow-gke.io/exempt.<rule-id>: "<reason>"`. */
export const EXEMPT_PREFIX = `${ANNOTATION_PREFIX}exempt.`;
/** On a workload: Secrets it references that are created out of band, `a,b`. */
export { EXTERNAL_SECRETS_ANNOTATION };

/** Built-in and platform kinds that are cluster-scoped; everything else is taken as namespaced. */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'Node',
  'PersistentVolume',
  'StorageClass',
  'VolumeAttachment',
  'CSIDriver',
  'CSINode',
  'ClusterRole',
  'ClusterRoleBinding',
  'PriorityClass',
  'RuntimeClass',
  'IngressClass',
  'CustomResourceDefinition',
  'APIService',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
  'PodSecurityPolicy',
  'FlowSchema',
  'PriorityLevelConfiguration',
  'CertificateSigningRequest',
  'ClusterPodMonitoring',
  'ClusterRules',
  'ClusterNodeMonitoring',
  'ConfigConnector',
  'ConfigConnectorContext',
  // cert-manager (cert-manager v1.21.1 deploy/crds/cert-manager.io_clusterissuers.yaml: scope Cluster).
  'ClusterIssuer',
  // trust-manager (v0.24.0 pkg/apis/trust/v1alpha1/types_bundle.go: +kubebuilder:resource:scope=Cluster).
  'Bundle',
]);

export function isClusterScoped(kind: string): boolean {
  return CLUSTER_SCOPED.has(kind);
}

/** A pod template (or a bare Pod's spec) inside an object. */
export interface PodTemplate {
  readonly object: SourceObject;
  readonly kind: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly spec: Json;
  /** Path of the pod spec, e.g. `spec.template.spec`. */
  readonly specPath: string;
  /** Path of the pod metadata, e.g. `spec.template.metadata`. */
  readonly metaPath: string;
  /** Pods restarted forever (not Job/CronJob pods, not run-once Pods). */
  readonly longRunning: boolean;
}

export interface ContainerAt {
  readonly container: Json;
  readonly path: string;
  readonly list: 'initContainers' | 'containers' | 'ephemeralContainers';
}

const TEMPLATE_PATHS: Record<string, string> = {
  Deployment: 'spec.template',
  StatefulSet: 'spec.template',
  DaemonSet: 'spec.template',
  ReplicaSet: 'spec.template',
  ReplicationController: 'spec.template',
  Job: 'spec.template',
  CronJob: 'spec.jobTemplate.spec.template',
};

export const WORKLOAD_KINDS = Object.keys(TEMPLATE_PATHS);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a value at a path of untyped JSON
export function get(obj: unknown, path: string): any {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- walks untyped JSON
  let cur: any = obj;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = cur[key];
  }
  return cur;
}

export function podTemplateOf(object: SourceObject): PodTemplate | undefined {
  const m = object.manifest;
  const namespace = namespaceOf(m);
  if (m.kind === 'Pod') {
    if (!m.spec) return undefined;
    const restart = m.spec.restartPolicy ?? 'Always';
    return {
      object,
      kind: m.kind,
      namespace,
      labels: m.metadata?.labels ?? {},
      annotations: m.metadata?.annotations ?? {},
      spec: m.spec,
      specPath: 'spec',
      metaPath: 'metadata',
      longRunning: restart === 'Always',
    };
  }
  const at = TEMPLATE_PATHS[m.kind];
  if (!at) return undefined;
  const template = get(m, at);
  if (!template?.spec) return undefined;
  return {
    object,
    kind: m.kind,
    namespace,
    labels: template.metadata?.labels ?? {},
    annotations: template.metadata?.annotations ?? {},
    spec: template.spec,
    specPath: `${at}.spec`,
    metaPath: `${at}.metadata`,
    longRunning: m.kind !== 'Job' && m.kind !== 'CronJob',
  };
}

export function containersAt(t: PodTemplate, lists: readonly ContainerAt['list'][] = ['initContainers', 'containers', 'ephemeralContainers']): ContainerAt[] {
  const out: ContainerAt[] = [];
  for (const list of lists) {
    const items = t.spec[list];
    if (!Array.isArray(items)) continue;
    items.forEach((container, i) => out.push({ container: container ?? {}, path: `${t.specPath}.${list}[${i}]`, list }));
  }
  return out;
}

/** Containers that run a workload's processes: init and main, not debugging ephemeral ones. */
export function workContainers(t: PodTemplate): ContainerAt[] {
  return containersAt(t, ['initContainers', 'containers']);
}

export function namespaceOf(m: Json): string {
  return m?.metadata?.namespace ?? '';
}

export function describeObject(m: Json): string {
  const ns = namespaceOf(m);
  return `${m?.kind ?? '?'}/${ns ? `${ns}/` : ''}${m?.metadata?.name ?? '?'}`;
}

export interface LabelSelector {
  readonly matchLabels?: Record<string, string>;
  readonly matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** Kubernetes label-selector semantics; an empty selector selects everything. */
export function selectorMatches(selector: LabelSelector | undefined | null, labels: Readonly<Record<string, string>>): boolean {
  if (!selector) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== String(v)) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const values = (e.values ?? []).map(String);
    switch (e.operator) {
      case 'In':
        if (!has || !values.includes(labels[e.key])) return false;
        break;
      case 'NotIn':
        if (has && values.includes(labels[e.key])) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** A Service's plain `selector` map: matches when every pair is among the labels. */
export function mapSelectorMatches(selector: Record<string, string>, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === String(v));
}

function globMatch(pattern: string, value: string): boolean {
  return pattern === '*' || pattern === value;
}

export class PolicySet {
  readonly templates: PodTemplate[];
  private readonly byKey = new Map<string, SourceObject>();
  private readonly byKind = new Map<string, SourceObject[]>();
  private readonly externalNamespaces: Set<string>;
  private readonly externalObjects: string[][];

  constructor(
    readonly objects: readonly SourceObject[],
    external: ExternalDeclarations = {},
  ) {
    this.templates = [];
    for (const o of objects) {
      const m = o.manifest;
      const kind = String(m.kind ?? '');
      this.byKey.set(key(kind, namespaceOf(m), m.metadata?.name ?? ''), o);
      const list = this.byKind.get(kind) ?? [];
      list.push(o);
      this.byKind.set(kind, list);
      const t = podTemplateOf(o);
      if (t) this.templates.push(t);
    }
    this.externalNamespaces = new Set(external.namespaces ?? []);
    this.externalObjects = (external.objects ?? []).map((p) => p.split('/'));
  }

  ofKind(kind: string): readonly SourceObject[] {
    return this.byKind.get(kind) ?? [];
  }

  find(kind: string, namespace: string, name: string): SourceObject | undefined {
    return this.byKey.get(key(kind, namespace, name));
  }

  /** The object is declared external by `--external Kind/namespace/name` (globs allowed). */
  isDeclaredExternal(kind: string, namespace: string, name: string): boolean {
    if (kind === 'Namespace' && this.externalNamespaces.has(name)) return true;
    return this.externalObjects.some((p) => {
      if (kind === 'Namespace' || isClusterScoped(kind)) return p.length === 2 && globMatch(p[0], kind) && globMatch(p[1], name);
      return p.length === 3 && globMatch(p[0], kind) && globMatch(p[1], namespace) && globMatch(p[2], name);
    });
  }

  /** Present in the set or declared external. */
  resolves(kind: string, namespace: string, name: string): boolean {
    return this.find(kind, namespace, name) !== undefined || this.isDeclaredExternal(kind, namespace, name);
  }

  templatesIn(namespace: string): PodTemplate[] {
    return this.templates.filter((t) => t.namespace === namespace);
  }
}

function key(kind: string, namespace: string, name: string): string {
  return `${kind}\u0000${namespace}\u0000${name}`;
}
