/** The MLflow metadata store: Cloud SQL through the Auth Proxy, or the in-cluster StatefulSet. */
import { z } from 'zod';
import { POSTGRES_IMAGES, postgresImageProblem, postgresMajor } from './postgres-image';
import { DB_FIXED_ROLES } from '../../common/contract';
import { cronSchedule, dnsLabel, duration, image, positiveInt, resources, size } from './primitives';

/**
 * Why `diskSizeGb` is gone. With automatic growth on, a set `settings.diskSize` differs from the grown
 * disk, and Config Connector's SQLInstance controller (direct, the only one for this kind) sends it as
 * an update that would shrink the disk, which Cloud SQL refuses; left unset, the controller takes the
 * current size (k8s-config-connector v1.155.1, pkg/controller/direct/sql/sqlinstance_defaults.go and
 * sqlinstance_equality.go; merge.go before v1.126).
 */
export const DISK_SIZE_REMOVED =
  'is no longer a setting: with automatic disk growth, a fixed size makes Config Connector try to shrink the grown disk back, which Cloud SQL refuses. Remove it; the disk starts at the Cloud SQL default, grows by itself and can be grown at once with "gcloud sql instances patch INSTANCE --storage-size=GB". Cap the growth with database.cloudsql.diskAutoresizeLimitGb (docs/gcp.md, "Cloud SQL disk")';

export const cloudSqlSchema = z
  .strictObject({
    version: z.enum(['POSTGRES_15', 'POSTGRES_16', 'POSTGRES_17']).default('POSTGRES_16').describe('PostgreSQL major version.'),
    edition: z.enum(['ENTERPRISE', 'ENTERPRISE_PLUS']).default('ENTERPRISE').describe('Cloud SQL edition.'),
    tier: z
      .string()
      .regex(/^db-(custom-[1-9][0-9]*-[1-9][0-9]*|perf-optimized-N-[0-9]+|[a-z0-9-]+)$/, 'must be a Cloud SQL machine tier such as "db-custom-2-7680"')
      .default('db-custom-2-7680')
      .describe('Machine tier.'),
    availability: z.enum(['ZONAL', 'REGIONAL']).default('REGIONAL').describe('REGIONAL gives a standby in a second zone (HA).'),
    diskSizeGb: z
      .never({ error: DISK_SIZE_REMOVED })
      .optional()
      .describe('No longer a setting: the disk starts at the Cloud SQL default and grows automatically (see diskAutoresizeLimitGb).'),
    diskAutoresizeLimitGb: z
      .number()
      .int('must be 0 (no limit) or a whole number of GB from 10 up')
      .min(0, 'must be 0 (no limit) or a whole number of GB from 10 up')
      .refine((gb) => gb === 0 || gb >= 10, 'must be 0 (no limit) or a whole number of GB from 10 up (Cloud SQL disks start at 10 GB)')
      .default(0)
      .describe('Largest size in GB the automatic disk growth may reach; 0 means no limit. The disk never shrinks.'),
    backupRetentionCount: positiveInt().default(14).describe('Number of automated daily backups kept.'),
    pointInTimeRecoveryDays: z
      .number()
      .int('must be a whole number of days from 1 to 7')
      .min(1, 'must be a whole number of days from 1 to 7')
      .max(7, 'must be a whole number of days from 1 to 7')
      .default(7)
      .describe('Days of transaction logs kept for point-in-time recovery.'),
    maintenanceDay: z
      .number()
      .int()
      .min(1, 'must be 1 (Monday) to 7 (Sunday)')
      .max(7, 'must be 1 (Monday) to 7 (Sunday)')
      .default(7)
      .describe('Maintenance day, 1 = Monday.'),
    maintenanceHour: z
      .number()
      .int()
      .min(0, 'must be an hour from 0 to 23')
      .max(23, 'must be an hour from 0 to 23')
      .default(3)
      .describe('Maintenance hour (UTC).'),
    clientImage: image
      .refine((value) => postgresMajor(value) !== undefined, `must be pinned to a PostgreSQL major and minor version such as "${POSTGRES_IMAGES[16]}"`)
      .optional()
      .describe(
        `Image with psql that the one-shot grant Job runs, as uid 999 (the official postgres image's postgres user); pinned to major and minor, at the major of version. Default: the official image of that major (${Object.values(POSTGRES_IMAGES).join(', ')}).`,
      ),
    maxConnections: z
      .number()
      .int('must be a whole number of connections from 14 to 262143')
      .min(14, 'must be a whole number of connections from 14 to 262143')
      .max(262143, 'must be a whole number of connections from 14 to 262143')
      .optional()
      .describe(
        "The instance's max_connections flag, rendered on the SQLInstance (changing it restarts the instance). Default: unset, Cloud SQL's default for the tier's memory (https://cloud.google.com/sql/docs/postgres/flags); required for a tier whose memory its name does not tell (db-perf-optimized-N-*). Synth checks MLflow's worst case of connections against it.",
      ),
    adminSecret: dnsLabel(253)
      .default('mlflow-sql-admin')
      .describe(
        'Secret created out of band, once, with key password: the password of the built-in admin user <namePrefix>mlflow-admin that the one-shot grant Job logs in as. Needed twice with the same value: in namespaces.gcp (Config Connector sets the password from it) and in namespaces.platform (the grant Job reads it).',
      ),
  })
  .prefault({})
  .describe('Cloud SQL for PostgreSQL (database mode cloudsql).');

