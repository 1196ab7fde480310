/**
 * Who owns MLflow's tables in cloudsql mode, on the real rendered MLflow (local/platform.ts) on
 * PostgreSQL 15, 16 and 17 laid out as Cloud SQL, on a first install and on an upgrade of an install
 * whose tables the server's IAM user owns (the grant and migration of the version before the
 * migration and gc had IAM users of their own: __tests__/fixtures/cloudsql-grant-owned-by-server.sql,
 * the tables made as the server's user).
 *
 * Each case runs the rendered grant Job, the migration Job as its own IAM user, the server's pod (on
 * the upgrade, together with the Jobs: the migration lends the server's user the owner role, the
 * server's init container hands the tables over, the migration takes the membership back), and then
 * shows: every relation belongs to the owner role; only the migration's IAM user may act as it; the
 * server's and gc's may neither drop a table nor become the owner, yet read and write; the data of the
 * earlier install is served; gc, as its own IAM user, removes a deleted run for good, its artifact
 * through the server; a second migration run changes nothing.
 *
 * The first install on PostgreSQL 15 is also the default scenario's (__tests__/live/mlflow-server.test.ts).
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import { promisify } from 'util';
import * as path from 'path';
import { loadConfig } from '../../model/load';
import { buildModel } from '../../model';
import type { LocalPlatform } from '../../local/platform';
import { pythonEnvBin } from '../support/python-env';
import { PROJECT_ROOT } from '../support/render';
import { START_SECONDS, startPlatform, stopPlatform } from './support/platform';
import { Major, Server } from './support/postgres';

const config = loadConfig();
const names = buildModel(config).names;
const { iamUser, migrateIamUser, gcIamUser, roles, database, adminUser } = names.cloudSql;
const OLD_GRANT = fs.readFileSync(path.join(PROJECT_ROOT, '__tests__/fixtures/cloudsql-grant-owned-by-server.sql'), 'utf8');
const EARLIER_EXPERIMENT = 'made-before-the-upgrade';

/**
 * The install before this version: the old grant, then MLflow's tables (tracking and auth) made by the
 * server's IAM user, as its migration did, with an experiment in them.
 */
