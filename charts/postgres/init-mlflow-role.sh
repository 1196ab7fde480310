# shellcheck shell=bash
# First start of the in-cluster PostgreSQL (empty PGDATA) only: creates the MLflow role with its
# password and the MLflow database it owns; nobody else may connect to that database.
#
# The image's docker-entrypoint.sh sources this file (it is not executable) under `set -Eeo pipefail`,
# with the server listening on its socket only, PGPASSWORD set to the superuser's password, and
# `docker_process_sql` defined: psql as POSTGRES_USER with ON_ERROR_STOP=1. Source:
# docker-library/postgres 16/bookworm/docker-entrypoint.sh (docker_process_init_files,
# docker_process_sql, _main), commit 6edb0a8c4def40c371514b34aef9037ec82d9110.
# Later password changes: ALTER ROLE, see docs/postgres.md.

if [ -z "${MLFLOW_DB_PASSWORD:-}" ]; then
  echo "mlflow-db init: the credentials Secret holds an empty mlflow-password" >&2
  exit 1
fi

# The values travel as psql variables, quoted by psql (:"identifier", :'literal'), never spliced into SQL.
docker_process_sql --set=role="$MLFLOW_DB_USER" --set=password="$MLFLOW_DB_PASSWORD" --set=db="$MLFLOW_DB_NAME" <<'EOSQL'
SET password_encryption = 'scram-sha-256';
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE DATABASE :"db" OWNER :"role";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
EOSQL
