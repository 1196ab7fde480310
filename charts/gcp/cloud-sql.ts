/**
 * Cloud SQL for PostgreSQL (database mode `cloudsql`): private IP only on the platform VPC, reached
 * only through the Auth Proxy or connectors, with IAM database authentication for MLflow, CMEK,
 * automated backups with point-in-time recovery and deletion protection. One built-in admin user,
 * whose password Config Connector takes from an out-of-band Secret, exists for the grant Job alone.
 */
import { Construct } from 'constructs';
import { SqlDatabase, SqlInstance, SqlUser } from '../../imports/sql.cnrm.cloud.google.com';
import { EXTERNAL_SECRETS_ANNOTATION } from '../../common/contract';
import { GcpScope, kccMetadata } from './common';
import type { IamCondition, ProjectGrant } from './iam';

/**
 * The IAM condition that narrows a project-level Cloud SQL role to one instance. Cloud SQL has no
 * instance-level IAM policy, so its roles are granted on the project; the condition keeps them to the
 * platform's instance. Expression as Google gives it for "Allow users to connect to specific
 * instances" (cloud.google.com/sql/docs/postgres/iam-conditions; the same expression in Google's
 * sample terraform-docs-samples cloud_sql/instance_iam_condition/main.tf): resource.name is
 * `projects/<project id>/instances/<instance>` and resource.type `sqladmin.googleapis.com/Instance`.
 * The title is also the end of the grant's object name (charts/gcp/iam.ts).
 */
export function onlyInstance(project: string, instance: string): IamCondition {
  return {
    title: 'instance-only',
    description: `Only the Cloud SQL instance ${instance}`,
    expression: `resource.name == 'projects/${project}/instances/${instance}' && resource.type == 'sqladmin.googleapis.com/Instance'`,
  };
}

/**
 * The condition of the pre-migration backup's custom role: the instance, and what Cloud SQL names
 * below it. The Admin API's backup methods name the instance in their path
 * (projects/{project}/instances/{instance}/backupRuns[/{id}]), and a condition can narrow Cloud SQL
 * grants to instances and to backup runs, not to databases ("IAM conditions can only be used to
 * restrict access to DatabaseInstances or BackupRuns": terraform-google-modules/terraform-google-sql-db
 * pull request 616, merged 2024-07-15). Google does not write down which of the two each backup
 * permission is checked on, so instanceGrants' condition (resource.type Instance) could refuse
 * backupRuns.get; this one admits the instance's own name and the names under it, of the Admin API
 * only, and no other instance's. A test pins the expression; only a real project can show it is enough.
 */
export function instanceAndBelow(project: string, instance: string): IamCondition {
  const name = `projects/${project}/instances/${instance}`;
  return {
    title: 'instance-and-backups',
    description: `Only the Cloud SQL instance ${instance} and its backups`,
    expression: `resource.service == 'sqladmin.googleapis.com' && (resource.name == '${name}' || resource.name.startsWith('${name}/'))`,
  };
}

/**
 * The permissions of the pre-migration backup (charts/mlflow/migrate.py, BACKUP_GATE=cloudsql), one
 * per Admin API call it makes, as Google maps methods to permissions
 * (https://cloud.google.com/sql/docs/postgres/project-access-control, "Required IAM permissions for API
 * methods": backupRuns.insert cloudsql.backupRuns.create, backupRuns.get cloudsql.backupRuns.get,
 * backupRuns.list cloudsql.backupRuns.list; https://cloud.google.com/sql/docs/postgres/iam-permissions:
 * "Get the operations of an instance" cloudsql.instances.get). The list is the fallback when a finished
 * operation names no backup. No predefined role is this narrow: Cloud SQL Viewer holds only the
 * get, list and export permissions, so it cannot take a backup, and Cloud SQL Editor, the next one up,
 * "provides full control of existing Cloud SQL instances excluding modifying users, SSL certificates
 * or deleting resources" (https://cloud.google.com/sql/docs/postgres/iam-roles;
 * https://cloud.google.com/iam/docs/roles-permissions/cloudsql). No delete, no restore, no update.
 */
