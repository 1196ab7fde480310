/**
 * GitOps safety rules over a whole render (or an overlay's output), in one place: what must never be
 * pruned, which labels Flux owns, and which field changes the API server refuses on an existing object.
 */
import type { Manifest } from './render';

export const PRUNE_ANNOTATION = 'kustomize.toolkit.fluxcd.io/prune';
export const KCC_DELETION_POLICY = 'cnrm.cloud.google.com/deletion-policy';

/** Kubernetes kinds whose deletion loses data: a Namespace takes every claim in it along. */
export const STATEFUL_KUBERNETES_KINDS: readonly string[] = ['Namespace', 'PersistentVolumeClaim'];

/**
 * Config Connector kinds whose deletion loses data, or something that cannot be recreated as it was:
 * KMS key rings and keys can never be deleted, a static address or a network cannot be swapped under
 * everything that uses it, and deleting a `Service` disables the Google API for the whole project.
 * Each must never be pruned and must abandon its cloud resource when its object goes.
 */
export const STATEFUL_KCC_KINDS: readonly string[] = [
  'SQLInstance',
  'SQLDatabase',
  'StorageBucket',
  'KMSKeyRing',
  'KMSCryptoKey',
  'ContainerCluster',
  'ContainerNodePool',
  'ComputeNetwork',
  'ComputeSubnetwork',
  'ComputeAddress',
  'LoggingLogBucket',
  'SecretManagerSecret',
  'SecretManagerSecretVersion',
  'Service',
];

/**
 * Config Connector kinds that are recreated as they were if pruned (bindings, policies, alerting).
 * The operator's own kinds are here too: `ConfigConnector` and `ConfigConnectorContext` say how
 * Config Connector runs and which Google service account it acts as; deleting one stops
 * reconciliation but deletes no Google Cloud resource, and re-applying it resumes where it was.
 */
export const STATELESS_KCC_KINDS: readonly string[] = [
  'ConfigConnector',
  'ConfigConnectorContext',
  'ComputeRouter',
  'ComputeRouterNAT',
  'ComputeSecurityPolicy',
  'ComputeSSLPolicy',
  'IAMAuditConfig',
  'IAMPartialPolicy',
  'IAMPolicyMember',
  'IAMServiceAccount',
  'LoggingLogSink',
  'MonitoringAlertPolicy',
  'MonitoringDashboard',
  'MonitoringNotificationChannel',
  'MonitoringUptimeCheckConfig',
  'ServiceIdentity',
  'ServiceNetworkingConnection',
  'SQLUser',
];

/**
 * cert-manager kinds, which pruning may remove and re-applying recreates as they were: deleting a
 * Certificate leaves its Secret (cert-manager v1.21.1 defaults.go: defaultEnableCertificateOwnerRef =
 * false), so the CA's key pair survives a prune, and a re-applied CA Certificate (rotationPolicy Never)
 * takes up the same key again. The Secrets themselves are never in the render.
 */
export const STATELESS_CERT_MANAGER_KINDS: readonly string[] = ['ClusterIssuer', 'Issuer', 'Certificate'];

export function isKcc(o: Manifest): boolean {
  return typeof o.apiVersion === 'string' && o.apiVersion.split('/')[0].endsWith('.cnrm.cloud.google.com');
}

export function isStateful(o: Manifest): boolean {
  return STATEFUL_KUBERNETES_KINDS.includes(o.kind) || (isKcc(o) && STATEFUL_KCC_KINDS.includes(o.kind));
}

function id(o: Manifest): string {
  return `${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`;
}

/** Stateful objects without the prune opt-out (and, for Config Connector, without abandon). */
export function pruneProtectionViolations(objects: readonly Manifest[]): string[] {
  return objects.filter(isStateful).flatMap((o) => {
    const annotations = o.metadata?.annotations ?? {};
    const problems: string[] = [];
    if (annotations[PRUNE_ANNOTATION] !== 'disabled')
      problems.push(`${id(o)}: annotation ${PRUNE_ANNOTATION} is ${JSON.stringify(annotations[PRUNE_ANNOTATION])}, must be "disabled"`);
    if (isKcc(o) && annotations[KCC_DELETION_POLICY] !== 'abandon')
      problems.push(`${id(o)}: annotation ${KCC_DELETION_POLICY} is ${JSON.stringify(annotations[KCC_DELETION_POLICY])}, must be "abandon"`);
    return problems;
  });
}

/** Label keys under a Flux toolkit domain (kustomize.toolkit.fluxcd.io/name, ...): Flux sets them itself. */
export function isFluxOwnedLabel(key: string): boolean {
  const slash = key.indexOf('/');
  return slash > 0 && /(^|\.)toolkit\.fluxcd\.io$/.test(key.slice(0, slash));
}

/** Every label map anywhere in the object: its metadata, pod templates, job templates, claim templates. */
function labelMaps(node: unknown, path: string, out: { path: string; labels: Record<string, string> }[]): void {
  if (Array.isArray(node)) return node.forEach((n, i) => labelMaps(n, `${path}[${i}]`, out));
  if (node === null || typeof node !== 'object') return;
  for (const [key, value] of Object.entries(node)) {
    if (key === 'metadata' && value && typeof value === 'object' && (value as Manifest).labels)
      out.push({ path: `${path}.metadata.labels`, labels: (value as Manifest).labels });
    labelMaps(value, `${path}.${key}`, out);
  }
}

export function fluxLabelViolations(objects: readonly Manifest[]): string[] {
  return objects.flatMap((o) => {
    const maps: { path: string; labels: Record<string, string> }[] = [];
    labelMaps(o, '', maps);
    return maps.flatMap((m) =>
      Object.keys(m.labels)
        .filter(isFluxOwnedLabel)
        .map((k) => `${id(o)}: ${m.path.slice(1)} has Flux-owned label ${k}`),
    );
  });
}

/** JSON with sorted keys: kustomize re-sorts keys, which is no change. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Manifest)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/**
 * Fields the API server refuses to change on an existing object. Applying `after` over `before`
 * fails for every object that keeps its identity but changes one of them.
 */
const IMMUTABLE_FIELDS: Record<string, readonly ((o: Manifest) => unknown)[]> = {
  Job: [(o) => o.spec?.template, (o) => o.spec?.selector, (o) => o.spec?.completionMode],
  Deployment: [(o) => o.spec?.selector],
  DaemonSet: [(o) => o.spec?.selector],
  StatefulSet: [(o) => o.spec?.selector, (o) => o.spec?.serviceName, (o) => o.spec?.volumeClaimTemplates, (o) => o.spec?.podManagementPolicy],
  PersistentVolumeClaim: [(o) => o.spec?.storageClassName, (o) => o.spec?.accessModes, (o) => o.spec?.volumeName],
  StorageClass: [(o) => o.provisioner, (o) => o.parameters, (o) => o.reclaimPolicy, (o) => o.volumeBindingMode],
};

export function immutableFieldChanges(before: readonly Manifest[], after: readonly Manifest[]): string[] {
  const old = new Map(before.map((o) => [`${o.apiVersion}|${id(o)}`, o]));
  return after.flatMap((o) => {
    const previous = old.get(`${o.apiVersion}|${id(o)}`);
    const fields = IMMUTABLE_FIELDS[o.kind];
    if (!previous || !fields) return [];
    return fields.some((f) => canonical(f(previous)) !== canonical(f(o))) ? [`${id(o)}: an immutable field changed while the name stayed the same`] : [];
  });
}
