#!/usr/bin/env bash
# The grant Job's command: runs cloudsql-grant.sql as the Cloud SQL built-in admin, through the pod's
# Auth Proxy sidecar. libpq takes the connection from PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD.
#
# On a first deployment the instance, the admin user and MLflow's IAM users (the server's, the
# migration's, gc's) appear minutes after this Job starts, so it first waits, up to WAIT_SECONDS,
# until the admin can log in and the three IAM users exist. The grant itself is idempotent: a second
# run changes nothing.
#
# Then the admin's password is replaced by a random one that nothing keeps (PostgreSQL lets every
# role change its own password: ALTER ROLE, "ordinary roles can only change their own password"), so
# the password in the admin Secrets opens nothing once the grant is done. Config Connector does not set
# a SQLUser's password again while its spec is unchanged (k8s-config-connector issue #292: no drift
# correction of spec.password since v1.19.0). To run the grant again, set the password back first:
# docs/mlflow.md, "One-time database grant".
#
# Environment: GRANT_SQL_FILE (path of cloudsql-grant.sql), IAM_USER (the server's IAM user),
# MIGRATE_IAM_USER, GC_IAM_USER, OWNER_ROLE, WRITER_ROLE, WAIT_SECONDS, POLL_SECONDS.
set -euo pipefail

grant_sql="${GRANT_SQL_FILE:?path of cloudsql-grant.sql}"
iam_user="${IAM_USER:?the IAM user of the server}"
migrate_user="${MIGRATE_IAM_USER:?the IAM user of the migration}"
gc_user="${GC_IAM_USER:?the IAM user of gc}"
owner_role="${OWNER_ROLE:?the owner role}"
writer_role="${WRITER_ROLE:?the writer role}"
poll="${POLL_SECONDS:-15}"
deadline=$(($(date +%s) + ${WAIT_SECONDS:?seconds to wait for the database}))
errors="${TMPDIR:-/tmp}/cloudsql-grant.err"
users=(--set=iam_user="$iam_user" --set=migrate_user="$migrate_user" --set=gc_user="$gc_user")

# Prints the IAM users that do not exist yet, one a line (nothing once all three do); fails while the
# admin cannot log in (instance not ready, password not set yet).
missing_users() {
  printf '%s\n' "SELECT u FROM unnest(ARRAY[:'iam_user', :'migrate_user', :'gc_user']) AS u WHERE u NOT IN (SELECT rolname FROM pg_roles);" |
    psql --no-psqlrc --no-password --quiet --tuples-only --no-align "${users[@]}" --file=- 2>"$errors"
}

until missing="$(missing_users)" && [[ -z "$missing" ]]; do
  why="$(tr '\n' ' ' <"$errors")"
  absent="${missing//$'\n'/ }"
  if (($(date +%s) >= deadline)); then
    echo "cloudsql-grant: gave up after ${WAIT_SECONDS}s: ${why:-the IAM users ${absent} do not exist}" >&2
    exit 1
  fi
  echo "cloudsql-grant: waiting for ${PGUSER} to log in to ${PGDATABASE} and for the IAM users to exist: ${why:-not yet: ${absent}}"
  sleep "$poll"
done

psql --no-psqlrc --no-password --set=ON_ERROR_STOP=1 "${users[@]}" --set=owner_role="$owner_role" --set=writer_role="$writer_role" --file="$grant_sql"
echo "cloudsql-grant: ${owner_role} owns MLflow's tables in schema public of ${PGDATABASE}, and ${migrate_user} acts as it; ${iam_user} and ${gc_user} read and write them through ${writer_role}"

# Letters and digits only, so the SQL literal needs no quoting; through stdin, never on a command line.
random_password="$(head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
printf "SET password_encryption = 'scram-sha-256';\nALTER ROLE CURRENT_USER PASSWORD '%s';\n" "$random_password" |
  psql --no-psqlrc --no-password --quiet --set=ON_ERROR_STOP=1 --file=-
echo "cloudsql-grant: the password of ${PGUSER} is now a random one that nothing keeps; to run this grant again, set it back to the Secret's first (docs/mlflow.md, \"One-time database grant\")"
