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
import { MlflowAuthProvisionJob, ProvisionedAccount, ProvisionedGrant, ProvisionedRole } from './mlflow/auth-provision';
import type { Config } from '../config/schema';
import { MLFLOW_GRANTABLE_PERMISSIONS } from '../config/schema/mlflow';
import { backendStoreUri, MlflowDatabase } from './mlflow/database';
import { MlflowGc } from './mlflow/gc';
import { MlflowMetrics } from './mlflow/metrics';
import { contentHash } from './lib/content-hash';
import { MlflowMigration, type MigrationCloudSqlBackup } from './mlflow/migration';
import { MlflowNetworkPolicies } from './mlflow/network';
import { MlflowServer, MlflowServerProps, SERVER_PORT_NAME } from './mlflow/server';
import { MLFLOW_UID, type MlflowJobAccount, MlflowWorkload } from './mlflow/workload';
import { serverWorkers } from '../model/server-workers';
import { postgresBackupOf, type PostgresBackupProps } from './postgres';

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
  | 'databasePool'
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
  /** statefulset mode: the in-cluster database's backup, which the migration's backup gate dumps and uploads (charts/mlflow/migration.ts). @default - none */
  readonly backupGate?: PostgresBackupProps;
  /** The migration's on-demand Cloud SQL backup before a schema change (cloudsql mode). @default - none */
  readonly cloudSqlBackup?: MigrationCloudSqlBackup;
  /**
   * The Jobs' own Kubernetes ServiceAccounts, none the server's: the provisioning Job's without Google
   * identity; the migration's and gc's without one in statefulset mode and with their own Google
   * service accounts (and so their own IAM database users) in cloudsql mode.
   */
  readonly jobServiceAccounts: { readonly migrate: MlflowJobAccount; readonly gc: MlflowJobAccount; readonly provision: string };
  /** Authentication: MLflow's accounts and their Secrets, permissions, the IAP verifier's settings (charts/mlflow/auth.ts). */
  readonly auth: MlflowAuthSettings;
}

/** What the chart needs to know about authentication. */
export interface MlflowAuthSettings {
  readonly names: MlflowAuthNames;
  readonly defaultPermission: string;
  /** auth_cache_ttl_seconds: how long a process trusts a checked Basic credential (0: off). */
  readonly credentialCacheSeconds: number;
  /** Every non-admin user's grant on the Default experiment (READ, or NO_PERMISSIONS for none). */
  readonly defaultExperimentPermission: string;
  /** The platform's MLflow roles: gc's, the groups' and the shared-with users' (provisionedRoles). */
  readonly roles: readonly ProvisionedRole[];
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
          roles: names.cloudSql.roles,
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
    workers: serverWorkers(config),
    databasePool: config.mlflow.databasePool,
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
    backupGate: config.database.mode === 'statefulset' ? postgresBackupOf(model) : undefined,
    cloudSqlBackup:
      config.database.mode === 'cloudsql'
        ? { project: config.project.id, instance: names.cloudSql.instance, account: names.serviceAccounts.mlflowSqlBackup.email }
        : undefined,
    jobServiceAccounts: {
      migrate: {
        name: names.mlflowJobServiceAccounts.migrate,
        // statefulset: the backup's Google service account, for the backup gate's upload (charts/gcp.ts binds it).
        google:
          config.database.mode === 'cloudsql'
            ? { email: names.serviceAccounts.mlflowMigrate.email, iamUser: names.cloudSql.migrateIamUser }
            : { email: names.serviceAccounts.dbBackup.email },
      },
      gc: {
        name: names.mlflowJobServiceAccounts.gc,
        google: config.database.mode === 'cloudsql' ? { email: names.serviceAccounts.mlflowGc.email, iamUser: names.cloudSql.gcIamUser } : undefined,
      },
      provision: names.mlflowJobServiceAccounts.provision,
    },
    auth: {
      names: names.mlflowAuth,
      defaultPermission: config.mlflow.auth.defaultPermission,
      defaultExperimentPermission: config.mlflow.auth.defaultExperimentPermission,
      credentialCacheSeconds: config.mlflow.auth.credentialCacheSeconds,
      roles: provisionedRoles(config, names.mlflowAuth),
      iap: { enabled: config.edge.enabled, projectNumber: config.project.number, backendServiceId: config.mlflow.auth.iapBackendServiceId },
    },
  };
}

/** The accounts the provisioning Job keeps: the platform's, then one per workspace account. */
export function provisionedAccounts(names: MlflowAuthNames): ProvisionedAccount[] {
  return [
    // The one admin, kept to GET /metrics by the verifier: /metrics answers only admins under fail-closed.
    // gc is no admin: its role (provisionedRoles) gives what it needs.
    { ...names.metrics, admin: true, defaultExperiment: false },
    { ...names.gc, admin: false, defaultExperiment: false },
    { ...names.verify, admin: false, defaultExperiment: false },
    ...names.workspaceAccounts.map((a) => ({ ...a, admin: false, defaultExperiment: true })),
  ];
}

