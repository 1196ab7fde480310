#!/usr/bin/env bash
# Backup, step 1 of 2 (init container of the server's own image: pg_dump must not be older than the
# server). Dumps PGDATABASE as PGUSER into DUMP_FILE and proves the archive reads back whole; the
# upload step (storage.sh) sends only a file that exists, so a failed or unreadable dump never
# replaces a good backup. Connection: the libpq variables PGHOST, PGPORT, PGUSER, PGPASSWORD.
set -euo pipefail

# The migration's backup gate (charts/mlflow/backup_plan.py) sets BACKUP_PLAN_FILE: a dump only when
# the plan says the schema is about to change. The nightly backup leaves it unset and always dumps.
if [ -n "${BACKUP_PLAN_FILE:-}" ] && [ ! -e "$BACKUP_PLAN_FILE" ]; then
  echo "no schema change planned: no backup needed"
  exit 0
fi

partial="$DUMP_FILE.partial"
# A failed pg_dump can leave a partial or empty file behind: only its exit status counts.
pg_dump --format=custom --compress=6 --no-password --file="$partial"
# Restoring to /dev/null reads and decompresses every data block, so a truncated or corrupt archive
# fails here. `pg_restore --list` would not: it reads only the table of contents.
pg_restore --file=/dev/null "$partial"
mv "$partial" "$DUMP_FILE"
echo "dumped $PGDATABASE: $(stat -c %s "$DUMP_FILE") bytes"