/** A PostgreSQL role name that needs no quoting. */
const roleName = z
  .string()
  .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a PostgreSQL role name: lower-case letters, digits and "_", starting with a letter or "_", at most 63 characters');

export const statefulSetDbSchema = z
  .strictObject({
    image: image
      .superRefine((value, ctx) => {
        const problem = postgresImageProblem(value);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .default(POSTGRES_IMAGES[16])
      .describe('Official postgres image, pinned to major and minor (16 or 17: the data layout of 18+ differs).'),
    storageSize: size.default('20Gi').describe('Size of the data volume; it can grow later (the StorageClass allows expansion), never shrink.'),
    diskType: z.enum(['pd-balanced', 'pd-ssd']).default('pd-balanced').describe('Persistent Disk type of the data volume.'),
    regionalDisk: z
      .boolean()
      .default(false)
      .describe('Replicate the data disk synchronously to a second zone (regional Persistent Disk); needs at least two project.zones.'),
    credentialsSecret: dnsLabel(253)
      .default('mlflow-db-credentials')
      .describe('Secret created out of band with keys postgres-password, mlflow-password and monitoring-password.'),
    user: roleName
      .refine((name) => !(Object.values(DB_FIXED_ROLES) as string[]).includes(name) && !name.startsWith('pg_'), {
        message: `must not be ${Object.values(DB_FIXED_ROLES)
          .map((r) => `"${r}"`)
          .join(' or ')} (the superuser and the exporter's role) nor start with "pg_" (reserved by PostgreSQL)`,
      })
      .default('mlflow')
      .describe('Role MLflow connects as; it owns the MLflow database.'),
    maxConnections: z
      .number()
      .int('must be a whole number of connections from 20 to 10000')
      .min(20, 'must be a whole number of connections from 20 to 10000')
      .max(10000, 'must be a whole number of connections from 20 to 10000')
      .default(400)
      .describe(
        "PostgreSQL's max_connections, rendered as -c max_connections. PostgreSQL's own default, 100, cannot hold the worst case of the default MLflow settings (4 replicas and a rollout's 2 extra pods, 1 worker each, pools of 4 + 6: 208); each connection in use costs the server a few MB of its memory. Synth checks MLflow's worst case of connections against it.",
      ),
    resources: resources({ requests: { cpu: '250m', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } }).describe(
      'PostgreSQL container resources (memory request equal to the limit keeps the database out of the first eviction tier).',
    ),
    exporter: z
      .strictObject({
        image: image.default('quay.io/prometheuscommunity/postgres-exporter:v0.19.1').describe('Prometheus PostgreSQL exporter image.'),
        resources: resources({ requests: { cpu: '20m', memory: '64Mi' }, limits: { cpu: '200m', memory: '128Mi' } }).describe('Exporter container resources.'),
      })
      .prefault({})
      .describe('Metrics exporter sidecar, scraped by Google Cloud Managed Service for Prometheus.'),
    backupSchedule: cronSchedule.default('0 2 * * *').describe('Cron schedule (UTC) of the pg_dump backup to the backup bucket.'),
    backup: z
      .strictObject({
        uploaderImage: image
          .default('gcr.io/google.com/cloudsdktool/google-cloud-cli:562.0.0-slim')
          .describe('Google Cloud CLI image that uploads the dump (and downloads it for a restore) through Workload Identity.'),
        deadline: duration.default('2h').describe('A backup Job running longer than this is stopped and marked failed.'),
        scratchSize: size.default('20Gi').describe('Largest dump the backup and restore pods may hold on their scratch volume.'),
        resources: resources({ requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } }).describe(
          'Resources of each backup and restore container.',
        ),
        bucket: z
          .string()
          .regex(
            /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/,
            'must be a bucket name: 3-63 lower-case letters, digits or "-" (it is also the name of a Kubernetes object)',
          )
          .optional()
          .describe('Backup bucket name (a bucket of its own: the MLflow server has no right on it). Default: <project id>-mlflow-db-backups.'),
        retentionDays: z
          .number()
          .int('must be a whole number of days from 1 to 36500')
          .min(1, 'must be a whole number of days from 1 to 36500')
          .max(36500, 'must be a whole number of days from 1 to 36500')
          .default(30)
          .describe("The backup bucket's retention policy: no dump can be deleted or overwritten before it is this many days old, by anyone."),
        deleteAfterDays: positiveInt()
          .optional()
          .describe('Dumps older than this many days are deleted by the bucket lifecycle; at least retentionDays. Default: kept until deleted by hand.'),
      })
      .prefault({})
      .refine((b) => b.deleteAfterDays === undefined || b.deleteAfterDays >= b.retentionDays, {
        message: 'must be at least retentionDays: the retention policy keeps every dump that long',
        path: ['deleteAfterDays'],
      })
      .describe('Scheduled logical backups (pg_dump, custom format) to gs://<backup bucket>/backups/.'),
  })
  .prefault({})
  .describe('In-cluster PostgreSQL StatefulSet (database mode statefulset).');

export const databaseSchema = z
  .strictObject({
    mode: z.enum(['cloudsql', 'statefulset']).default('cloudsql').describe('Where MLflow keeps its metadata.'),
    name: dnsLabel().default('mlflow').describe('Database name.'),
    cloudsql: cloudSqlSchema,
    statefulset: statefulSetDbSchema,
  })
  .prefault({})
  .describe('MLflow metadata database.');