async function earlierInstall(postgres: Server): Promise<void> {
  const grant = await postgres.psql(OLD_GRANT, { user: adminUser, database }, { iam_user: iamUser });
  if (grant.code !== 0) throw new Error(`the earlier grant failed: ${grant.stderr}`);
  const uri = `postgresql+psycopg2://${encodeURIComponent(iamUser)}@127.0.0.1:${postgres.port}/${database}`;
  const program = [
    'import sys',
    'from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore',
    'store = SqlAlchemyStore(sys.argv[1], "/tmp/unused-artifacts")',
    `store.create_experiment("${EARLIER_EXPERIMENT}")`,
  ].join('\n');
  const python = path.join(pythonEnvBin(), 'python');
  for (const args of [
    ['-c', program, uri],
    ['-m', 'mlflow.server.auth', 'db', 'upgrade', '--url', uri],
  ]) {
    // As this process's user: the test environment's interpreter is not the PostgreSQL user's to run.
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mlflow-gke-earlier-'));
    try {
      await promisify(execFile)(python, args, { env: { ...process.env, HOME: home }, cwd: home });
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string; message: string };
      throw new Error(`the earlier install's tables failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: error });
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  }
  const owners = await postgres.query(`SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class WHERE relnamespace = 'public'::regnamespace`, {
    user: adminUser,
    database,
  });
  if (owners !== iamUser) throw new Error(`the earlier install's tables belong to ${owners}, not to ${iamUser}`);
}

const CASES: { major: Major; upgrade: boolean }[] = [
  { major: 16, upgrade: false },
  { major: 17, upgrade: false },
  { major: 15, upgrade: true },
  { major: 16, upgrade: true },
  { major: 17, upgrade: true },
];

describe.each(CASES)('PostgreSQL $major, upgrade: $upgrade', ({ major, upgrade }) => {
  let platform: LocalPlatform;
  beforeAll(async () => {
    platform = await startPlatform(config, { postgres: major, earlierInstall: upgrade ? earlierInstall : undefined });
  }, START_SECONDS * 1000);
  afterAll(() => stopPlatform(platform), 120000);

  const sql = (query: string) => platform.postgres!.query(query, { ...platform.postgres!.superuser, database });
  const as = (user: string, statements: string) => platform.postgres!.psql(`BEGIN; ${statements}; ROLLBACK;`, { user, database });

  test('every relation of public belongs to the owner role; only the migration may act as it; the server and gc read and write', async () => {
    expect(await sql("SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class WHERE relnamespace = 'public'::regnamespace")).toBe(roles.owner);
    const member = (user: string, role: string) => sql(`SELECT pg_has_role('${user}', '${role}', 'MEMBER')`);
    expect(await Promise.all([iamUser, migrateIamUser, gcIamUser].map((u) => member(u, roles.owner)))).toEqual(['f', 't', 'f']);
    expect(await Promise.all([iamUser, gcIamUser].map((u) => member(u, roles.writer)))).toEqual(['t', 't']);
    // The server's user lent the owner role for the hand-over has it no more, whoever granted it.
    expect(await sql(`SELECT count(*) FROM pg_auth_members WHERE member = '"${iamUser}"'::regrole AND roleid = '${roles.owner}'::regrole`)).toBe('0');
    for (const user of [iamUser, gcIamUser]) {
      expect((await as(user, 'DROP TABLE runs')).stderr).toMatch(/must be owner of table runs/);
      expect((await as(user, 'ALTER TABLE experiments ADD COLUMN x int')).stderr).toMatch(/must be owner of table experiments/);
      expect((await as(user, 'CREATE TABLE mine (id int)')).stderr).toMatch(/permission denied for schema public/);
      expect((await as(user, `SET ROLE ${roles.owner}`)).stderr).toMatch(/permission denied to set role/);
      const dml = await as(user, 'UPDATE experiments SET name = name WHERE false; DELETE FROM tags WHERE false; SELECT count(*) FROM experiments');
      expect([dml.code, dml.stderr]).toEqual([0, '']);
    }
    const dropped = await as(migrateIamUser, `SET ROLE ${roles.owner}; DROP TABLE runs CASCADE`);
    expect([dropped.code, dropped.stderr]).toEqual([0, expect.not.stringContaining('ERROR')]);
  });

  test('the server serves, the earlier data included', async () => {
    const client = platform.client();
    const admin = platform.admin();
    const made = await client.call({ path: '/api/2.0/mlflow/experiments/create', body: { name: `after-${major}` }, basic: admin });
    expect(made.status).toBe(200);
    const earlier = await client.call({ path: `/api/2.0/mlflow/experiments/get-by-name?experiment_name=${EARLIER_EXPERIMENT}`, basic: admin });
    expect(earlier.status).toBe(upgrade ? 200 : 404);
    if (upgrade) {
      const wait = platform.server!.running.find((c) => c.name === 'wait-for-schema')!;
      expect(wait.output).toMatch(new RegExp(`handed \\d+ relations over to ${roles.owner}`));
    }
  });

  test('gc, as its own IAM user, removes a deleted run for good, its artifact through the server', async () => {
    const client = platform.client();
    const admin = platform.admin();
    const experiment = (await client.call({ path: '/api/2.0/mlflow/experiments/create', body: { name: `gc-${major}` }, basic: admin })).json().experiment_id;
    const runId = (await client.call({ path: '/api/2.0/mlflow/runs/create', body: { experiment_id: experiment }, basic: admin })).json().run.info.run_id;
    const file = `${experiment}/${runId}/artifacts/old.bin`;
    expect((await client.call({ method: 'PUT', path: `/api/2.0/mlflow-artifacts/artifacts/${file}`, body: Buffer.from('old'), basic: admin })).status).toBe(
      200,
    );
    expect((await client.call({ path: '/api/2.0/mlflow/runs/delete', body: { run_id: runId }, basic: admin })).status).toBe(200);
    const cron = platform.rendered.named('CronJob', `${names.mlflow}-gc`);
    const spec = structuredClone(cron.spec.jobTemplate.spec.template.spec);
    const main = spec.containers.find((c: { name: string }) => c.name === 'gc');
    expect(main.env.find((e: { name: string }) => e.name === 'MLFLOW_BACKEND_STORE_URI').value).toContain(encodeURIComponent(gcIamUser));
    main.env = main.env.map((e: { name: string }) => (e.name === 'GC_OLDER_THAN' ? { name: 'GC_OLDER_THAN', value: '1s' } : e));
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const [gc] = await platform.podOf(spec, `mlflow-gc-${major}`).runJob();
    expect(gc.output).toContain(`Run with ID ${runId} has been permanently deleted.`);
    expect(await sql(`SELECT count(*) FROM runs WHERE run_uuid = '${runId}'`)).toBe('0');
    expect((await client.call({ path: `/api/2.0/mlflow-artifacts/artifacts/${file}`, basic: admin })).status).toBe(404);
  }, 240000);

  test('a second migration run changes nothing', async () => {
    const [migrate] = await platform.runJob(`${names.mlflow}-migrate`);
    expect(migrate.output).toContain('nothing to migrate');
    expect(migrate.output).not.toMatch(/still owns/);
    expect(await sql("SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class WHERE relnamespace = 'public'::regnamespace")).toBe(roles.owner);
  }, 240000);
});
