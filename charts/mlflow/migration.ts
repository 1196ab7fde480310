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
import { databasePoolEnv, jobServiceAccount, type MlflowJobAccount, type MlflowWorkload } from './workload';

/** The migration Job's deadline; it waits for the Cloud SQL grant for at most MIGRATION_GRANT_WAIT_SECONDS of it. */
export const MIGRATION_DEADLINE_SECONDS = 3600;
/** Leaves a quarter of the deadline for the migration itself once the grant is there. */
export const MIGRATION_GRANT_WAIT_SECONDS = 2700;

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
    const migrationSpec: kube.JobSpec = {
      backoffLimit: 6,
      activeDeadlineSeconds: MIGRATION_DEADLINE_SECONDS,
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
        ],
        true,
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
