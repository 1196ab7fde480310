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
function runGrantJob(server: Server, iamUser: string, overrides: Record<string, string> = {}): Promise<RunResult> {
  const mount = tempDir('grant-files');
  for (const [name, text] of Object.entries(files)) writeOwned(path.join(mount, name), text, 0o444);
  const scratch = tempDir('grant-tmp');
  const at = (value: string) => (value.startsWith(`${GRANT_DIR}/`) ? path.join(mount, value.slice(GRANT_DIR.length + 1)) : value === '/tmp' ? scratch : value);
  const env = Object.fromEntries(Object.entries(renderedEnv).map(([k, v]) => [k, at(v)]));
  const [command, ...args] = container.command.map(at);
  return run(command, args, {
    env: { ...env, ...server.env({ user: admin, database }), PGPASSWORD: 'unused with trust', IAM_USER: iamUser, ...overrides },
  });
}

describe.each(MAJORS)('PostgreSQL %i', (major) => {
  const server = () => servers.get(major)!;
  const iamUser = () => `mlflow-server-${major}-${++users}@proj.iam`;

  test('waits for the IAM user to appear, then grants: the user may create its tables; a second run changes nothing', async () => {
    const user = iamUser();
    const iam: Connection = { user, database };
    const running = runGrantJob(server(), user, { WAIT_SECONDS: '60', POLL_SECONDS: '1' });
    // Cloud SQL creates the IAM user when Config Connector reconciles its SQLUser: after the Job started.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    await server().query(`CREATE ROLE "${user}" LOGIN`);
    const first = await running;
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(new RegExp(`waiting for ${admin} to log in to ${database} and for ${user.replace(/\./g, '\\.')} to exist`));
    expect(first.stdout).toMatch(/may create, and owns, MLflow's tables/);
    await server().query('CREATE TABLE experiments (id int PRIMARY KEY); ALTER TABLE experiments ADD COLUMN name text; DROP TABLE experiments', iam);

    const acl = () => server().query(`SELECT nspacl::text FROM pg_namespace WHERE nspname = 'public'`);
    const before = await acl();
    const second = await runGrantJob(server(), user, { WAIT_SECONDS: '5', POLL_SECONDS: '1' });
    expect(second.code).toBe(0);
    expect(second.stdout).not.toMatch(/waiting/);
    expect(await acl()).toBe(before);
  });
});

// How it fails does not depend on the server version: one major is enough.
describe('when the database never becomes ready', () => {
  const server = () => servers.get(16)!;
  const iamUser = () => `mlflow-server-never-${++users}@proj.iam`;

  test('gives up with the reason when the IAM user never appears', async () => {
    const user = iamUser();
    const result = await runGrantJob(server(), user, { WAIT_SECONDS: '1', POLL_SECONDS: '1' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`cloudsql-grant: gave up after 1s: the IAM user ${user.replace(/\./g, '\\.')} does not exist`));
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
    const result = await runGrantJob(server, user, { WAIT_SECONDS: '10', POLL_SECONDS: '1', PGPASSWORD: 'from-the-secret' });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/the password of .* is now a random one that nothing keeps/);
    const stored = await server.query(`SELECT rolpassword FROM pg_authid WHERE rolname = '${admin}'`);
    expect(stored).toMatch(/^SCRAM-SHA-256\$/);
    const login = await server.psql('SELECT 1', { user: admin, database, password: 'from-the-secret' });
    expect(login.code).not.toBe(0);
    expect(login.stderr).toMatch(/password authentication failed/);
    await server.query('CREATE TABLE experiments (id int PRIMARY KEY); DROP TABLE experiments', { user, database, password: 'iam-token-stand-in' });
    // A re-run with the Secret's password now waits for a login that never comes, and says so.
    const again = await runGrantJob(server, user, { WAIT_SECONDS: '2', POLL_SECONDS: '1', PGPASSWORD: 'from-the-secret' });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/gave up after 2s: .*password authentication failed/);
  });
});
