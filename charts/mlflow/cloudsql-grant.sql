-- One-time grant that lets MLflow's IAM database user own its schema objects on Cloud SQL.
--
-- Cloud SQL creates the IAM user with the privileges of PUBLIC only, and since PostgreSQL 15 PUBLIC
-- may not create objects in schema public. Run this as the instance's built-in admin `postgres` (a
-- member of cloudsqlsuperuser with CREATEROLE, CREATEDB and LOGIN, not SUPERUSER:
-- https://cloud.google.com/sql/docs/postgres/users), connected to the MLflow database:
--
--   psql "host=... dbname=mlflow user=postgres" -v iam_user="mlflow-server@PROJECT.iam" -f cloudsql-grant.sql
--
-- Every statement is idempotent: running the file again changes nothing. The live tests
-- (__tests__/live/cloudsql-grant.test.ts) run it on PostgreSQL 15, 16 and 17 in that role layout.
\set ON_ERROR_STOP on
\if :{?iam_user}
\else
DO $$ BEGIN RAISE EXCEPTION 'cloudsql-grant.sql: set the psql variable iam_user to the IAM database user (psql -v iam_user=mlflow-server@PROJECT.iam)'; END $$;
\endif

-- Explicit, so a later REVOKE ... FROM PUBLIC on the database does not lock MLflow out.
SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', current_database(), :'iam_user') \gexec

-- The grant that matters: MLflow's migrations create, alter, index and drop their tables in public,
-- and what the IAM user creates it owns. Schema public belongs to pg_database_owner (PostgreSQL 15+),
-- so the admin may grant this while it owns the database or is a member of the role that does.
GRANT USAGE, CREATE ON SCHEMA public TO :"iam_user";

-- Tables and sequences the admin creates later stay readable and writable by MLflow (altering or
-- dropping them still needs their owner). Not granted on existing tables: a GRANT ON ALL TABLES fails
-- for the tables MLflow already owns (the admin holds no privilege on them), which would break every
-- re-run after the first migration. Restore or import as the IAM user, so that it owns what it loads.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO :"iam_user";
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO :"iam_user";
