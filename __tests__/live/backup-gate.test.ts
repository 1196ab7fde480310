/**
 * The migration's backup gate in statefulset mode (charts/mlflow/migration.ts, backup_plan.py,
 * migrate.py backup_gate), run for real: the rendered migration Job's pod, its init containers
 * included (the plan with MLflow, pg_dump with its full read-back, the upload through storage.sh's
 * local bucket folder), on the rendered in-cluster PostgreSQL. PostgreSQL 15: the dump tools here are
 * 15's, as the image's own are its server's in the cluster.
 *
 * The schema change is real: the auth tables are dropped, as in a database from before authentication,
 * so the migration has to create them. Upgrades from older MLflow releases are
 * __tests__/live/mlflow-upgrade.test.ts.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { promisify } from 'util';
import { buildModel } from '../../model';
import { loadConfig } from '../../model/load';
import type { LocalPlatform } from '../../local/platform';
import type { RunningContainer } from '../../local/pod-runner';
import { CLIENT_BIN } from '../../local/postgres';
import { PROJECT_ROOT } from '../support/render';
import { START_SECONDS, startPlatform, stopPlatform } from './support/platform';

const config = loadConfig(path.join(PROJECT_ROOT, 'config/dev.yaml'));
const BEFORE = 'made-before-the-gate';

let platform: LocalPlatform;
beforeAll(async () => {
  platform = await startPlatform(config, { postgres: 15 });
}, START_SECONDS * 1000);
afterAll(() => stopPlatform(platform), 120000);

const sql = (query: string, database = config.database.name) => platform.postgres!.query(query, { ...platform.postgres!.superuser, database });
const dumps = () => fs.readdirSync(platform.bucketDir).filter((f) => f.endsWith('.dump'));
const output = (containers: readonly RunningContainer[], name: string) => containers.find((c) => c.name === name)?.output ?? '';

/** Runs the rendered migration Job's pod (or `spec`) to its end; every container of it, init containers included. */
async function migrationPod(name: string, spec = platform.rendered.job('mlflow-migrate').spec.template.spec): Promise<readonly RunningContainer[]> {
  const pod = platform.podOf(spec, name);
  await pod.runJob();
  return pod.running;
}
const AUTH_TABLES = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('users', 'alembic_version_auth')";

/**
 * The database as MLflow left it before authentication: the tracking tables only. The auth tables are
 * what the first install made beyond the tracking schema, which real MLflow creates in a scratch database.
 */
async function dropAuthTables(): Promise<void> {
  const tables = (database: string) => sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1", database).then((t) => t.split('\n'));
  if ((await sql("SELECT count(*) FROM pg_database WHERE datname = 'tracking_only'")) === '0') {
    await sql('CREATE DATABASE tracking_only');
    const python = path.join(platform.options.pythonBin, 'python');
    const program =
      'from mlflow.store.db import utils\nutils._initialize_tables(utils.create_sqlalchemy_engine_with_retry("postgresql+psycopg2:///tracking_only"))';
    await promisify(execFile)(python, ['-c', program], {
      env: { ...process.env, ...platform.postgres!.env(platform.postgres!.superuser), PGDATABASE: 'tracking_only' },
    });
  }
  const tracking = new Set(await tables('tracking_only'));
  const auth = (await tables(config.database.name)).filter((t) => !tracking.has(t));
  expect(auth).toEqual(expect.arrayContaining(['alembic_version_auth', 'users']));
  await sql(`DROP TABLE ${auth.map((t) => `"${t}"`).join(', ')} CASCADE`);
  expect(await sql(AUTH_TABLES)).toBe('0');
}

test('a first install plans no backup: the database was empty', () => {
  expect(dumps()).toEqual([]);
});

