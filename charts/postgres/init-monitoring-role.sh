# shellcheck shell=bash
# The monitoring role of the metrics exporter: LOGIN, a member of pg_monitor (pg_read_all_settings,
# pg_read_all_stats, pg_stat_scan_tables: https://www.postgresql.org/docs/15/predefined-roles.html),
# nothing else; its password comes from the credentials Secret (MONITORING_DB_PASSWORD). It may not
# connect to the MLflow database (init-mlflow-role.sh revokes CONNECT from PUBLIC), so it reads no
# MLflow table; pg_hba.conf admits it only from the pod's loopback, to the `postgres` database.
#
# Sourced by the image's entrypoint on the first start, after init-mlflow-role.sh (same contract:
# `set -Eeo pipefail`, the server on its socket, `docker_process_sql`). Idempotent, so it also runs by
# hand in the `postgres` container of a database initialised before the role existed, or to set a
# rotated password (docs/postgres.md, "The monitoring role"):
#   kubectl exec mlflow-db-0 -c postgres -- bash /docker-entrypoint-initdb.d/20-monitoring-role.sh
# There it connects as the superuser over the pod's socket with POSTGRES_PASSWORD.

if [ -z "${MONITORING_DB_PASSWORD:-}" ]; then
  echo "mlflow-db init: the credentials Secret holds an empty monitoring-password" >&2
  exit 1
fi

if ! declare -F docker_process_sql >/dev/null; then
  docker_process_sql() {
    PGPASSWORD="$POSTGRES_PASSWORD" psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_USER" --no-password --no-psqlrc "$@"
  }
fi

# The values travel as psql variables, quoted by psql (:"identifier", :'literal'), never spliced into
# SQL; psql's \if chooses between creating the role and updating an existing one.
docker_process_sql --set=role="$MONITORING_DB_USER" --set=password="$MONITORING_DB_PASSWORD" <<'EOSQL'
SET password_encryption = 'scram-sha-256';
SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') AS create_role \gset
\if :create_role
CREATE ROLE :"role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'password';
\else
ALTER ROLE :"role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'password';
\endif
GRANT pg_monitor TO :"role";
EOSQL
echo "mlflow-db init: monitoring role $MONITORING_DB_USER is ready"
