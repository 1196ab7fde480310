/**
 * The NetworkPolicies of the server's hops (the namespace denies everything else): who may reach the
 * server (workspaces, the load balancer, the metrics collectors), and where the MLflow pods may go
 * (the database, Google APIs).
 */
import { Construct } from 'constructs';
import { PORTS } from '../../common/contract';
import * as kube from '../../imports/k8s-1.31';
import { PROXY_HTTP_PORT } from '../lib/cloud-sql-proxy';
import { PART_OF } from '../lib/labels';
import { googleApisEgress } from '../lib/network-policy';
import type { MlflowDatabase } from './database';
import type { MlflowWorkload } from './workload';

export interface MlflowNetworkPoliciesProps {
  /** Prefix of the policies' names; the `app.kubernetes.io/name` of the MLflow pods. */
  readonly name: string;
  readonly instance: string;
  readonly port: number;
  readonly workload: MlflowWorkload;
  readonly database: MlflowDatabase;
  readonly workspacesNamespace: string;
  /**
   * Pod labels of the workspace pods allowed to reach MLflow.
   * @default part-of mlflow-gke, component workspace
   */
  readonly workspacePodLabels?: Record<string, string>;
  /** Load balancer ranges; empty when no public entry is rendered. */
  readonly loadBalancerRanges: readonly string[];
  /** The managed Prometheus collectors: their namespace and pod labels. */
  readonly prometheus: { readonly namespace: string; readonly podLabels: Record<string, string> };
  /** The cluster's own ranges, which the internet rule to Google APIs excludes. */
  readonly clusterRanges: readonly string[];
}

export class MlflowNetworkPolicies extends Construct {
  constructor(scope: Construct, id: string, props: MlflowNetworkPoliciesProps) {
    super(scope, id);
    const w = props.workload;
    const db = props.database;
    const cloudsql = db.mode === 'cloudsql';
    const labels = w.labels('server');
    const serverSelector = w.selector('server');
    const tcp = (n: number): kube.NetworkPolicyPort => ({ protocol: 'TCP', port: kube.IntOrString.fromNumber(n) });
    const ingress: kube.NetworkPolicyIngressRule[] = [
      {
        from: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': props.workspacesNamespace } },
            podSelector: { matchLabels: props.workspacePodLabels ?? { 'app.kubernetes.io/part-of': PART_OF, 'app.kubernetes.io/component': 'workspace' } },
          },
        ],
        ports: [tcp(props.port)],
      },
      ...(props.loadBalancerRanges.length > 0 ? [{ from: props.loadBalancerRanges.map((cidr) => ({ ipBlock: { cidr } })), ports: [tcp(props.port)] }] : []),
      {
        from: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': props.prometheus.namespace } },
            podSelector: { matchLabels: props.prometheus.podLabels },
          },
        ],
        ports: [tcp(props.port), ...(cloudsql ? [tcp(PROXY_HTTP_PORT)] : [])],
      },
    ];
    new kube.KubeNetworkPolicy(this, 'server-ingress', {
      metadata: { name: `${props.name}-server-ingress`, labels: labels },
      spec: { podSelector: { matchLabels: serverSelector }, policyTypes: ['Ingress'], ingress },
    });

    const databaseEgress: kube.NetworkPolicyEgressRule =
      db.mode === 'cloudsql'
        ? { to: [{ ipBlock: { cidr: db.privateServicesCidr } }], ports: [tcp(PORTS.cloudSqlServer)] }
        : { to: [{ podSelector: { matchLabels: db.podLabels } }], ports: [tcp(PORTS.postgres)] };
    new kube.KubeNetworkPolicy(this, 'egress', {
      metadata: { name: `${props.name}-egress`, labels: labels },
      spec: {
        podSelector: {
          matchLabels: { 'app.kubernetes.io/name': props.name, 'app.kubernetes.io/instance': props.instance },
          matchExpressions: [{ key: 'app.kubernetes.io/component', operator: 'In', values: ['server', 'migrate', 'gc'] }],
        },
        policyTypes: ['Egress'],
        egress: [
          databaseEgress,
          // GCS, Cloud SQL Admin and IAM credentials: the metadata server, then 443 outside the cluster.
          // The same 443 rule carries the IAP verifier's fetch of Google's keys (www.gstatic.com): a
          // NetworkPolicy matches addresses, not names, and that host has no fixed range.
          ...googleApisEgress(props.clusterRanges),
        ],
      },
    });
  }
}
