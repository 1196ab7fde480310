/**
 * TLS inside the cluster: the platform CA (cert-manager ClusterIssuers and the CA's Certificate), the
 * server certificates of MLflow and the in-cluster PostgreSQL, and the trust-manager Bundle that
 * hands the CA certificate to every namespace with clients. Applied after the namespaces and before
 * the workloads, whose pods mount the Secrets cert-manager writes and the ConfigMap trust-manager
 * writes (a pod waits in ContainerCreating until they exist). cert-manager and trust-manager are
 * installed from their Helm charts (docs/first-deployment.md, examples/flux/cert-manager).
 */
import { Construct } from 'constructs';
import type { PlatformModel } from '../model';
import { serviceDnsNames } from '../model/names';
import { CaBundle, caBundleProps, CaBundleProps, certificateLifetime } from './certificates/ca-bundle';
import type { CertificateLifetime } from './certificates/issuer';
import { IssuerScope, IssuerScopeProps } from './certificates/issuer-scope';
import { PlatformCa, PlatformCaProps } from './certificates/platform-ca';
import { ServerCertificate } from './certificates/server-certificate';
import { appLabels } from './lib/labels';
import { PlatformChart } from './lib/platform-chart';

export interface ServerCertificateSpec {
  readonly name: string;
  readonly namespace: string;
  readonly dnsNames: readonly string[];
  readonly labels: Record<string, string>;
}

export interface CertificatesChartProps {
  readonly instance: string;
  readonly ca: PlatformCaProps;
  readonly lifetime: CertificateLifetime;
  /** Servers that speak TLS with a certificate of the platform CA. */
  readonly servers: readonly ServerCertificateSpec[];
  /** The CA certificate for every namespace with clients of those servers. */
  readonly caBundle: CaBundleProps;
  /** The namespaces that may ask the CA ClusterIssuer for certificates; requests elsewhere are refused. */
  readonly issuerScope: IssuerScopeProps;
}

export function certificatesChartProps(model: PlatformModel): CertificatesChartProps {
  const { config, names } = model;
  const tls = names.tls;
  const platform = names.namespaces.platform;
  const labels = (name: string) => appLabels({ name, instance: config.environment, component: 'tls' });
  const servers: ServerCertificateSpec[] = [
    { name: tls.mlflow, namespace: platform, dnsNames: serviceDnsNames(names.mlflow, platform), labels: labels(names.mlflow) },
    ...(config.database.mode === 'statefulset'
      ? [{ name: tls.db, namespace: platform, dnsNames: serviceDnsNames(names.mlflowDb, platform), labels: labels(names.mlflowDb) }]
      : []),
  ];
  // The workspaces are MLflow clients; their namespace gets its bundle whenever a workspace app renders.
  const workspaces = model.workspaceApps.length > 0;
  return {
    instance: config.environment,
    ca: {
      labels: labels(tls.ca),
      selfSignedIssuer: tls.selfSignedIssuer,
      caIssuer: tls.caIssuer,
      ca: tls.ca,
      certManagerNamespace: tls.certManagerNamespace,
    },
    lifetime: certificateLifetime(config),
    servers,
    caBundle: caBundleProps(model, [platform, ...(workspaces ? [names.namespaces.workspaces] : [])]),
    // The platform's own namespaces, workspaces included whether or not an app renders there now.
    issuerScope: {
      name: tls.caIssuerScope,
      labels: labels(tls.caIssuerScope),
      caIssuer: tls.caIssuer,
      namespaces: [platform, names.namespaces.workspaces],
    },
  };
}

export class CertificatesChart extends PlatformChart {
  constructor(scope: Construct, id: string, props: CertificatesChartProps) {
    // No chart namespace: the ClusterIssuers and the Bundle are cluster-scoped; every Certificate names its own.
    super(scope, id, { instance: props.instance });
    new PlatformCa(this, 'platform-ca', props.ca);
    for (const s of props.servers)
      new ServerCertificate(this, `server-${s.namespace}-${s.name}`, { ...s, caIssuer: props.ca.caIssuer, lifetime: props.lifetime });
    new CaBundle(this, 'ca-bundle', props.caBundle);
    new IssuerScope(this, 'issuer-scope', props.issuerScope);
  }
}
