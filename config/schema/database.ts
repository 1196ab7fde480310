/** The MLflow metadata store: Cloud SQL through the Auth Proxy, or the in-cluster StatefulSet. */
import { z } from 'zod';
import { cronSchedule, dnsLabel, image, positiveInt, resources, size } from './primitives';

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
    diskSizeGb: positiveInt().default(20).describe('Initial disk size in GB; it grows automatically.'),
    backupRetentionCount: positiveInt().default(14).describe('Number of automated daily backups kept.'),
    pointInTimeRecoveryDays: z
      .number()
      .int('must be a whole number of days from 1 to 7')
      .min(1, 'must be a whole number of days from 1 to 7')
      .max(7, 'must be a whole number of days from 1 to 7')
      .default(7)
      .describe('Days of transaction logs kept for point-in-time recovery.'),
    maintenanceDay: z.number().int().min(1, 'must be 1 (Monday) to 7 (Sunday)').max(7, 'must be 1 (Monday) to 7 (Sunday)').default(7).describe('Maintenance day, 1 = Monday.'),
    maintenanceHour: z.number().int().min(0, 'must be an hour from 0 to 23').max(23, 'must be an hour from 0 to 23').default(3).describe('Maintenance hour (UTC).'),
  })
  .prefault({})
  .describe('Cloud SQL for PostgreSQL (database mode cloudsql).');

export const statefulSetDbSchema = z
  .strictObject({
    image: image.default('postgres:16.4-bookworm').describe('Official postgres image, pinned to major and minor.'),
    storageSize: size.default('20Gi').describe('Size of the data volume.'),
    credentialsSecret: dnsLabel(253)
      .default('mlflow-db-credentials')
      .describe('Secret created out of band with keys postgres-password and mlflow-password.'),
    backupSchedule: cronSchedule.default('0 2 * * *').describe('Cron schedule of the pg_dump backup to the artifact bucket.'),
    resources: resources({ requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '1', memory: '1Gi' } }).describe('PostgreSQL container resources.'),
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
