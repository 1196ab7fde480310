/**
 * The Google Cloud side of the platform as Config Connector objects: APIs, KMS, the artifact bucket,
 * Cloud SQL (database mode `cloudsql`), the VPC, the GKE cluster, service accounts, audit logging
 * and monitoring. This file is applied to a cluster that runs Config Connector (see docs/gcp.md).
 */
import { Construct } from 'constructs';
import type { PlatformModel } from '../model';
import * as kube from '../imports/k8s-1.31';
import { PlatformChart } from './lib/platform-chart';
import { workloadIdentityMember } from '../model/names';
import { WORKSPACE_NODES } from '../common/contract';
import { Apis, BASE_APIS, CLOUD_SQL_APIS, SQL_SERVICE_IDENTITY } from './gcp/apis';
import { CLOUD_SQL_CLIENT, CLOUD_SQL_INSTANCE_USER, CloudSql, CloudSqlProps, instanceAndBelow, instanceGrants, SQL_BACKUP_PERMISSIONS } from './gcp/cloud-sql';
import { checkedCustomRole, customRoleName, CustomRoleSpec } from './gcp/custom-role';
import { Cluster, ClusterProps, NodePoolProps } from './gcp/cluster';
import { ANNOTATIONS, GcpScope, serviceAgents } from './gcp/common';
import { ConfigConnectorContext } from './gcp/config-connector';
import { Iam, ServiceAccountProps } from './gcp/iam';
import { IapAccess } from './gcp/iap';
import type { IapGrant } from '../model/edge-sites';
import { Kms, KmsProps } from './gcp/kms';
import { PlatformLogging, PlatformLoggingProps } from './gcp/logging';
import { Monitoring, MonitoringProps } from './gcp/monitoring';
import { Network, NetworkProps } from './gcp/network';
import { ArtifactBucket, ArtifactBucketProps, BackupBucket, BackupBucketProps } from './gcp/storage';

type Scoped<T> = Omit<T, 'scope'>;

export interface GcpChartProps {
  /** Environment name (instance label). */
  readonly instance: string;
  readonly scope: GcpScope;
  /** Google APIs to enable. */
  readonly apis: readonly string[];
  /** Create the Cloud SQL service agent (database mode cloudsql). */
  readonly cloudSqlServiceIdentity: boolean;
  readonly kms: Scoped<KmsProps>;
  readonly bucket: Scoped<ArtifactBucketProps>;
  /**
   * The in-cluster database's backup bucket (statefulset mode).
   * @default - none
   */
  readonly backupBucket?: Scoped<BackupBucketProps>;
  /**
   * The Cloud SQL instance, database and IAM user.
   * @default - none (in-cluster database)
   */
  readonly cloudSql?: Scoped<CloudSqlProps>;
  readonly network: Scoped<NetworkProps>;
  readonly cluster: Scoped<ClusterProps>;
  readonly serviceAccounts: readonly ServiceAccountProps[];
  readonly logging: Scoped<PlatformLoggingProps>;
  readonly monitoring: Scoped<MonitoringProps>;
  /**
   * Who may pass IAP to which host (the edge's sites).
   * @default - no grants
   */
  readonly iapGrants?: readonly IapGrant[];
  /**
   * Email of the Google service account Config Connector acts as in the namespace (ConfigConnectorContext).
   * @default - no context (Config Connector in cluster mode)
   */
  readonly configConnectorServiceAccount?: string;
}

/**
 * The node pools of the workspaces: one for the CPU workspaces, and the GPU pool of `workspaces.gpu`.
 * Both carry the workspace label and taint (WORKSPACE_NODES), so nothing but a workspace pod lands
 * there, and the per-pod PID limit. Label, taint and sandbox are immutable node settings, so each is
 * part of the pool's name: turning the sandbox off or on makes a new pool, and the old one is
 * abandoned (docs/gcp.md, "Node pools").
 */
