/**
 * The platform's namespaces: Pod Security `restricted` enforced, audited and warned at a pinned
 * version, and a default-deny NetworkPolicy in each so that every other hop must be allowed explicitly.
 */
import { Construct } from 'constructs';
import type { PlatformModel } from '../model';
import * as kube from '../imports/k8s-1.31';
import { PlatformChart } from './lib/platform-chart';
import { PRUNE_DISABLED } from '../common/contract';
import { enabledWorkspaceApps } from '../model/names';
import { CmekStorageClass, CmekStorageClassProps } from './lib/cmek-storage-class';

/** Pod Security Standards version the labels pin; matches the oldest supported GKE minor. */
export const POD_SECURITY_VERSION = 'v1.31';

export interface NamespacesChartProps {
  /** Environment name (instance label). */
  readonly instance: string;
  /** Namespaces to create, in order. */
  readonly namespaces: readonly string[];
  /**
   * Cluster-scoped CMEK StorageClasses that claims in these namespaces use (the workspaces' home volumes).
   * @default - none
   */
  readonly storageClasses?: readonly CmekStorageClassProps[];
}

export function namespacesChartProps(model: PlatformModel): NamespacesChartProps {
  const { config, names } = model;
  // Rendered with workspaces.homeStorage cluster-default too: existing claims move onto it one by one
  // (docs/workspaces.md, "Home volumes (CMEK)"), while the rendered claims still name no class.
  const homeClass = enabledWorkspaceApps(config).length > 0;
  return {
    instance: config.environment,
    namespaces: [names.namespaces.platform, names.namespaces.workspaces],
    storageClasses: homeClass
      ? [
          {
            name: names.workspaceHomeStorageClass,
            labels: { 'app.kubernetes.io/part-of': 'mlflow-gke', 'app.kubernetes.io/component': 'workspace' },
            kmsKey: names.kms.keyPath('disk'),
            diskType: 'pd-balanced',
          },
        ]
      : [],
  };
}

export class NamespacesChart extends PlatformChart {
  constructor(scope: Construct, id: string, props: NamespacesChartProps) {
    // No chart namespace: Namespaces are cluster-scoped.
    super(scope, id, { instance: props.instance });
    for (const name of props.namespaces) {
      const ns = new kube.KubeNamespace(this, `${name}-namespace`, {
        metadata: {
          name,
          labels: {
            'pod-security.kubernetes.io/enforce': 'restricted',
            'pod-security.kubernetes.io/enforce-version': POD_SECURITY_VERSION,
            'pod-security.kubernetes.io/audit': 'restricted',
            'pod-security.kubernetes.io/audit-version': POD_SECURITY_VERSION,
            'pod-security.kubernetes.io/warn': 'restricted',
            'pod-security.kubernetes.io/warn-version': POD_SECURITY_VERSION,
          },
          // Deleting a namespace deletes every volume claim in it; Flux must never prune it.
          annotations: { ...PRUNE_DISABLED },
        },
      });
      const denyAll = new kube.KubeNetworkPolicy(this, `${name}-default-deny`, {
        metadata: { name: 'default-deny', namespace: name },
        spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
      });
      const dns = new kube.KubeNetworkPolicy(this, `${name}-allow-dns`, {
        metadata: { name: 'allow-dns', namespace: name },
        spec: {
          podSelector: {},
          policyTypes: ['Egress'],
          egress: [
            {
              to: [
                {
                  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
                  podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
                },
              ],
              ports: [
                { protocol: 'UDP', port: kube.IntOrString.fromNumber(53) },
                { protocol: 'TCP', port: kube.IntOrString.fromNumber(53) },
              ],
            },
          ],
        },
      });
      denyAll.addDependency(ns);
      dns.addDependency(ns);
    }
    for (const sc of props.storageClasses ?? []) new CmekStorageClass(this, `${sc.name}-storage-class`, sc);
  }
}
