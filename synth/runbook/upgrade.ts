/**
 * The runbook's upgrade section: where the migration's backup gate (charts/mlflow/migration.ts) says
 * which backup it took before the schema changed, and the rollback to it, with this render's names.
 * One procedure per database mode; docs/mlflow.md ("Upgrades and rollback") explains each step.
 */
import type { PlatformModel } from '../../model';
import type { Manifest, RenderedFile } from '../rendered-file';

export interface UpgradeSectionInput {
  readonly model: PlatformModel;
  /** The workload cluster's files and the on-purpose procedures (dist/tests/, the restore). */
  readonly workFiles: readonly RenderedFile[];
  readonly procedures: readonly RenderedFile[];
  /** Records that the runbook names an object (the runbook test checks it exists). */
  readonly use: (file: string, o: Manifest) => string;
  /** A shell word. */
  readonly q: (value: string) => string;
}

const component = (o: Manifest) => o.metadata?.labels?.['app.kubernetes.io/component'];

/** The section's markdown lines. */
export function upgradeSection({ model, workFiles, procedures, use, q }: UpgradeSectionInput): string[] {
  const { config, names } = model;
  const objects = (files: readonly RenderedFile[]) => files.flatMap((f) => (f.objects ?? []).map((o) => ({ file: f.path, o })));
  const migration = objects(workFiles).find(({ o }) => o.kind === 'Job' && component(o) === 'migrate');
  const server = objects(workFiles).find(({ o }) => o.kind === 'Deployment' && o.metadata.name === names.mlflow);
  if (!migration || !server) throw new Error('runbook: the render has no MLflow migration Job or server Deployment');
  const ns = q(migration.o.metadata.namespace);
  const kubectl = `kubectl --context "$WORK" -n ${ns}`;
  const lines = [
    '## Upgrades: the backup before every schema change, and the way back',
    '',
    'A new `mlflow.image` renders a new migration Job. Before it changes the schema it takes a backup of the',
    'database as it is, and refuses to migrate without one; when the schema is current it takes none. Its log',
    'names the backup:',
    '',
    '```sh',
    `${kubectl} logs job/${use(migration.file, migration.o)} -c migrate | grep 'backup taken and verified'`,
    '```',
    '',
  ];
  const stopWriters = [
    `${kubectl} scale deployment/${use(server.file, server.o)} --replicas=0`,
    `${kubectl} get cronjob -o name | xargs -I{} kubectl --context "$WORK" -n ${ns} patch {} -p '{"spec":{"suspend":true}}'`,
  ];
  const resumeCronJobs = `${kubectl} get cronjob -o name | xargs -I{} kubectl --context "$WORK" -n ${ns} patch {} -p '{"spec":{"suspend":false}}'`;
  const rollback = [
    'To roll an upgrade back, restore that backup with every writer stopped, then apply the render of the',
    'previous config (its earlier `mlflow.image`), as in step 6. Its migration Job finds the schema at its',
    'head and changes nothing; its servers start on the restored database. Anything written after the',
    'backup is lost.',
    '',
  ];
  if (config.database.mode === 'cloudsql') {
    // gcloud sql backups restore ID --restore-instance=INSTANCE (gcloud 528 `sql backups restore --help`):
    // the backup replaces every database of the instance.
    lines.push(
      ...rollback,
      `A Cloud SQL restore replaces every database of \`${names.cloudSql.instance}\`, not only MLflow's.`,
      '',
      '```sh',
      'BACKUP_ID=...   # the backup the log above named',
      ...stopWriters,
      `gcloud sql backups restore "$BACKUP_ID" --restore-instance=${q(names.cloudSql.instance)} --project="$PROJECT"`,
      resumeCronJobs,
      '```',
      '',
    );
    return lines;
  }

  const restore = objects(procedures).find(({ o }) => o.kind === 'Job' && component(o) === 'restore');
  if (!restore) throw new Error('runbook: statefulset mode renders no restore Job');
  const selector = `app.kubernetes.io/name=${restore.o.metadata.labels['app.kubernetes.io/name']},app.kubernetes.io/component=restore`;
  lines.push(
    ...rollback,
    '```sh',
    'OBJECT=gs://...   # the backup the log above named',
    ...stopWriters,
    `${kubectl} delete job -l ${selector} --ignore-not-found`,
    `${kubectl} create -f <(sed "s#value: latest#value: $OBJECT#" dist/${restore.file})`,
    `${kubectl} wait --for=condition=complete --timeout=2h job -l ${selector}`,
    resumeCronJobs,
    '```',
    '',
  );
  return lines;
}