export function workspaceNodePools(model: PlatformModel): NodePoolProps[] {
  const { config, names } = model;
  const w = config.workspaces;
  const pool = config.cluster.workspacePool;
  const common = {
    diskSizeGb: config.cluster.diskSizeGb,
    diskType: config.cluster.diskType,
    labels: { [WORKSPACE_NODES.key]: WORKSPACE_NODES.value },
    taints: [WORKSPACE_NODES],
    podPidsLimit: pool.podPidsLimit,
    total: true,
  };
  const runtime = (sandbox: boolean) => (sandbox ? 'gvisor' : 'runc');
  const pools: NodePoolProps[] = [];
  if (workspacesOnCpuPool(model))
    pools.push({
      ...common,
      name: `${names.cluster}-workspaces-${runtime(pool.sandbox)}`,
      machineType: pool.machineType,
      minNodes: pool.minNodes,
      maxNodes: pool.maxNodes,
      sandbox: pool.sandbox,
    });
  if (w.gpu.enabled)
    pools.push({
      ...common,
      // The accelerator and the runtime are part of the name: another type is another pool.
      name: `${names.cluster}-workspaces-${w.gpu.acceleratorType.replace(/^nvidia-/, '')}-${runtime(w.gpu.sandbox)}`,
      machineType: w.gpu.machineType,
      minNodes: 0,
      maxNodes: w.gpu.maxNodes,
      gpu: { type: w.gpu.acceleratorType, count: w.gpu.count },
      sandbox: w.gpu.sandbox,
    });
  return pools;
}

/** Whether any workspace runs on the CPU workspace pool: VS Code, or a Jupyter without a GPU. */
export function workspacesOnCpuPool(model: PlatformModel): boolean {
  const w = model.config.workspaces;
  return model.names.workspaces.some((i) => i.app !== 'jupyter' || !w.gpu.enabled);
}

/**
 * The project's custom roles (charts/gcp/custom-role.ts): in cloudsql mode the migration's
 * pre-migration backup, with the permissions of charts/gcp/cloud-sql.ts SQL_BACKUP_PERMISSIONS. The
 * bootstrap script creates them; the render binds them.
 */
export function platformCustomRoles(model: PlatformModel): CustomRoleSpec[] {
  const { config, names } = model;
  if (config.database.mode !== 'cloudsql') return [];
  return [
    checkedCustomRole({
      roleId: names.cloudSql.backupRoleId,
      title: 'MLflow pre-migration backup',
      description: `Creates and reads on-demand backups of the Cloud SQL instance ${names.cloudSql.instance}; bound on it alone`,
      permissions: SQL_BACKUP_PERMISSIONS,
    }),
  ];
}

