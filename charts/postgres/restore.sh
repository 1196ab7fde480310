#!/usr/bin/env bash
# Restore, step 2 of 2 (the server's own image): replaces the contents of PGDATABASE with the dump in
# RESTORE_FILE, as PGUSER. One transaction: the database ends up either fully restored or exactly as
# it was. Connection: the libpq variables PGHOST, PGPORT, PGUSER, PGPASSWORD.
set -euo pipefail

pg_restore --clean --if-exists --no-owner --role="$PGUSER" --single-transaction --exit-on-error --no-password \
  --dbname="$PGDATABASE" "$RESTORE_FILE"
echo "restored $PGDATABASE"
