/**
 * The MLflow tracking server and what runs beside it, one construct per concern in charts/mlflow/:
 * the server (server.ts), the schema migration (migration.ts), garbage collection (gc.ts), the
 * accounts and authentication (auth.ts, auth-provision.ts), the Cloud SQL grant
 * (cloudsql-grant-job.ts), metrics (metrics.ts) and the NetworkPolicies of its hops (network.ts).
 * The post-deploy verification is the mlflow-verify chart.
 */
import type { PlatformModel } from '../model';
import { Construct } from 'constructs';
import { imageTag, type Resources } from '../config/schema/primitives';
import { edgeServiceAnnotations } from './edge/annotations';
import { proxyVersionOf } from '../common/cloud-sql-proxy-flags';
import { selectorLabels } from './lib/labels';
import { PlatformChart } from './lib/platform-chart';
import { CloudSqlGrantJob, cloudSqlGrantJobProps, CloudSqlGrantJobProps } from './mlflow/cloudsql-grant-job';
import { DB_SECRET_KEYS } from '../common/contract';
import { CA_BUNDLE_FILE } from './certificates/ca-bundle';
import type { MlflowAuthNames } from '../model/names';
import { MlflowAuth, MlflowAuthProps } from './mlflow/auth';
import { MlflowAuthProvisionJob, ProvisionedAccount } from './mlflow/auth-provision';
import { backendStoreUri, MlflowDatabase } from './mlflow/database';
import { MlflowGc } from './mlflow/gc';
import { MlflowMetrics } from './mlflow/metrics';
import { contentHash } from './lib/content-hash';
import { MlflowMigration } from './mlflow/migration';
import { MlflowNetworkPolicies } from './mlflow/network';
import { MlflowServer, MlflowServerProps, SERVER_PORT_NAME } from './mlflow/server';
import { MLFLOW_UID, MlflowWorkload } from './mlflow/workload';

/**
 * The chart's props: the server's own (charts/mlflow/server.ts, documented there) and what the
 * migration, gc, accounts, metrics and network policies add.
 */
export interface MlflowChartProps extends Pick<
  MlflowServerProps,
  | 'name'
  | 'port'
  | 'serviceAccount'
  | 'database'
  | 'artifactsDestination'
  | 'workers'
  | 'replicas'
  | 'maxReplicas'
  | 'targetCpuUtilization'
  | 'updateStrategy'
  | 'scratchSize'
  | 'kekSecret'
  | 'jobExecution'
  | 'allowedHosts'
  | 'corsAllowedOrigins'
  | 'serviceAnnotations'
> {
  readonly instance: string;
  readonly namespace: string;
  readonly image: string;
  /**
   * TLS: the server's certificate Secret (cert-manager, charts/certificates.ts), the CA bundle ConfigMap
   * its clients in this namespace mount, and the name the metrics scraper checks the certificate for.
   */
  readonly tls: { readonly secretName: string; readonly caBundleConfigMap: string; readonly serverName: string };
  readonly projectId: string;
  readonly resources: Resources;
  /**
   * `mlflow gc`: schedule, age, and the in-cluster URL of this server. gc refuses to run without a
   * tracking URI and deletes proxied (`mlflow-artifacts:`) artifacts through the server.
   */
  readonly gc: { readonly schedule: string; readonly olderThan: string; readonly trackingUri: string };
  readonly ingress: {
    readonly workspacesNamespace: string;
    /** Load balancer ranges; empty when no public entry is rendered. */
    readonly loadBalancerRanges: readonly string[];
    /** The managed Prometheus collectors: their namespace, pod labels and ServiceAccount. */
    readonly prometheus: { readonly namespace: string; readonly podLabels: Record<string, string>; readonly serviceAccount: string };
  };
  /**
   * Pod labels of the workspace pods allowed to reach MLflow.
   * @default part-of mlflow-gke, component workspace
   */
  readonly workspacePodLabels?: Record<string, string>;
  /** The cluster's own ranges, which the internet rule to Google APIs excludes (model/network.ts). */
  readonly clusterRanges: readonly string[];
  /** The one-shot Job that grants the IAM database user its privileges (cloudsql mode). @default - none */
  readonly sqlGrant?: CloudSqlGrantJobProps;
  /** Authentication: MLflow's accounts and their Secrets, permissions, the IAP verifier's settings (charts/mlflow/auth.ts). */
  readonly auth: MlflowAuthSettings;
}

