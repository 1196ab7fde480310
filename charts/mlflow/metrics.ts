/**
 * The server's metrics for Google Cloud Managed Service for Prometheus: a PodMonitoring over TLS with
 * the metrics account, and the Role that lets the managed collectors read the CA bundle's CA-only
 * Secret (the account's Secret has its own Role, auth.ts).
 */
import { Construct } from 'constructs';
import { EXTERNAL_SECRETS_ANNOTATION, MLFLOW_AUTH_SECRET_KEYS } from '../../common/contract';
import * as kube from '../../imports/k8s-1.31';
import { PodMonitoring, PodMonitoringSpecEndpointsPort, PodMonitoringSpecEndpointsScheme } from '../../imports/monitoring.googleapis.com';
import type { MlflowAccount } from '../../model/names';
import { PROXY_HTTP_PORT } from '../lib/cloud-sql-proxy';
import { CA_BUNDLE_KEY } from '../certificates/ca-bundle';
import { SERVER_PORT_NAME } from './server';
import type { MlflowWorkload } from './workload';

export interface MlflowMetricsProps {
  /** Name of the PodMonitoring and prefix of the Role's. */
  readonly name: string;
  readonly workload: MlflowWorkload;
  /** The name the scraper checks the server's certificate for (it scrapes pod IPs). */
  readonly serverName: string;
  /**
   * The CA-only Secret trust-manager writes beside the CA bundle ConfigMap (charts/certificates/ca-bundle.ts):
   * a PodMonitoring takes its CA from a Secret only. It holds `ca.crt` and no key.
   */
  readonly caBundleSecret: string;
  /** The account the collectors scrape with. */
  readonly account: MlflowAccount;
  /** Scrape the Cloud SQL Auth Proxy sidecar's metrics too. */
  readonly proxy: boolean;
  /** The managed collectors' namespace and ServiceAccount. */
  readonly collector: { readonly namespace: string; readonly serviceAccount: string };
}

export class MlflowMetrics extends Construct {
  constructor(scope: Construct, id: string, props: MlflowMetricsProps) {
    super(scope, id);
    const w = props.workload;
    const labels = w.labels('server');
    const serverSelector = w.selector('server');
    // Over TLS, checked against the platform CA: the collector scrapes pod IPs, which the certificate
    // does not name, so serverName says which name to expect (prometheus-engine @2ffde4e
    // pkg/operator/apis/monitoring/v1/http_types.go TLS: serverName, ca). The CA comes from the CA
    // bundle's CA-only Secret, never the server's own nor any cert-manager Secret (those hold a key).
    // /metrics needs an admin under fail-closed; the verifier admits the metrics account there and
    // nowhere else. The collector sends it as Basic credentials (prometheus-engine @2ffde4e
    // pkg/operator/apis/monitoring/v1/http_types.go BasicAuth: username, password from a Secret of the
    // PodMonitoring's namespace), which a Role below lets it read.
    new PodMonitoring(this, 'pod-monitoring', {
      metadata: { name: props.name, labels: labels, annotations: { [EXTERNAL_SECRETS_ANNOTATION]: props.account.secret } },
      spec: {
        selector: { matchLabels: serverSelector },
        endpoints: [
          {
            port: PodMonitoringSpecEndpointsPort.fromString(SERVER_PORT_NAME),
            scheme: PodMonitoringSpecEndpointsScheme.HTTPS,
            path: '/metrics',
            interval: '30s',
            tls: { serverName: props.serverName, ca: { secret: { name: props.caBundleSecret, key: CA_BUNDLE_KEY } } },
            basicAuth: {
              username: props.account.username,
              password: { secret: { name: props.account.secret, key: MLFLOW_AUTH_SECRET_KEYS.password } },
            },
          },
          // Numeric: the sidecar's port is scraped by number.
          ...(props.proxy ? [{ port: PodMonitoringSpecEndpointsPort.fromNumber(PROXY_HTTP_PORT), path: '/metrics', interval: '30s' }] : []),
        ],
      },
    });

    // The managed collectors read the CA through the API as their ServiceAccount: a Role on that one
    // Secret, which holds the CA certificate and no key (the pattern of prometheus-engine @2ffde4e
    // examples/instrumentation/go-synthetic/go-synthetic-basic-auth.yaml: Role get/list/watch with
    // resourceNames, RoleBinding to ServiceAccount collector in gmp-system). The account's Secret has
    // its own Role (auth.ts): together, exactly the Secrets the PodMonitoring names.
    const reader = `${props.name}-ca-bundle-reader`;
    new kube.KubeRole(this, 'ca-bundle-reader', {
      metadata: { name: reader, labels: labels },
      rules: [{ apiGroups: [''], resources: ['secrets'], resourceNames: [props.caBundleSecret], verbs: ['get', 'list', 'watch'] }],
    });
    new kube.KubeRoleBinding(this, 'ca-bundle-reader-binding', {
      metadata: { name: reader, labels: labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: reader },
      subjects: [{ kind: 'ServiceAccount', name: props.collector.serviceAccount, namespace: props.collector.namespace }],
    });
  }
}
