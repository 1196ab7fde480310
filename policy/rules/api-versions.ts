/**
 * API versions no longer served by GKE 1.31 and 1.32 (Kubernetes deprecated API migration guide), or
 * by the cert-manager the platform installs: a manifest using one fails to apply, or fails at the next
 * minor upgrade.
 */
import type { Rule } from '../rule';

export interface RemovedApi {
  readonly apiVersion: string;
  /** `*` for every kind of that version. */
  readonly kind: string;
  /** Minor version that stopped serving it. */
  readonly removedIn: string;
  /**
   * What stopped serving it.
   * @default 'Kubernetes'
   */
  readonly servedBy?: string;
  readonly use: string;
}

export const REMOVED_APIS: readonly RemovedApi[] = [
  { apiVersion: 'extensions/v1beta1', kind: '*', removedIn: '1.22', use: 'apps/v1, networking.k8s.io/v1, policy/v1' },
  { apiVersion: 'apps/v1beta1', kind: '*', removedIn: '1.16', use: 'apps/v1' },
  { apiVersion: 'apps/v1beta2', kind: '*', removedIn: '1.16', use: 'apps/v1' },
  { apiVersion: 'networking.k8s.io/v1beta1', kind: 'Ingress', removedIn: '1.22', use: 'networking.k8s.io/v1' },
  { apiVersion: 'networking.k8s.io/v1beta1', kind: 'IngressClass', removedIn: '1.22', use: 'networking.k8s.io/v1' },
  { apiVersion: 'networking.k8s.io/v1alpha1', kind: 'ClusterCIDR', removedIn: '1.29', use: 'nothing (removed)' },
  { apiVersion: 'rbac.authorization.k8s.io/v1beta1', kind: '*', removedIn: '1.22', use: 'rbac.authorization.k8s.io/v1' },
  { apiVersion: 'rbac.authorization.k8s.io/v1alpha1', kind: '*', removedIn: '1.22', use: 'rbac.authorization.k8s.io/v1' },
  { apiVersion: 'admissionregistration.k8s.io/v1beta1', kind: 'MutatingWebhookConfiguration', removedIn: '1.22', use: 'admissionregistration.k8s.io/v1' },
  { apiVersion: 'admissionregistration.k8s.io/v1beta1', kind: 'ValidatingWebhookConfiguration', removedIn: '1.22', use: 'admissionregistration.k8s.io/v1' },
  { apiVersion: 'apiextensions.k8s.io/v1beta1', kind: '*', removedIn: '1.22', use: 'apiextensions.k8s.io/v1' },
  { apiVersion: 'apiregistration.k8s.io/v1beta1', kind: '*', removedIn: '1.22', use: 'apiregistration.k8s.io/v1' },
  { apiVersion: 'authentication.k8s.io/v1beta1', kind: '*', removedIn: '1.22', use: 'authentication.k8s.io/v1' },
  { apiVersion: 'authorization.k8s.io/v1beta1', kind: '*', removedIn: '1.22', use: 'authorization.k8s.io/v1' },
  { apiVersion: 'certificates.k8s.io/v1beta1', kind: '*', removedIn: '1.22', use: 'certificates.k8s.io/v1' },
  { apiVersion: 'coordination.k8s.io/v1beta1', kind: '*', removedIn: '1.22', use: 'coordination.k8s.io/v1' },
  { apiVersion: 'scheduling.k8s.io/v1beta1', kind: 'PriorityClass', removedIn: '1.22', use: 'scheduling.k8s.io/v1' },
  { apiVersion: 'scheduling.k8s.io/v1alpha1', kind: 'PriorityClass', removedIn: '1.22', use: 'scheduling.k8s.io/v1' },
  { apiVersion: 'storage.k8s.io/v1beta1', kind: 'CSIDriver', removedIn: '1.22', use: 'storage.k8s.io/v1' },
  { apiVersion: 'storage.k8s.io/v1beta1', kind: 'CSINode', removedIn: '1.22', use: 'storage.k8s.io/v1' },
  { apiVersion: 'storage.k8s.io/v1beta1', kind: 'StorageClass', removedIn: '1.22', use: 'storage.k8s.io/v1' },
  { apiVersion: 'storage.k8s.io/v1beta1', kind: 'VolumeAttachment', removedIn: '1.22', use: 'storage.k8s.io/v1' },
  { apiVersion: 'storage.k8s.io/v1beta1', kind: 'CSIStorageCapacity', removedIn: '1.27', use: 'storage.k8s.io/v1' },
  { apiVersion: 'policy/v1beta1', kind: 'PodDisruptionBudget', removedIn: '1.25', use: 'policy/v1' },
  { apiVersion: 'policy/v1beta1', kind: 'PodSecurityPolicy', removedIn: '1.25', use: 'Pod Security admission namespace labels' },
  { apiVersion: 'batch/v1beta1', kind: 'CronJob', removedIn: '1.25', use: 'batch/v1' },
  { apiVersion: 'batch/v2alpha1', kind: 'CronJob', removedIn: '1.21', use: 'batch/v1' },
  { apiVersion: 'discovery.k8s.io/v1beta1', kind: 'EndpointSlice', removedIn: '1.25', use: 'discovery.k8s.io/v1' },
  { apiVersion: 'events.k8s.io/v1beta1', kind: 'Event', removedIn: '1.25', use: 'events.k8s.io/v1' },
  { apiVersion: 'node.k8s.io/v1beta1', kind: 'RuntimeClass', removedIn: '1.25', use: 'node.k8s.io/v1' },
  { apiVersion: 'autoscaling/v2beta1', kind: 'HorizontalPodAutoscaler', removedIn: '1.25', use: 'autoscaling/v2' },
  { apiVersion: 'autoscaling/v2beta2', kind: 'HorizontalPodAutoscaler', removedIn: '1.26', use: 'autoscaling/v2' },
  { apiVersion: 'flowcontrol.apiserver.k8s.io/v1alpha1', kind: '*', removedIn: '1.21', use: 'flowcontrol.apiserver.k8s.io/v1' },
  { apiVersion: 'flowcontrol.apiserver.k8s.io/v1beta1', kind: '*', removedIn: '1.26', use: 'flowcontrol.apiserver.k8s.io/v1' },
  { apiVersion: 'flowcontrol.apiserver.k8s.io/v1beta2', kind: '*', removedIn: '1.29', use: 'flowcontrol.apiserver.k8s.io/v1' },
  { apiVersion: 'flowcontrol.apiserver.k8s.io/v1beta3', kind: '*', removedIn: '1.32', use: 'flowcontrol.apiserver.k8s.io/v1' },
  { apiVersion: 'resource.k8s.io/v1alpha2', kind: '*', removedIn: '1.31', use: 'resource.k8s.io/v1beta1 (1.32+)' },
  // cert-manager's CRDs serve v1 alone from v1.7.0 on (cert-manager/cert-manager deploy/crds/crd-certificates.yaml:
  // v1alpha2, v1alpha3, v1beta1 and v1 at v1.6.0, v1 only at v1.7.0; still so at v1.21.1).
  ...['v1alpha2', 'v1alpha3', 'v1beta1'].flatMap((v) =>
    ['cert-manager.io', 'acme.cert-manager.io'].map((group) => ({
      apiVersion: `${group}/${v}`,
      kind: '*',
      removedIn: '1.7',
      servedBy: 'cert-manager',
      use: `${group}/v1`,
    })),
  ),
];

export function removedApi(apiVersion: unknown, kind: unknown): RemovedApi | undefined {
  return REMOVED_APIS.find((r) => r.apiVersion === apiVersion && (r.kind === '*' || r.kind === kind));
}

export const apiVersionRules: Rule[] = [
  {
    id: 'api.removed',
    severity: 'error',
    requires:
      'No object uses an apiVersion that GKE 1.31/1.32 or cert-manager 1.7+ no longer serves (deprecated beta APIs of extensions, apps, policy, batch, autoscaling, networking, storage, flowcontrol, cert-manager.io, ...).',
    sources: ['kube-score', 'kube-linter', 'Kubernetes deprecation guide'],
    check: function* (set) {
      for (const o of set.objects) {
        const r = removedApi(o.manifest.apiVersion, o.manifest.kind);
        if (r)
          yield {
            object: o,
            path: 'apiVersion',
            message: `${o.manifest.apiVersion} ${o.manifest.kind} is not served since ${r.servedBy ?? 'Kubernetes'} ${r.removedIn}`,
            fix: `use ${r.use}`,
          };
      }
    },
  },
];
