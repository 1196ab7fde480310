/**
 * The restore of the in-cluster PostgreSQL from a backup in the backup bucket, as a Job template in
 * `dist/tests/`: `kubectl apply -f dist` never runs it; an operator creates it on purpose (the
 * procedure is in docs/postgres.md). It runs with the backup's identity and NetworkPolicies, which the
 * postgres chart already allows for pods of component `restore`.
 */
import { Construct } from 'constructs';
import type { PlatformModel } from '../model';
import { imageTag } from '../config/schema/primitives';
import * as kube from '../imports/k8s-1.31';
import { appLabels } from './lib/labels';
import { PlatformChart } from './lib/platform-chart';
import { contentHash } from './lib/content-hash';
import { restrictedContainer } from './lib/pod';
import { bashScript } from './lib/script-files';
import {
  backupPodSpec,
  clientEnv,
  clientMounts,
  cloudCliEnv,
  postgresBackupOf,
  PostgresBackupProps,
  POSTGRES_UID,
  scratchMounts,
  SCRIPT_FILES,
  UPLOADER_UID,
} from './postgres';

/** The restore reads whatever object BACKUP_OBJECT names; `latest` picks the newest dump under the prefix. */
const LATEST = 'latest';
export const RESTORE_FILE = '/backup/restore.dump';

export type PostgresRestoreChartProps = PostgresBackupProps;

/** The restore reads the database, its Secrets and its backup where the postgres chart put them (postgresBackupOf). */
export function postgresRestoreChartProps(model: PlatformModel): PostgresRestoreChartProps {
  return postgresBackupOf(model);
}

export class PostgresRestoreChart extends PlatformChart {
  constructor(scope: Construct, id: string, props: PostgresRestoreChartProps) {
    super(scope, id, { instance: props.instance, namespace: props.namespace });
    const labels = appLabels({ name: props.dbName, instance: props.instance, component: 'restore', version: imageTag(props.image) });

    const download = restrictedContainer({
      name: 'download',
      image: props.backup.uploaderImage,
      ...bashScript(SCRIPT_FILES.storage, 'download'),
      env: [...cloudCliEnv(props), { name: 'BACKUP_OBJECT', value: LATEST }, { name: 'RESTORE_FILE', value: RESTORE_FILE }],
      resources: props.backup.resources,
      runAsUser: UPLOADER_UID,
      runAsGroup: UPLOADER_UID,
      volumeMounts: scratchMounts(),
    });

    const restore = restrictedContainer({
      name: 'restore',
      image: props.image,
      ...bashScript(SCRIPT_FILES.restore),
      env: [...clientEnv(props), { name: 'RESTORE_FILE', value: RESTORE_FILE }],
      resources: props.backup.resources,
      runAsUser: POSTGRES_UID,
      runAsGroup: POSTGRES_UID,
      volumeMounts: clientMounts(),
    });

    const spec: kube.JobSpec = {
      // A restore is run and watched by an operator: no silent retries.
      backoffLimit: 0,
      activeDeadlineSeconds: props.backup.deadlineSeconds,
      template: { metadata: { labels }, spec: backupPodSpec(props, [download], [restore]) },
    };
    new kube.KubeJob(this, 'job', {
      // A Job's pod template is immutable: a changed template (a new image, for one) is a new Job,
      // as for the migration and verification Jobs, so applying a newer render never fails on it.
      metadata: { name: `${props.dbName}-restore-${contentHash(spec)}`, labels },
      spec,
    });
  }
}