/**
 * The platform's MLflow roles (MLflow 3.17.0 has roles: mlflow/server/auth/routes.py CREATE_ROLE ...
 * ASSIGN_ROLE; each role holds (resource_type, resource_pattern, permission) grants,
 * mlflow/server/auth/permissions.py TYPE):
 *
 * - gc's: MANAGE on every experiment ("*"). `mlflow gc` deletes a run's, a logged model's and a deleted
 *   experiment's proxied artifacts with DELETE /api/2.0/mlflow-artifacts/artifacts/<experiment>/...,
 *   which MLflow judges as "manage" (validate_can_delete_experiment_artifact_proxy) against the run,
 *   trace or logged-model tier, falling back to the experiment without a grant there
 *   (_authorize_artifact_proxy_resolved). It reads the runs from the database, not through the server.
 * - one per group of mlflow.auth.groups, its members the group's users, its grants the sharing entries
 *   that name the group;
 * - one per user named by a sharing entry, with that user's grants. Keeping the configured sharing in
 *   roles the Job owns (not in the user's own grants, which the user may change in the UI) lets it
 *   remove a grant the config no longer has.
 *
 * Two entries on the same resource for the same role keep the higher permission.
 */
export function provisionedRoles(config: Config, names: MlflowAuthNames): ProvisionedRole[] {
  const rank = (p: string) => MLFLOW_GRANTABLE_PERMISSIONS.indexOf(p as (typeof MLFLOW_GRANTABLE_PERMISSIONS)[number]);
  const emailOf = new Map(config.workspaces.users.map((u) => [u.name, u.email.toLowerCase()]));
  const grantsOf = new Map<string, Map<string, ProvisionedGrant>>();
  const add = (role: string, grant: ProvisionedGrant) => {
    const key = 'experiment' in grant ? `experiment:${grant.experiment}` : 'registeredModel' in grant ? `model:${grant.registeredModel}` : '';
    const grants = grantsOf.get(role) ?? new Map<string, ProvisionedGrant>();
    const before = grants.get(key);
    if (!before || rank(grant.permission) > rank(before.permission)) grants.set(key, grant);
    grantsOf.set(role, grants);
  };
  for (const entry of config.mlflow.auth.sharing) {
    const grant: ProvisionedGrant =
      entry.experiment !== undefined
        ? { experiment: entry.experiment, permission: entry.permission }
        : { registeredModel: entry.registeredModel ?? '', permission: entry.permission };
    for (const user of entry.users) add(names.roles.user(user), grant);
    for (const group of entry.groups) add(names.roles.group(group), grant);
  }
  const sorted = (grants?: Map<string, ProvisionedGrant>) =>
    [...(grants ?? new Map<string, ProvisionedGrant>()).entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, g]) => g);
  const members = (users: readonly string[]) => [...new Set(users.map((u) => emailOf.get(u) ?? u))].sort();
  const groups = Object.keys(config.mlflow.auth.groups).sort();
  const sharedUsers = [...new Set(config.mlflow.auth.sharing.flatMap((e) => e.users))].sort();
  return [
    {
      name: names.roles.gc,
      description: 'mlflow gc: deletes the proxied artifacts of deleted runs, logged models and experiments',
      members: [names.gc.username],
      grants: [{ resourceType: 'experiment', pattern: '*', permission: 'MANAGE' }],
    },
    ...groups.map((g) => ({
      name: names.roles.group(g),
      description: `group ${g} (mlflow.auth.groups)`,
      members: members(config.mlflow.auth.groups[g]),
      grants: sorted(grantsOf.get(names.roles.group(g))),
    })),
    ...sharedUsers.map((u) => ({
      name: names.roles.user(u),
      description: `what mlflow.auth.sharing shares with ${u}`,
      members: members([u]),
      grants: sorted(grantsOf.get(names.roles.user(u))),
    })),
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
      credentialCacheSeconds: props.auth.credentialCacheSeconds,
      iap: { ...props.auth.iap, trustedPeers: props.ingress.loadBalancerRanges },
      collector: { namespace: props.ingress.prometheus.namespace, serviceAccount: props.ingress.prometheus.serviceAccount },
    };

    // Construct ids below are a contract: the order of the objects in the rendered file follows them.
    new MlflowServer(this, 'server', { ...props, workload, tlsSecret: props.tls.secretName, auth: authProps });
    new MlflowMigration(this, 'migration', {
      name: props.name,
      workload,
      serviceAccount: props.jobServiceAccounts.migrate,
      backupGate: props.backupGate,
      cloudSqlBackup: props.cloudSqlBackup,
    });
    new MlflowGc(this, 'gc', {
      name: props.name,
      port: props.port,
      workload,
      schedule: props.gc.schedule,
      olderThan: props.gc.olderThan,
      trackingUri: props.gc.trackingUri,
      account: props.auth.names.gc,
      serviceAccount: props.jobServiceAccounts.gc,
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
      personalExperimentPrefix: props.auth.names.personalExperimentPrefix,
      roles: props.auth.roles,
      managedRolePrefix: props.auth.names.roles.prefix,
      serviceAccount: props.jobServiceAccounts.provision,
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
