-- One-time grant of MLflow's database roles on Cloud SQL: who owns MLflow's tables, and who may only
-- read and write them.
--
-- Cloud SQL creates IAM users with the privileges of PUBLIC only, and since PostgreSQL 15 PUBLIC may
-- not create objects in schema public. Run this as the instance's built-in admin `postgres` (a member
-- of cloudsqlsuperuser with CREATEROLE, CREATEDB and LOGIN, not SUPERUSER:
-- https://cloud.google.com/sql/docs/postgres/users), connected to the MLflow database:
--
--   psql "host=... dbname=mlflow user=postgres" -f cloudsql-grant.sql \
--     -v iam_user="mlflow-server@PROJECT.iam" -v migrate_user="mlflow-migrate@PROJECT.iam" \
--     -v gc_user="mlflow-gc@PROJECT.iam" -v owner_role=mlflow_owner -v writer_role=mlflow_writer
--
-- The roles:
--
-- - owner_role (NOLOGIN) owns MLflow's tables and may create in schema public. The migration's IAM
--   user (migrate_user) is its member and acts as it (PGOPTIONS="-c role=...", charts/mlflow/migrate.py),
--   so what a migration creates belongs to the owner role, never to a login. It holds the ADMIN option
--   too: on an install from before this split the server's IAM user owns the tables, and from
--   PostgreSQL 16 on only the role that granted a membership (or one with the grantor's privileges) may
--   revoke it, so the migration itself lends the server the membership for the hand-over and takes it
--   back. The admin cannot do the hand-over: from PostgreSQL 16 on, CREATEROLE no longer lets it act for
--   roles it did not create, and Cloud SQL creates the IAM users.
-- - writer_role (NOLOGIN) may read, insert, update and delete rows of every table and use every
--   sequence (the owner role grants that on existing tables and by default on new ones): the server's
--   (iam_user) and gc's (gc_user) IAM users are its members. Neither may create, alter or drop a table.
--
-- Every statement is idempotent: running the file again changes nothing. The live tests
-- (__tests__/live/cloudsql-grant.test.ts) run it on PostgreSQL 15, 16 and 17 in that role layout.
\set ON_ERROR_STOP on
\if :{?iam_user}
\else
DO $$ BEGIN RAISE EXCEPTION 'cloudsql-grant.sql: set the psql variable iam_user to the IAM database user (psql -v iam_user=mlflow-server@PROJECT.iam)'; END $$;
\endif
\if :{?migrate_user}
\else
DO $$ BEGIN RAISE EXCEPTION 'cloudsql-grant.sql: set the psql variable migrate_user to the migration''s IAM database user (psql -v migrate_user=mlflow-migrate@PROJECT.iam)'; END $$;
\endif
\if :{?gc_user}
\else
DO $$ BEGIN RAISE EXCEPTION 'cloudsql-grant.sql: set the psql variable gc_user to gc''s IAM database user (psql -v gc_user=mlflow-gc@PROJECT.iam)'; END $$;
\endif
\if :{?owner_role}
\else
\set owner_role mlflow_owner
\endif
\if :{?writer_role}
\else
\set writer_role mlflow_writer
\endif

SELECT format('CREATE ROLE %I NOLOGIN', :'owner_role') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'owner_role') \gexec
SELECT format('CREATE ROLE %I NOLOGIN', :'writer_role') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'writer_role') \gexec

-- Explicit, so a later REVOKE ... FROM PUBLIC on the database does not lock MLflow out; the members
-- inherit it.
SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I, %I', current_database(), :'owner_role', :'writer_role') \gexec

-- Schema public belongs to pg_database_owner (PostgreSQL 15+), so the admin may grant on it while it
-- is a member of the role that owns the database (cloudsqlsuperuser).
GRANT USAGE, CREATE ON SCHEMA public TO :"owner_role";
GRANT USAGE ON SCHEMA public TO :"writer_role";

-- Each membership once: a second GRANT would only repeat a notice that it exists.
SELECT format('GRANT %I TO %I WITH ADMIN OPTION', :'owner_role', :'migrate_user')
  WHERE NOT EXISTS (SELECT FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
                    WHERE r.rolname = :'owner_role' AND u.rolname = :'migrate_user' AND m.admin_option) \gexec
SELECT format('GRANT %I TO %I', :'writer_role', u)
  FROM unnest(ARRAY[:'iam_user', :'gc_user']) AS u
  WHERE NOT EXISTS (SELECT FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles l ON l.oid = m.member
                    WHERE r.rolname = :'writer_role' AND l.rolname = u) \gexec

-- What an earlier version of this file granted the server's IAM user: it created the tables itself.
-- It creates nothing any more (a table it still owns goes to the owner role at its next start,
-- charts/mlflow/wait_for_schema.py); nothing else of it is taken back here, because revoking what a
-- role was granted changes nothing for the tables it owns.
REVOKE CREATE ON SCHEMA public FROM :"iam_user";
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM :"iam_user";
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM :"iam_user";

-- Tables and sequences the admin creates later (it should not: restore or import as the migration's
-- user acting as the owner role) stay readable and writable by MLflow. Not granted on existing tables:
-- the admin holds no privilege on the owner role's tables; the owner role grants those itself.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"writer_role";
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO :"writer_role";