export const SQL_BACKUP_PERMISSIONS: readonly string[] = [
  'cloudsql.backupRuns.create',
  'cloudsql.backupRuns.get',
  'cloudsql.backupRuns.list',
  'cloudsql.instances.get',
];

/**
 * The Cloud SQL roles of an identity, each narrowed to the instance. roles/cloudsql.client holds
 * cloudsql.instances.connect (what the Auth Proxy checks), roles/cloudsql.instanceUser holds
 * cloudsql.instances.login (IAM database login) (cloud.google.com/sql/docs/postgres/iam-roles;
 * cloud.google.com/iam/docs/roles-permissions/cloudsql). Both permissions are checked on the instance,
 * the resource the condition names: the Cloud SQL page on IAM conditions lists "resource attributes of
 * database instances" for conditional access (cloud.google.com/sql/docs/postgres/iam-conditions).
 */
export function instanceGrants(project: string, instance: string, roles: readonly string[]): ProjectGrant[] {
  return roles.map((role) => ({ role, condition: onlyInstance(project, instance) }));
}

/** Connects through the Auth Proxy (cloudsql.instances.connect). */
export const CLOUD_SQL_CLIENT = 'roles/cloudsql.client';
/** Logs in as an IAM database user (cloudsql.instances.login). */
export const CLOUD_SQL_INSTANCE_USER = 'roles/cloudsql.instanceUser';

/** Flags: IAM login, plus the connection and statement logging CIS asks for. */
const DATABASE_FLAGS: readonly { name: string; value: string }[] = [
  { name: 'cloudsql.iam_authentication', value: 'on' },
  { name: 'log_checkpoints', value: 'on' },
  { name: 'log_connections', value: 'on' },
  { name: 'log_disconnections', value: 'on' },
  { name: 'log_lock_waits', value: 'on' },
  { name: 'log_min_duration_statement', value: '-1' },
  { name: 'log_min_error_statement', value: 'error' },
  { name: 'log_min_messages', value: 'warning' },
];

export interface CloudSqlProps {
  readonly scope: GcpScope;
  /** Instance name; Cloud SQL does not allow reusing a name for about a week after deletion. */
  readonly instance: string;
  readonly databaseVersion: string;
  readonly edition: 'ENTERPRISE' | 'ENTERPRISE_PLUS';
  readonly tier: string;
  readonly availability: 'ZONAL' | 'REGIONAL';
  /**
   * Largest size in GB automatic growth may reach; 0 means no limit.
   * @default 0
   */
  readonly diskAutoresizeLimitGb?: number;
  readonly backupRetentionCount: number;
  readonly pointInTimeRecoveryDays: number;
  /** Start of the daily backup, "HH:MM" UTC. */
  readonly backupStartTime: string;
  /** 1 = Monday ... 7 = Sunday. */
  readonly maintenanceDay: number;
  readonly maintenanceHour: number;
  /** Name of the ComputeNetwork object of the VPC. */
  readonly network: string;
  /** GCP name of the private services access range (a plain string in the instance spec). */
  readonly allocatedIpRange: string;
  /** Name of the KMSCryptoKey object. */
  readonly kmsKey: string;
  /** Database name. */
  readonly database: string;
  /**
   * The IAM database users (the server's, the migration's, gc's): each its object name (the Google
   * service account id) and its database user name.
   */
  readonly iamUsers: readonly { readonly objectName: string; readonly userName: string }[];
  /**
   * The max_connections flag; changing it restarts the instance.
   * @default - unset: Cloud SQL's default for the tier's memory
   */
  readonly maxConnections?: number;
  /**
   * The built-in admin user and the Secret (in the scope's namespace, created out of band) whose key
   * holds its password.
   * @default - no admin user
   */
  readonly adminUser?: { readonly name: string; readonly passwordSecret: { readonly name: string; readonly key: string } };
}