export function gcpChartProps(model: PlatformModel): GcpChartProps {
  const { config, names } = model;
  const prefix = config.namePrefix;
  const cloudsql = config.database.mode === 'cloudsql';
  const sql = config.database.cloudsql;
  const scope: GcpScope = {
    project: config.project.id,
    projectNumber: config.project.number,
    region: config.project.region,
    namespace: names.namespaces.gcp,
  };
  const agents = serviceAgents(config.project.number);
  const sa = names.serviceAccounts;
  const kmsKeys = names.kms.keys;
  const network = {
    network: `${prefix}mlflow-gke-vpc`,
    subnet: `${prefix}mlflow-gke-nodes`,
    podsRange: 'pods',
    servicesRange: 'services',
    router: `${prefix}mlflow-gke-router`,
    nat: `${prefix}mlflow-gke-nat`,
    privateServicesRange: `${prefix}mlflow-gke-private-services`,
    globalAddress: names.globalAddress,
    // An Ingress serves one namespace: the workspaces get their own load balancer and address.
    workspacesGlobalAddress: names.workspaces.length > 0 ? names.workspacesGlobalAddress : undefined,
    sslPolicy: names.sslPolicy,
  };
  const workspaceNodes = workspaceNodePools(model);
  const watched = [names.namespaces.platform, names.namespaces.workspaces];
  return {
    instance: config.environment,
    scope,
    apis: [...BASE_APIS, ...(cloudsql ? CLOUD_SQL_APIS : [])],
    cloudSqlServiceIdentity: cloudsql,
    kms: {
      keyRing: names.kms.keyRing,
      location: names.kms.location,
      rotationPeriodDays: config.kms.rotationPeriodDays,
      destroyScheduledDays: config.kms.destroyScheduledDays,
      protectionLevel: config.kms.protectionLevel,
      keys: [
        ...(cloudsql ? [{ name: kmsKeys.sql, users: [{ agent: 'cloud-sql', serviceIdentity: SQL_SERVICE_IDENTITY }] }] : []),
        { name: kmsKeys.gcs, users: [{ agent: 'storage', email: agents.storage }] },
        { name: kmsKeys.gkeSecrets, users: [{ agent: 'gke', email: agents.gke }] },
        // Node boot disks and the persistent disks of the CMEK StorageClass: both made by Compute Engine.
        { name: kmsKeys.disk, users: [{ agent: 'compute', email: agents.compute }] },
      ],
    },
    bucket: {
      name: names.bucket,
      location: config.project.region,
      kmsKey: kmsKeys.gcs,
      noncurrentVersionDays: config.storage.noncurrentVersionDays,
      abortIncompleteUploadDays: config.storage.abortIncompleteUploadDays,
      softDeleteDays: config.storage.softDeleteDays,
      ageRules: config.storage.ageRules,
      // The server proxies every artifact call: read, write and delete (roles/storage.objectUser,
      // cloud.google.com/iam/docs/roles-permissions/storage). Nobody else has a grant on the bucket.
      access: [{ serviceAccount: sa.mlflow.accountId, role: 'roles/storage.objectUser' }],
    },
    backupBucket: cloudsql
      ? undefined
      : {
          name: names.backupBucket,
          location: config.project.region,
          kmsKey: kmsKeys.gcs,
          retentionDays: config.database.statefulset.backup.retentionDays,
          deleteAfterDays: config.database.statefulset.backup.deleteAfterDays,
          abortIncompleteUploadDays: config.storage.abortIncompleteUploadDays,
          softDeleteDays: config.storage.softDeleteDays,
          // The backup identity alone, and it cannot delete or overwrite: roles/storage.objectCreator
          // (storage.objects.create, no delete) for the CronJob, roles/storage.objectViewer
          // (storage.objects.get and list) for the restore (cloud.google.com/iam/docs/roles-permissions/storage).
          // The MLflow server has no grant here.
          access: [
            { serviceAccount: sa.dbBackup.accountId, role: 'roles/storage.objectCreator' },
            { serviceAccount: sa.dbBackup.accountId, role: 'roles/storage.objectViewer' },
          ],
        },
    cloudSql: cloudsql
      ? {
          instance: names.cloudSql.instance,
          databaseVersion: sql.version,
          edition: sql.edition,
          tier: sql.tier,
          availability: sql.availability,
          diskAutoresizeLimitGb: sql.diskAutoresizeLimitGb,
          maxConnections: sql.maxConnections,
          backupRetentionCount: sql.backupRetentionCount,
          pointInTimeRecoveryDays: sql.pointInTimeRecoveryDays,
          // Two hours before maintenance, so a fresh backup exists when it starts.
          backupStartTime: `${String((sql.maintenanceHour + 22) % 24).padStart(2, '0')}:00`,
          maintenanceDay: sql.maintenanceDay,
          maintenanceHour: sql.maintenanceHour,
          network: network.network,
          allocatedIpRange: network.privateServicesRange,
          kmsKey: kmsKeys.sql,
          database: names.cloudSql.database,
          iamUsers: [
            { objectName: sa.mlflow.accountId, userName: names.cloudSql.iamUser },
            { objectName: sa.mlflowMigrate.accountId, userName: names.cloudSql.migrateIamUser },
            { objectName: sa.mlflowGc.accountId, userName: names.cloudSql.gcIamUser },
          ],
          adminUser: { name: names.cloudSql.adminUser, passwordSecret: { name: sql.adminSecret, key: 'password' } },
        }
      : undefined,
    network: {
      names: network,
      subnetCidr: config.network.subnetCidr,
      podsCidr: config.network.podsCidr,
      servicesCidr: config.network.servicesCidr,
      flowLogSampling: config.network.flowLogSampling,
      privateServicesCidr: cloudsql ? config.network.privateServicesCidr : undefined,
    },
    cluster: {
      name: names.cluster,
      releaseChannel: config.cluster.releaseChannel,
      zones: config.project.zones,
      network: network.network,
      subnet: network.subnet,
      podsRange: network.podsRange,
      servicesRange: network.servicesRange,
      masterCidr: config.network.masterCidr,
      authorizedNetworks: config.network.authorizedNetworks,
      workloadPool: names.workloadIdentityPool,
      secretsKeyPath: names.kms.keyPath('gkeSecrets'),
      bootDiskKey: kmsKeys.disk,
      nodeServiceAccount: sa.nodes.accountId,
      maintenanceStart: config.cluster.maintenanceStartTime,
      maintenanceHours: config.cluster.maintenanceWindowHours,
      interNodeEncryption: config.edge.interNodeEncryption,
      fqdnNetworkPolicy: model.workspaceEgressHosts.length > 0 && names.workspaces.length > 0,
      pools: [
        {
          name: `${names.cluster}-general`,
          machineType: config.cluster.machineType,
          diskSizeGb: config.cluster.diskSizeGb,
          diskType: config.cluster.diskType,
          minNodes: config.cluster.minNodes,
          maxNodes: config.cluster.maxNodes,
        },
        ...workspaceNodes,
      ],
    },
    serviceAccounts: [
      {
        accountId: sa.mlflow.accountId,
        displayName: 'MLflow tracking server',
        description: 'Artifacts in the MLflow bucket and, in cloudsql mode, the metadata database',
        projectRoles: cloudsql ? instanceGrants(config.project.id, names.cloudSql.instance, [CLOUD_SQL_CLIENT, CLOUD_SQL_INSTANCE_USER]) : [],
        workloadIdentityMember: workloadIdentityMember(names, sa.mlflow.kubernetes!),
      },
      ...(cloudsql
        ? [
            // The migration and gc log in to the database as themselves, never as the server: the same
            // two Cloud SQL roles on the instance only, and no grant on any bucket (gc deletes artifacts
            // through the server). What each may do inside the database is the grant Job's
            // (charts/mlflow/cloudsql-grant.sql): the migration acts as the tables' owner role, gc has DML.
            {
              accountId: sa.mlflowMigrate.accountId,
              displayName: 'MLflow schema migration',
              description: "Logs the migration Job in to the metadata database as its own IAM user, a member of the tables' owner role",
              projectRoles: instanceGrants(config.project.id, names.cloudSql.instance, [CLOUD_SQL_CLIENT, CLOUD_SQL_INSTANCE_USER]),
              workloadIdentityMember: workloadIdentityMember(names, sa.mlflowMigrate.kubernetes!),
            },
            // The migration's pre-migration backup (charts/mlflow/migrate.py, BACKUP_GATE=cloudsql): a
            // custom role that creates and reads backups of the instance and nothing else, and no pod
            // runs as it; the migration's account alone may mint its tokens. So the identity that may
            // take backups cannot touch the database, and the one that can holds no Admin API right.
            {
              accountId: sa.mlflowSqlBackup.accountId,
              displayName: 'MLflow pre-migration backup',
              description: 'Takes and reads back the on-demand Cloud SQL backup the migration Job needs before a schema change; acted as by the migration only',
              projectRoles: [
                {
                  role: customRoleName(config.project.id, names.cloudSql.backupRoleId),
                  condition: instanceAndBelow(config.project.id, names.cloudSql.instance),
                },
              ],
              tokenCreators: [sa.mlflowMigrate.accountId],
            },
            {
              accountId: sa.mlflowGc.accountId,
              displayName: 'MLflow gc',
              description: 'Logs mlflow gc in to the metadata database as its own IAM user, with DML only; no bucket rights',
              projectRoles: instanceGrants(config.project.id, names.cloudSql.instance, [CLOUD_SQL_CLIENT, CLOUD_SQL_INSTANCE_USER]),
              workloadIdentityMember: workloadIdentityMember(names, sa.mlflowGc.kubernetes!),
            },
            {
              accountId: sa.sqlGrant.accountId,
              displayName: 'MLflow database grant',
              description: 'Connects the one-shot grant Job to Cloud SQL (it logs in as the built-in admin, not as this account)',
              projectRoles: instanceGrants(config.project.id, names.cloudSql.instance, [CLOUD_SQL_CLIENT]),
              workloadIdentityMember: workloadIdentityMember(names, sa.sqlGrant.kubernetes!),
            },
          ]
        : [
            {
              accountId: sa.dbBackup.accountId,
              displayName: 'MLflow database backup',
              description: 'Writes pg_dump backups of the in-cluster database to the backup bucket, and reads them for a restore',
              workloadIdentityMember: workloadIdentityMember(names, sa.dbBackup.kubernetes!),
              // The migration Job uploads its pre-migration dump beside the nightly ones (the backup gate,
              // charts/mlflow/migration.ts): in statefulset mode this is its only Google identity.
              moreWorkloadIdentityMembers: (sa.dbBackup.alsoKubernetes ?? []).map((ksa) => ({
                suffix: ksa.name.slice(ksa.name.lastIndexOf('-') + 1),
                member: workloadIdentityMember(names, ksa),
              })),
            },
          ]),
      {
        accountId: sa.nodes.accountId,
        displayName: 'GKE nodes',
        description: 'Identity of the GKE nodes: logs, metrics and nothing else',
        projectRoles: ['roles/container.defaultNodeServiceAccount'],
      },
    ],
    logging: {
      prefix,
      retentionDays: config.monitoring.logRetentionDays,
      namespaces: watched,
      clusterName: names.cluster,
    },
    monitoring: {
      prefix,
      notificationEmail: config.monitoring.notificationEmail,
      clusterName: names.cluster,
      platformNamespace: names.namespaces.platform,
      namespaces: watched,
      mlflowHost: config.edge.enabled ? names.mlflowHost : undefined,
      cloudSqlDatabaseId: cloudsql ? `${config.project.id}:${names.cloudSql.instance}` : undefined,
      thresholds: {
        http5xxPercent: config.monitoring.http5xxPercent,
        containerRestarts: config.monitoring.containerRestarts,
        sqlCpuPercent: config.monitoring.sqlCpuPercent,
        sqlDiskPercent: config.monitoring.sqlDiskPercent,
        sqlConnections: config.monitoring.sqlConnections,
        pvcUsagePercent: config.monitoring.pvcUsageThresholdPercent,
      },
    },
    iapGrants: model.iapGrants,
    configConnectorServiceAccount: sa.configConnector.email,
  };
}

