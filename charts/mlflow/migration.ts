/**
 * The schema migration: a Job per image (and per change of its pod), which the servers wait for
 * before serving. A Job's pod template is immutable, so its name carries a hash of its spec.
 */
import { Construct } from 'constructs';
import * as kube from '../../imports/k8s-1.31';
import { contentHash } from '../lib/content-hash';
import { labelValue } from '../lib/labels';
import { authConfigEnv } from './auth';
import { mlflowProgram } from './programs';
import { JOB_POOL } from '../../model/connection-budget';
import { ownershipEnv } from './database';
import { databasePoolEnv, jobServiceAccount, type MlflowJobAccount, type MlflowWorkload, type OneShotPrelude } from './workload';
import { restrictedContainer } from '../lib/pod';
import { bashScript } from '../lib/script-files';
import { clientEnv, cloudCliEnv, POSTGRES_UID, type PostgresBackupProps, SCRIPT_FILES, UPLOADER_UID } from '../postgres';

/** The migration Job's deadline; it waits for the Cloud SQL grant for at most MIGRATION_GRANT_WAIT_SECONDS of it. */
export const MIGRATION_DEADLINE_SECONDS = 3600;
/** Leaves a quarter of the deadline for the backup and the migration itself once the grant is there. */
export const MIGRATION_GRANT_WAIT_SECONDS = 2700;
/**
 * How long the cloudsql backup gate waits for its on-demand backup to be done (BACKUP_WAIT_SECONDS).
 * The long grant wait belongs to a first install, whose empty database needs no backup; an upgrade
 * finds the grant at once and has the deadline for the backup and the migration. Even after the whole
 * grant wait, the two waits leave the migration 300s.
 */
export const MIGRATION_BACKUP_WAIT_SECONDS = 600;

/** The on-demand Cloud SQL backup the migration takes before a schema change (charts/mlflow/migrate.py, BACKUP_GATE=cloudsql). */
export interface MigrationCloudSqlBackup {
  /** Project id of the instance. */
  readonly project: string;
  /** The Cloud SQL instance's name. */
  readonly instance: string;
  /** Email of the Google service account the backup runs as (the migration's own account may act as it). */
  readonly account: string;
}

/** The backup gate's environment in cloudsql mode. */
export function cloudSqlBackupEnv(backup: MigrationCloudSqlBackup): kube.EnvVar[] {
  return [
    { name: 'BACKUP_GATE', value: 'cloudsql' },
    { name: 'CLOUDSQL_PROJECT', value: backup.project },
    { name: 'CLOUDSQL_INSTANCE', value: backup.instance },
    { name: 'BACKUP_ACCOUNT', value: backup.account },
    { name: 'BACKUP_WAIT_SECONDS', value: String(MIGRATION_BACKUP_WAIT_SECONDS) },
  ];
}

export interface MlflowMigrationProps {
  /** Prefix of the Job's name. */
  readonly name: string;
  readonly workload: MlflowWorkload;
  /**
   * A ServiceAccount of its own, never the server's: without Google identity in statefulset mode (a
   * password login), with a Google service account of its own in cloudsql mode, whose IAM database
   * user is a member of the tables' owner role and which has no right on the artifact bucket.
   */
  readonly serviceAccount: MlflowJobAccount;
  /**
   * statefulset mode: the in-cluster database's backup, whose dump and upload the backup gate runs
   * before a migration that changes the schema (its image, Secret, bucket prefix; `serviceAccount`
   * acts as its Google service account).
   * @default - no init containers: cloudsql mode, whose gate is the migration's own call to the Admin API
   */
  readonly backupGate?: PostgresBackupProps;
  /**
   * cloudsql mode: the on-demand backup the migration takes before a schema change.
   * @default - none
   */
  readonly cloudSqlBackup?: MigrationCloudSqlBackup;
}

/** Where the backup gate's init containers and the migration share what they know. */
const GATE_DIR = '/backup';
export const BACKUP_PLAN_FILE = `${GATE_DIR}/plan`;
export const BACKUP_RECORD_FILE = `${GATE_DIR}/record`;
const GATE_DUMP_FILE = `${GATE_DIR}/pre-migration.dump`;

/**
 * statefulset mode: the backup gate's init containers. The plan (MLflow image) writes the change a
 * migration would make; only then the dump (the database's image: pg_dump and a full read-back, as
 * the nightly backup) and the upload beside the nightly dumps (Cloud CLI image, the backup's Google
 * identity), which records the object. The migration refuses a change the record does not vouch for.
 */