/** What the chart needs to know about authentication. */
export interface MlflowAuthSettings {
  readonly names: MlflowAuthNames;
  readonly defaultPermission: string;
  /** Granted on the Default experiment to people (provisioned or created at first sign-in). */
  readonly defaultExperimentPermission: string;
  readonly iap: { readonly enabled: boolean; readonly projectNumber: string; readonly backendServiceId?: string };
}

/** The Host headers MLflow must accept: public host, every form of the Service name, with and without port. */
function derivedAllowedHosts(model: PlatformModel): string[] {
  const { config, names } = model;
  const svc = names.mlflow;
  const ns = names.namespaces.platform;
  const forms = [svc, `${svc}.${ns}`, `${svc}.${ns}.svc`, `${svc}.${ns}.svc.cluster.local`];
  const inCluster = forms.flatMap((f) => [f, `${f}:${names.mlflowPort}`]);
  const publicHost = config.edge.enabled ? [names.mlflowHost] : [];
  return [...new Set([...publicHost, ...inCluster, 'localhost', `localhost:${names.mlflowPort}`, ...config.mlflow.extraAllowedHosts])];
}

export function mlflowChartProps(model: PlatformModel): MlflowChartProps {
  const { config, names } = model;
  const sa = names.serviceAccounts.mlflow;
  if (!sa.kubernetes) throw new Error('names.serviceAccounts.mlflow has no Kubernetes ServiceAccount');
  const proxyVersion = proxyVersionOf(imageTag(config.mlflow.cloudSqlProxy.image));
  // The schema refuses a proxy image without a version tag: an invariant here.
  if (!proxyVersion) throw new Error(`MlflowChart: proxy image "${config.mlflow.cloudSqlProxy.image}" has no version tag`);
  const database: MlflowDatabase =
    config.database.mode === 'cloudsql'
      ? {
          mode: 'cloudsql',
          connectionName: names.cloudSql.connectionName,
          iamUser: names.cloudSql.iamUser,
          database: names.cloudSql.database,
          proxy: {
            image: config.mlflow.cloudSqlProxy.image,
            version: proxyVersion,
            resources: config.mlflow.cloudSqlProxy.resources,
            extraArgs: config.mlflow.cloudSqlProxy.extraArgs,
          },
          privateServicesCidr: config.network.privateServicesCidr,
        }
      : {
          mode: 'statefulset',
          service: names.mlflowDb,
          user: config.database.statefulset.user,
          database: config.database.name,
          passwordSecret: { name: config.database.statefulset.credentialsSecret, key: DB_SECRET_KEYS.mlflow },
          podLabels: selectorLabels({ name: names.mlflowDb, instance: config.environment, component: 'database' }),
          caFile: CA_BUNDLE_FILE,
        };
  return {
    instance: config.environment,
    namespace: names.namespaces.platform,
    name: names.mlflow,
    port: names.mlflowPort,
    image: config.mlflow.image,
    serviceAccount: { name: sa.kubernetes.name, gcpServiceAccount: sa.email },
    tls: { secretName: names.tls.mlflow, caBundleConfigMap: names.tls.caBundle, serverName: `${names.mlflow}.${names.namespaces.platform}.svc` },
    projectId: config.project.id,
    database,
    artifactsDestination: `gs://${names.bucket}/artifacts`,
    workers: config.mlflow.workers,
    replicas: config.mlflow.replicas,
    maxReplicas: config.mlflow.maxReplicas,
    targetCpuUtilization: config.mlflow.targetCpuUtilization,
    updateStrategy: config.mlflow.updateStrategy,
    resources: config.mlflow.resources,
    scratchSize: config.mlflow.scratchSize,
    kekSecret: config.mlflow.kekSecret,
    jobExecution: config.mlflow.jobExecution,
    allowedHosts: config.mlflow.allowedHosts ?? derivedAllowedHosts(model),
    corsAllowedOrigins: config.edge.enabled ? [`https://${names.mlflowHost}`] : [],
    gc: { schedule: config.mlflow.gcSchedule, olderThan: config.mlflow.gcOlderThan, trackingUri: names.mlflowUrl },
    ingress: {
      workspacesNamespace: names.namespaces.workspaces,
      loadBalancerRanges: config.edge.enabled ? [...model.ranges.loadBalancer] : [],
      prometheus: { namespace: 'gmp-system', podLabels: { 'app.kubernetes.io/name': 'collector' }, serviceAccount: 'collector' },
    },
    serviceAnnotations: edgeServiceAnnotations(config, names.mlflow, { port: SERVER_PORT_NAME, protocol: 'HTTPS' }),
    clusterRanges: model.ranges.cluster,
    sqlGrant: config.database.mode === 'cloudsql' ? cloudSqlGrantJobProps(model) : undefined,
    auth: {
      names: names.mlflowAuth,
      defaultPermission: config.mlflow.auth.defaultPermission,
      defaultExperimentPermission: config.mlflow.auth.defaultExperimentPermission,
      iap: { enabled: config.edge.enabled, projectNumber: config.project.number, backendServiceId: config.mlflow.auth.iapBackendServiceId },
    },
  };
}