export class GcpChart extends PlatformChart {
  constructor(scope: Construct, id: string, props: GcpChartProps) {
    // No chart namespace: the Namespace itself is cluster-scoped; every object sets its namespace.
    super(scope, id, { instance: props.instance });
    const s = props.scope;
    const ns = new kube.KubeNamespace(this, 'namespace', {
      metadata: {
        name: s.namespace,
        annotations: {
          [ANNOTATIONS.projectId]: s.project,
          // Deleting the namespace would delete every object in it, and with them the GCP resources not abandoned.
          [ANNOTATIONS.fluxPrune]: 'disabled',
        },
      },
    });
    const parts: Construct[] = [
      new Apis(this, 'apis', { scope: s, apis: props.apis, cloudSqlServiceIdentity: props.cloudSqlServiceIdentity }),
      new Iam(this, 'iam', { scope: s, serviceAccounts: props.serviceAccounts }),
      new Kms(this, 'kms', { scope: s, ...props.kms }),
      new Network(this, 'network', { scope: s, ...props.network }),
      new ArtifactBucket(this, 'storage', { scope: s, ...props.bucket }),
      ...(props.backupBucket ? [new BackupBucket(this, 'backup-storage', { scope: s, ...props.backupBucket })] : []),
      ...(props.cloudSql ? [new CloudSql(this, 'cloud-sql', { scope: s, ...props.cloudSql })] : []),
      new Cluster(this, 'cluster', { scope: s, ...props.cluster }),
      new PlatformLogging(this, 'logging', { scope: s, ...props.logging }),
      new Monitoring(this, 'monitoring', { scope: s, ...props.monitoring }),
      ...(props.iapGrants?.length ? [new IapAccess(this, 'iap', { scope: s, grants: props.iapGrants })] : []),
      ...(props.configConnectorServiceAccount
        ? [new ConfigConnectorContext(this, 'config-connector', { scope: s, googleServiceAccount: props.configConnectorServiceAccount })]
        : []),
    ];
    parts.forEach((p) => p.node.addDependency(ns));
  }
}
