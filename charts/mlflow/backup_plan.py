"""
The backup gate's plan (statefulset mode): the migration Job's first init container. It reads the
tracking and the auth revision of the database and, when the migration that follows would change the
schema (shared.py schema_change), writes that change as one line to BACKUP_PLAN_FILE. The next two init
containers take a backup only when that file exists: pg_dump with a full read-back
(charts/postgres/dump.sh), then the upload beside the nightly dumps (charts/postgres/storage.sh), which
records the object in the backup record file. The migration then refuses any change that no verified
backup vouches for (migrate.py backup_gate).

When the schema is current, or the database empty, the file is not written: no backup is taken and
nothing waits.

The pod runs shared.py's part, then the part below the marker; the imports above it are for the
checker and the unit tests.
"""
import os

from shared import auth_schema_state, log, run_once, schema_change, schema_state_when_reachable

# ---- the pod runs what follows ----


def plan():
    tracking = schema_state_when_reachable(600)
    change = schema_change(tracking, auth_schema_state())
    if change is None:
        log("schema current (or database empty): no backup needed")
        return 0
    with open(os.environ["BACKUP_PLAN_FILE"], "w") as plan_file:
        plan_file.write(change + "\n")
    log("the migration will change the schema (%s): a backup comes first" % change)
    return 0


run_once(plan, "backup plan")
