/**
 * The rendered grant Job's container, run as rendered (its command, its environment, its ConfigMap's
 * files at their mount path) against real PostgreSQL 15, 16 and 17 laid out like Cloud SQL: a hidden
 * superuser, the NOLOGIN group cloudsqlsuperuser owning the MLflow database, and the built-in admin
 * as Cloud SQL creates users (LOGIN CREATEROLE CREATEDB, member of cloudsqlsuperuser:
 * https://cloud.google.com/sql/docs/postgres/users, "Other PostgreSQL users"). Only the libpq target
 * moves from the proxy's 127.0.0.1 to the server's socket.
 */
import * as path from 'path';
import { buildModel } from '../../model';
import { Testing } from 'cdk8s';
import { MlflowChart, mlflowChartProps } from '../../charts/mlflow';
import { GRANT_DIR } from '../../charts/mlflow/cloudsql-grant-job';
import { configWith, Manifest } from '../support/render';
import { Connection, Major, removeTempDirs, run, RunResult, Server, tempDir, writeOwned } from './support/postgres';
import { testApp } from '../support/app';

const MAJORS: Major[] = [15, 16, 17];
const superuser: Connection = { user: 'cloudsqladmin', database: 'postgres' };
const servers = new Map<Major, Server>();

const config = configWith({ database: { mode: 'cloudsql' } });
const objects: Manifest[] = Testing.synth(new MlflowChart(testApp(), 'mlflow', mlflowChartProps(buildModel(config))));
const job = objects.find((o) => o.kind === 'Job' && o.metadata.labels['app.kubernetes.io/component'] === 'sql-grant')!;
const container = job.spec.template.spec.containers[0];
const files: Record<string, string> = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.labels['app.kubernetes.io/component'] === 'sql-grant')!.data;
const renderedEnv: Record<string, string> = Object.fromEntries(
  container.env.filter((e: Manifest) => typeof e.value === 'string').map((e: Manifest) => [e.name, e.value]),
);
const admin: string = renderedEnv.PGUSER;
const database: string = renderedEnv.PGDATABASE;

beforeAll(async () => {
  const started = await Promise.all(MAJORS.map((major) => Server.create(major, superuser)));
  for (const server of started) {
    servers.set(server.major, server);
    await server.query(`
      CREATE ROLE cloudsqlsuperuser NOLOGIN CREATEROLE CREATEDB;
      CREATE ROLE "${admin}" LOGIN NOSUPERUSER CREATEROLE CREATEDB IN ROLE cloudsqlsuperuser;
      CREATE DATABASE "${database}" OWNER cloudsqlsuperuser;
    `);
  }
});

afterAll(async () => {
  await Server.stopAll();
  removeTempDirs();
});

let users = 0;

/**
 * Runs the container's command with its rendered environment: the ConfigMap's files in a directory
 * standing in for the mount, /tmp in a scratch directory, libpq pointed at the server.
 */
/** The three IAM users of a test: the server's (`iamUser`), the migration's and gc's. */
const usersOf = (iamUser: string) => ({ IAM_USER: iamUser, MIGRATE_IAM_USER: `migrate-${iamUser}`, GC_IAM_USER: `gc-${iamUser}` });

function runGrantJob(server: Server, iamUser: string, overrides: Record<string, string> = {}): Promise<RunResult> {
  const mount = tempDir('grant-files');
  for (const [name, text] of Object.entries(files)) writeOwned(path.join(mount, name), text, 0o444);
  const scratch = tempDir('grant-tmp');
  const at = (value: string) => (value.startsWith(`${GRANT_DIR}/`) ? path.join(mount, value.slice(GRANT_DIR.length + 1)) : value === '/tmp' ? scratch : value);
  const env = Object.fromEntries(Object.entries(renderedEnv).map(([k, v]) => [k, at(v)]));
  const [command, ...args] = container.command.map(at);
  return run(command, args, {
    env: { ...env, ...server.env({ user: admin, database }), PGPASSWORD: 'unused with trust', ...usersOf(iamUser), ...overrides },
  });
}

