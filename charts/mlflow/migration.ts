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
import { databasePoolEnv, noGoogleIdentityServiceAccount, type MlflowWorkload } from './workload';

/** The migration Job's deadline; it waits for the Cloud SQL grant for at most MIGRATION_GRANT_WAIT_SECONDS of it. */
export const MIGRATION_DEADLINE_SECONDS = 3600;
/** Leaves a quarter of the deadline for the migration itself once the grant is there. */
export const MIGRATION_GRANT_WAIT_SECONDS = 2700;

export interface MlflowMigrationProps {
  /** Prefix of the Job's name. */
  readonly name: string;
  readonly workload: MlflowWorkload;
  /**
   * A ServiceAccount of its own, without Google identity (statefulset mode: a password login, and no
   * right on the artifact bucket).
   * @default - the server's ServiceAccount: in cloudsql mode the migration logs in as the server's IAM database user
   */
  readonly serviceAccount?: string;
}

export class MlflowMigration extends Construct {
  constructor(scope: Construct, id: string, props: MlflowMigrationProps) {
    super(scope, id);
    const w = props.workload.as(
      props.serviceAccount && noGoogleIdentityServiceAccount(this, 'service-account', props.serviceAccount, props.workload.labels('migrate')),
    );
    const migrationSpec: kube.JobSpec = {
      backoffLimit: 6,
      activeDeadlineSeconds: MIGRATION_DEADLINE_SECONDS,
      // The auth tables' upgrade imports mlflow.server.auth, which reads the server's auth file at import.
      template: w.oneShotPod(
        'migrate',
        'migrate',
        mlflowProgram('migrate'),
        [{ name: 'GRANT_WAIT_SECONDS', value: String(MIGRATION_GRANT_WAIT_SECONDS) }, authConfigEnv, ...databasePoolEnv(JOB_POOL)],
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