/** The accounts the provisioning Job keeps: the platform's, then one per workspace account. */
export function provisionedAccounts(names: MlflowAuthNames): ProvisionedAccount[] {
  return [
    // Admins, kept to their routes by the verifier where they can be: /metrics answers only admins under
    // fail-closed; gc deletes artifacts of every experiment, which needs MANAGE on each.
    { ...names.metrics, admin: true, defaultExperiment: false },
    { ...names.gc, admin: true, defaultExperiment: false },
    { ...names.verify, admin: false, defaultExperiment: false },
    ...names.workspaceAccounts.map((a) => ({ ...a, admin: false, defaultExperiment: true })),
  ];
}

export class MlflowChart extends PlatformChart {
  constructor(scope: Construct, id: string, props: MlflowChartProps) {
    super(scope, id, { namespace: props.namespace, instance: props.instance });
    const workload = new MlflowWorkload(props);
    const db = props.database;
    const serverSelector = workload.selector('server');
    const authProps: MlflowAuthProps = {
      namespace: props.namespace,
      labels: workload.labels('server'),
      names: props.auth.names,
      databaseUri: backendStoreUri(db),
      defaultPermission: props.auth.defaultPermission,
      defaultExperimentPermission: props.auth.defaultExperimentPermission,
      iap: { ...props.auth.iap, trustedPeers: props.ingress.loadBalancerRanges },
      collector: { namespace: props.ingress.prometheus.namespace, serviceAccount: props.ingress.prometheus.serviceAccount },
    };

    // Construct ids below are a contract: the order of the objects in the rendered file follows them.
    new MlflowServer(this, 'server', { ...props, workload, tlsSecret: props.tls.secretName, auth: authProps });
    new MlflowMigration(this, 'migration', { name: props.name, workload });
    new MlflowGc(this, 'gc', {
      name: props.name,
      port: props.port,
      workload,
      schedule: props.gc.schedule,
      olderThan: props.gc.olderThan,
      trackingUri: props.gc.trackingUri,
      account: props.auth.names.gc,
    });
    if (props.sqlGrant) new CloudSqlGrantJob(this, 'sql-grant', props.sqlGrant);
    new MlflowAuth(this, 'auth', authProps);
    new MlflowAuthProvisionJob(this, 'auth-provision', {
      name: props.name,
      image: props.image,
      runAsUser: MLFLOW_UID,
      labels: workload.labels('auth-provision'),
      selector: workload.selector('auth-provision'),
      serverSelector,
      port: props.port,
      trackingUri: props.gc.trackingUri,
      caBundleConfigMap: props.tls.caBundleConfigMap,
      admin: props.auth.names.admin,
      accounts: provisionedAccounts(props.auth.names),
      defaultExperimentPermission: props.auth.defaultExperimentPermission,
      hash: contentHash,
    });
    new MlflowMetrics(this, 'metrics', {
      name: props.name,
      workload,
      serverName: props.tls.serverName,
      // The Bundle writes a CA-only Secret of the same name beside the ConfigMap (charts/certificates/ca-bundle.ts).
      caBundleSecret: props.tls.caBundleConfigMap,
      account: props.auth.names.metrics,
      proxy: db.mode === 'cloudsql',
      collector: { namespace: props.ingress.prometheus.namespace, serviceAccount: props.ingress.prometheus.serviceAccount },
    });
    new MlflowNetworkPolicies(this, 'network', {
      name: props.name,
      instance: props.instance,
      port: props.port,
      workload,
      database: db,
      workspacesNamespace: props.ingress.workspacesNamespace,
      workspacePodLabels: props.workspacePodLabels,
      loadBalancerRanges: props.ingress.loadBalancerRanges,
      prometheus: props.ingress.prometheus,
      clusterRanges: props.clusterRanges,
    });
  }
}