describe('a migration that changes the schema', () => {
  let containers: readonly RunningContainer[];
  /** The object the gate's upload recorded: what the rollback restores. */
  let recorded: string;
  let tracking: string;
  let auth: string;
  beforeAll(async () => {
    const made = await platform.client().call({ path: '/api/2.0/mlflow/experiments/create', body: { name: BEFORE }, basic: platform.admin() });
    expect(made.status).toBe(200);
    auth = await sql('SELECT version_num FROM alembic_version_auth');
    tracking = await sql('SELECT version_num FROM alembic_version');
    await platform.stopServer();
    await dropAuthTables();
    containers = await migrationPod('mlflow-migrate-gated');
  }, 300000);

  test('runs only after the planned dump was taken, read back whole and uploaded', () => {
    const change = `tracking ${tracking} -> ${tracking}, auth None -> ${auth}`;
    expect(output(containers, 'backup-plan')).toContain(`the migration will change the schema (${change}): a backup comes first`);
    expect(output(containers, 'backup-dump')).toMatch(new RegExp(`dumped ${config.database.name}: \\d+ bytes`));
    const [dump] = dumps();
    expect(dumps()).toHaveLength(1);
    expect(output(containers, 'backup-upload')).toMatch(new RegExp(`uploaded gs://\\S+/${dump}`));
    recorded = /uploaded (gs:\/\/\S+)/.exec(output(containers, 'backup-upload'))![1];
    expect(output(containers, 'migrate')).toMatch(
      new RegExp(`backup taken and verified before the migration: gs://\\S+/${dump} \\(${change.replace(/[()]/g, '\\$&')}\\)`),
    );
  });

  test('the dump holds the database as it was before the migration, and restores', async () => {
    await sql('CREATE DATABASE restored');
    const file = path.join(platform.bucketDir, dumps()[0]);
    await promisify(execFile)(path.join(CLIENT_BIN, 'pg_restore'), ['--no-owner', '--exit-on-error', '--dbname=restored', file], {
      env: { ...process.env, ...platform.postgres!.env(platform.postgres!.superuser) },
    });
    expect(await sql(`SELECT name FROM experiments WHERE name = '${BEFORE}'`, 'restored')).toBe(BEFORE);
    expect(await sql(AUTH_TABLES, 'restored')).toBe('0');
    // The migration ran after it: the auth tables are back.
    expect(await sql(AUTH_TABLES)).toBe('2');
  });

  test('the next run finds the schema current: no backup, nothing waits', async () => {
    const again = await migrationPod('mlflow-migrate-again');
    expect(output(again, 'backup-plan')).toContain('schema current (or database empty): no backup needed');
    expect(output(again, 'backup-dump')).toContain('no schema change planned: no backup needed');
    expect(output(again, 'backup-upload')).toContain('no schema change planned: nothing to upload');
    expect(output(again, 'migrate')).toContain('nothing to migrate');
    expect(dumps()).toHaveLength(1);
  }, 300000);

  test('without the backup the migration refuses and leaves the schema as it is', async () => {
    await dropAuthTables();
    const spec = structuredClone(platform.rendered.job('mlflow-migrate').spec.template.spec);
    // The gate's plan runs, its dump and upload do not (as when they were skipped or lost).
    spec.initContainers = spec.initContainers.filter((c: { name: string }) => c.name === 'backup-plan');
    await expect(migrationPod('mlflow-migrate-no-backup', spec)).rejects.toThrow(
      /refusing to migrate without a verified backup: the schema is to change \(tracking \S+ -> \S+, auth None -> \S+\) and no backup was recorded/,
    );
    expect(await sql(AUTH_TABLES)).toBe('0');
  }, 300000);

  test('the rollback: the rendered restore Job brings the pre-migration dump back, and the next migration moves it forward again behind a new backup', async () => {
    // Back to the database as the gate found it (the runbook's rollback; the earlier image would now start on it).
    const restoreJob = platform.rendered.job(`${buildModel(config).names.mlflowDb}-restore`);
    const spec = structuredClone(restoreJob.spec.template.spec);
    const download = spec.initContainers.find((c: { name: string }) => c.name === 'download');
    download.env = download.env.map((e: { name: string; value?: string }) => (e.name === 'BACKUP_OBJECT' ? { name: e.name, value: recorded } : e));
    const pod = platform.podOf(spec, 'mlflow-db-restore-rollback');
    await pod.runJob();
    expect(output(pod.running, 'download')).toContain(`downloaded ${recorded}`);
    expect(await sql(AUTH_TABLES)).toBe('0');
    expect(await sql(`SELECT name FROM experiments WHERE name = '${BEFORE}'`)).toBe(BEFORE);
    const forward = await migrationPod('mlflow-migrate-after-rollback');
    expect(output(forward, 'migrate')).toContain('backup taken and verified before the migration');
    expect(dumps()).toHaveLength(2);
    await platform.startServer();
    const found = await platform.client().call({ path: `/api/2.0/mlflow/experiments/get-by-name?experiment_name=${BEFORE}`, basic: platform.admin() });
    expect(found.status).toBe(200);
  }, 400000);

  test('writers stop while the schema moves: the running server refuses writes from the old revision through the migration, serves reads throughout, and writes again at head', async () => {
    // One tracking revision back, as before an upgrade (MLflow's own downgrade of its last migration).
    const python = path.join(platform.options.pythonBin, 'python');
    const downgrade =
      'import alembic.command\nfrom mlflow.store.db import utils\nalembic.command.downgrade(utils._get_alembic_config("postgresql+psycopg2:///"), "-1")';
    await promisify(execFile)(python, ['-c', downgrade], {
      env: { ...process.env, ...platform.postgres!.env(platform.postgres!.superuser), PGDATABASE: config.database.name },
    });
    const head = await sql('SELECT version_num FROM alembic_version');
    const client = platform.client();
    const admin = platform.admin();
    const answers: { name: string; write: number; read: number; at: number }[] = [];
    let writing = true;
    const writerStarted = Date.now();
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        const name = `written-${i}`;
        const write = (await client.call({ path: '/api/2.0/mlflow/experiments/create', body: { name }, basic: admin })).status;
        const read = (await client.call({ path: '/api/2.0/mlflow/experiments/search', body: { max_results: 1 }, basic: admin })).status;
        answers.push({ name, write, read, at: Date.now() });
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    await new Promise((r) => setTimeout(r, 2000));
    const started = Date.now();
    const job = await migrationPod('mlflow-migrate-while-writing');
    const ended = Date.now();
    // The server reads the fence once a second.
    await new Promise((r) => setTimeout(r, 4000));
    writing = false;
    await writer;
    expect(output(job, 'backup-plan')).toContain('writes stopped for the migration');
    expect(output(job, 'migrate')).toContain(`schema migrated to `);
    expect(output(job, 'migrate')).toContain('writes allowed again: both schemas are at their head');
    expect(await sql("SELECT count(*) FROM pg_class WHERE relname = 'mlflow_gke_migration'")).toBe('0');
    expect(answers.every((a) => a.read === 200)).toBe(true);
    // From a second after the revision moved (the server trusts a reading for a second) until the
    // migration was about to end (it lets writes through before its pod has stopped): refused, so never
    // written. Once it has run: accepted.
    const refused = answers.filter((a) => a.at > writerStarted + 1500 && a.at < ended - 2000);
    const after = answers.filter((a) => a.at > ended + 1500);
    expect(refused.length).toBeGreaterThan(5);
    expect(after.length).toBeGreaterThan(3);
    expect(new Set(refused.map((a) => a.write))).toEqual(new Set([503]));
    expect(new Set(after.map((a) => a.write))).toEqual(new Set([200]));
    const stored = new Set((await sql("SELECT name FROM experiments WHERE name LIKE 'written-%'")).split('\n').filter(Boolean));
    expect(answers.filter((a) => a.write === 200).every((a) => stored.has(a.name))).toBe(true);
    expect(answers.filter((a) => a.write === 503).some((a) => stored.has(a.name))).toBe(false);
    expect(head).not.toBe(await sql('SELECT version_num FROM alembic_version'));
    expect(ended - started).toBeGreaterThan(5000);
  }, 400000);
});