export class CloudSql extends Construct {
  constructor(scope: Construct, id: string, props: CloudSqlProps) {
    super(scope, id);
    const s = props.scope;
    const instance = new SqlInstance(this, 'instance', {
      metadata: kccMetadata(s, props.instance, { stateful: true }),
      spec: {
        region: s.region,
        databaseVersion: props.databaseVersion,
        encryptionKmsCryptoKeyRef: { name: props.kmsKey },
        settings: {
          edition: props.edition,
          tier: props.tier,
          availabilityType: props.availability,
          deletionProtectionEnabled: true,
          diskType: 'PD_SSD',
          // No diskSize: with automatic growth a set size differs from the grown disk, and the direct
          // SQLInstance controller sends it as an update that would shrink the disk, which Cloud SQL
          // refuses. Unset, the controller keeps the current size (k8s-config-connector v1.155.1,
          // pkg/controller/direct/sql/sqlinstance_defaults.go: "If desired DiskSize is not specified and
          // StorageAutoResize is enabled, use the actual disk size"; sqlinstance_equality.go diffs
          // dataDiskSizeGb). The disk starts at the Cloud SQL default and only grows.
          diskAutoresize: true,
          diskAutoresizeLimit: props.diskAutoresizeLimitGb ?? 0,
          backupConfiguration: {
            enabled: true,
            startTime: props.backupStartTime,
            location: s.region,
            pointInTimeRecoveryEnabled: true,
            transactionLogRetentionDays: props.pointInTimeRecoveryDays,
            backupRetentionSettings: { retainedBackups: props.backupRetentionCount, retentionUnit: 'COUNT' },
          },
          ipConfiguration: {
            ipv4Enabled: false,
            privateNetworkRef: { name: props.network },
            allocatedIpRange: props.allocatedIpRange,
            sslMode: 'ENCRYPTED_ONLY',
          },
          connectorEnforcement: 'REQUIRED',
          databaseFlags: [
            ...DATABASE_FLAGS.map((f) => ({ ...f })),
            ...(props.maxConnections !== undefined ? [{ name: 'max_connections', value: String(props.maxConnections) }] : []),
          ],
          insightsConfig: { queryInsightsEnabled: true, recordApplicationTags: true, recordClientAddress: true, queryStringLength: 1024 },
          maintenanceWindow: { day: props.maintenanceDay, hour: props.maintenanceHour, updateTrack: 'stable' },
        },
      },
    });
    // Dropping a Postgres database fails while other users can reach it; the spec field keeps it.
    new SqlDatabase(this, 'database', {
      metadata: kccMetadata(s, props.database, { stateful: true }),
      spec: { instanceRef: { name: instance.name }, charset: 'UTF8', collation: 'en_US.UTF8', deletionPolicy: 'ABANDON' },
    });
    // Kept on delete: the server's user owned MLflow's tables before they went to the owner role, and
    // the grants made to and by these users would make Cloud SQL refuse to drop them anyway.
    props.iamUsers.forEach((user, i) => {
      // The first keeps the construct id it always had: its place in the rendered file stays put.
      new SqlUser(this, i === 0 ? 'iam-user' : `iam-user-${user.objectName}`, {
        metadata: kccMetadata(s, user.objectName, { stateful: true }),
        spec: { instanceRef: { name: instance.name }, resourceId: user.userName, type: 'CLOUD_IAM_SERVICE_ACCOUNT' },
      });
    });
    if (props.adminUser) {
      // Users created through Cloud SQL are members of cloudsqlsuperuser with CREATEROLE, CREATEDB and
      // LOGIN (cloud.google.com/sql/docs/postgres/users, "Other PostgreSQL users"); as a member of the
      // role that owns the database it may grant on schema public. The password comes from
      // spec.password.valueFrom.secretKeyRef, "a Secret in the resource's namespace" (SQLUser CRD,
      // k8s-config-connector v1.155.1): nothing of it is rendered. Abandoned on delete: the default
      // privileges it granted would make Cloud SQL refuse to drop it anyway.
      new SqlUser(this, 'admin-user', {
        metadata: kccMetadata(s, props.adminUser.name, { stateful: true, annotations: { [EXTERNAL_SECRETS_ANNOTATION]: props.adminUser.passwordSecret.name } }),
        spec: {
          instanceRef: { name: instance.name },
          type: 'BUILT_IN',
          password: { valueFrom: { secretKeyRef: { name: props.adminUser.passwordSecret.name, key: props.adminUser.passwordSecret.key } } },
        },
      });
    }
  }
}