describe.each(MAJORS)('PostgreSQL %i', (major) => {
  const server = () => servers.get(major)!;
  const iamUser = () => `mlflow-server-${major}-${++users}@proj.iam`;

  test('waits for the three IAM users to appear, then grants: the migration creates as the owner role, the server writes; a second run changes nothing', async () => {
    const user = iamUser();
    const { MIGRATE_IAM_USER: migrateUser, GC_IAM_USER: gcUser } = usersOf(user);
    const running = runGrantJob(server(), user, { WAIT_SECONDS: '60', POLL_SECONDS: '1' });
    // Cloud SQL creates the IAM users when Config Connector reconciles their SQLUsers: after the Job
    // started, one after another.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    await server().query(`CREATE ROLE "${user}" LOGIN`);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    await server().query(`CREATE ROLE "${migrateUser}" LOGIN; CREATE ROLE "${gcUser}" LOGIN`);
    const first = await running;
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const quoted = (u: string) => u.replace(/\./g, '\\.');
    expect(first.stdout).toMatch(
      new RegExp(
        `waiting for ${admin} to log in to ${database} and for the IAM users to exist: not yet: ${quoted(user)} ${quoted(migrateUser)} ${quoted(gcUser)}`,
      ),
    );
    expect(first.stdout).toMatch(new RegExp(`not yet: ${quoted(migrateUser)} ${quoted(gcUser)}`));
    expect(first.stdout).toMatch(
      new RegExp(
        `${renderedEnv.OWNER_ROLE} owns MLflow's tables .* ${quoted(user)} and ${quoted(gcUser)} read and write them through ${renderedEnv.WRITER_ROLE}`,
      ),
    );
    const table = `experiments_${users}`;
    await server().query(
      `SET ROLE ${renderedEnv.OWNER_ROLE}; CREATE TABLE ${table} (id int PRIMARY KEY); ALTER TABLE ${table} ADD COLUMN name text;
      GRANT SELECT, INSERT, UPDATE, DELETE ON ${table} TO ${renderedEnv.WRITER_ROLE}`,
      { user: migrateUser, database },
    );
    expect(await server().query(`INSERT INTO ${table} VALUES (1, 'a'); SELECT count(*) FROM ${table}`, { user, database })).toBe('1');
    expect((await server().psql(`DROP TABLE ${table}`, { user, database })).stderr).toMatch(/must be owner/);

    const acl = () => server().query(`SELECT nspacl::text FROM pg_namespace WHERE nspname = 'public'`);
    const before = await acl();
    const second = await runGrantJob(server(), user, { WAIT_SECONDS: '5', POLL_SECONDS: '1' });
    expect([second.code, second.stderr]).toEqual([0, '']);
    expect(second.stdout).not.toMatch(/waiting/);
    expect(await acl()).toBe(before);
  });
});

// How it fails does not depend on the server version: one major is enough.
describe('when the database never becomes ready', () => {
  const server = () => servers.get(16)!;
  const iamUser = () => `mlflow-server-never-${++users}@proj.iam`;

  test('gives up with the reason when an IAM user never appears', async () => {
    const user = iamUser();
    await server().query(`CREATE ROLE "${user}" LOGIN`);
    const result = await runGrantJob(server(), user, { WAIT_SECONDS: '1', POLL_SECONDS: '1' });
    expect(result.code).toBe(1);
    const { MIGRATE_IAM_USER: migrateUser, GC_IAM_USER: gcUser } = usersOf(user);
    const quoted = (u: string) => u.replace(/\./g, '\\.');
    expect(result.stderr).toMatch(new RegExp(`cloudsql-grant: gave up after 1s: the IAM users ${quoted(migrateUser)} ${quoted(gcUser)} do not exist`));
  });

  test('a login that fails (wrong admin) is retried, and its error is in the message when it gives up', async () => {
    // Three seconds: the deadline counts whole seconds, so a one-second wait on a busy machine could end
    // before the first failed login is reported as a wait.
    const result = await runGrantJob(server(), iamUser(), { WAIT_SECONDS: '3', POLL_SECONDS: '1', PGUSER: 'nobody' });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/waiting for nobody to log in/);
    expect(result.stderr).toMatch(/gave up after 3s: .*role "nobody" does not exist/);
  });
});

// The admin's password is spent after the grant: on a server that checks passwords (scram-sha-256, as
// Cloud SQL does), the Secret's password logs in for the grant and never again. One major is enough.
describe('after the grant, on a server that checks passwords', () => {
  const scramSuperuser: Connection = { user: 'cloudsqladmin', database: 'postgres', password: 'superuser-secret' };
  let server: Server;
  beforeAll(async () => {
    server = await Server.create(16, scramSuperuser, ['--auth=scram-sha-256']);
    await server.query(`
      CREATE ROLE cloudsqlsuperuser NOLOGIN CREATEROLE CREATEDB;
      CREATE ROLE "${admin}" LOGIN NOSUPERUSER CREATEROLE CREATEDB IN ROLE cloudsqlsuperuser PASSWORD 'from-the-secret';
      CREATE DATABASE "${database}" OWNER cloudsqlsuperuser;
    `);
  });

  test("the admin's password from the Secret no longer logs in, and the IAM user keeps its grant", async () => {
    const user = `mlflow-server-scram-${++users}@proj.iam`;
    await server.query(`CREATE ROLE "${user}" LOGIN PASSWORD 'iam-token-stand-in'`);
    for (const other of [usersOf(user).MIGRATE_IAM_USER, usersOf(user).GC_IAM_USER]) await server.query(`CREATE ROLE "${other}" LOGIN`);
    const result = await runGrantJob(server, user, { WAIT_SECONDS: '10', POLL_SECONDS: '1', PGPASSWORD: 'from-the-secret' });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/the password of .* is now a random one that nothing keeps/);
    const stored = await server.query(`SELECT rolpassword FROM pg_authid WHERE rolname = '${admin}'`);
    expect(stored).toMatch(/^SCRAM-SHA-256\$/);
    const login = await server.psql('SELECT 1', { user: admin, database, password: 'from-the-secret' });
    expect(login.code).not.toBe(0);
    expect(login.stderr).toMatch(/password authentication failed/);
    // The server's IAM user keeps what the grant gave it: a member of the writer role.
    expect(
      await server.query(`SELECT pg_has_role(current_user, '${renderedEnv.WRITER_ROLE}', 'MEMBER')`, { user, database, password: 'iam-token-stand-in' }),
    ).toBe('t');
    // A re-run with the Secret's password now waits for a login that never comes, and says so.
    const again = await runGrantJob(server, user, { WAIT_SECONDS: '2', POLL_SECONDS: '1', PGPASSWORD: 'from-the-secret' });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/gave up after 2s: .*password authentication failed/);
  });
});