function statefulsetGate(w: MlflowWorkload, b: PostgresBackupProps): { prelude: OneShotPrelude; env: kube.EnvVar[] } {
  const scratch: kube.VolumeMount = { name: 'backup', mountPath: GATE_DIR };
  const tmp: kube.VolumeMount = { name: 'tmp', mountPath: '/tmp' };
  const plan: kube.EnvVar = { name: 'BACKUP_PLAN_FILE', value: BACKUP_PLAN_FILE };
  const dumpFile: kube.EnvVar = { name: 'DUMP_FILE', value: GATE_DUMP_FILE };
  const initContainers = [
    w.programContainer('backup-plan', mlflowProgram('backup_plan'), [plan, authConfigEnv], [scratch], true),
    restrictedContainer({
      name: 'backup-dump',
      image: b.image,
      ...bashScript(SCRIPT_FILES.dump),
      env: [...clientEnv(b), dumpFile, plan],
      resources: b.backup.resources,
      runAsUser: POSTGRES_UID,
      runAsGroup: POSTGRES_UID,
      volumeMounts: [scratch, tmp, w.caMount],
    }),
    restrictedContainer({
      name: 'backup-upload',
      image: b.backup.uploaderImage,
      ...bashScript(SCRIPT_FILES.storage, 'upload'),
      env: [...cloudCliEnv(b), dumpFile, plan, { name: 'BACKUP_RECORD_FILE', value: BACKUP_RECORD_FILE }],
      resources: b.backup.resources,
      runAsUser: UPLOADER_UID,
      runAsGroup: UPLOADER_UID,
      volumeMounts: [scratch, tmp],
    }),
  ];
  return {
    prelude: { initContainers, volumes: [{ name: 'backup', emptyDir: { sizeLimit: kube.Quantity.fromString(b.backup.scratchSize) } }], mounts: [scratch] },
    env: [{ name: 'BACKUP_GATE', value: 'statefulset' }, plan, { name: 'BACKUP_RECORD_FILE', value: BACKUP_RECORD_FILE }],
  };
}

export class MlflowMigration extends Construct {
  constructor(scope: Construct, id: string, props: MlflowMigrationProps) {
    super(scope, id);
    // The server's IAM user, which owned the tables before the migration had a login of its own.
    const serverDb = props.workload.database;
    const w = props.workload.as(
      jobServiceAccount(this, 'service-account', props.serviceAccount, props.workload.labels('migrate')),
      props.serviceAccount.google?.iamUser,
    );
    const gate = props.backupGate ? statefulsetGate(w, props.backupGate) : undefined;
    const migrationSpec: kube.JobSpec = {
      backoffLimit: 6,
      // The backup gate's dump may take as long as a nightly backup may.
      activeDeadlineSeconds: MIGRATION_DEADLINE_SECONDS + (props.backupGate?.backup.deadlineSeconds ?? 0),
      // The auth tables' upgrade imports mlflow.server.auth, which reads the server's auth file at import.
      template: w.oneShotPod(
        'migrate',
        'migrate',
        mlflowProgram('migrate'),
        [
          { name: 'GRANT_WAIT_SECONDS', value: String(MIGRATION_GRANT_WAIT_SECONDS) },
          // cloudsql: it acts as the owner role, and takes the tables over from the server's IAM user once.
          ...ownershipEnv(w.database, serverDb.mode === 'cloudsql' ? serverDb.iamUser : undefined),
          authConfigEnv,
          ...databasePoolEnv(JOB_POOL),
          ...(gate?.env ?? []),
          // cloudsql: the backup gate takes an on-demand backup through the Admin API before a schema change.
          ...(props.cloudSqlBackup ? cloudSqlBackupEnv(props.cloudSqlBackup) : []),
        ],
        true,
        gate?.prelude,
      ),
    };
    const migrationBase = `${props.name}-migrate-${labelValue(w.version)
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '-')}`
      .slice(0, 53)
      .replace(/-+$/, '');
    new kube.KubeJob(this, 'migration', {
      metadata: {
        // A Job's pod template is immutable: any change to it must become a new Job, so the name carries
        // a hash of the spec. An unchanged spec keeps its name and re-applies as a no-op.
        name: `${migrationBase}-${contentHash(migrationSpec)}`,
        labels: w.labels('migrate'),
        annotations: { 'mlflow-gke/purpose': 'Runs the MLflow schema migration of this image once; servers wait for it before serving.' },
      },
      spec: migrationSpec,
    });
  }
}
