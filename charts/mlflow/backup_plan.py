"""
The backup gate's plan (statefulset mode): the migration Job's first init container. It reads the
tracking and the auth revision of the database and, when the migration that follows would change the
schema (shared.py schema_change), writes that change as one line to BACKUP_PLAN_FILE. The next two init
containers take a backup only when that file exists: pg_dump with a full read-back
(charts/postgres/dump.sh), then the upload beside the nightly dumps (charts/postgres/storage.sh), which
records the object in the backup record file. The migration then refuses any change that no verified
backup vouches for (migrate.py backup_gate).

Before it writes the file it raises the write fence (shared.py raise_fence): the servers refuse writes
from then until the migration has run, so the backup holds everything they accepted.

When the schema is current, or the database empty, the file is not written: no backup is taken, no
write is refused and nothing waits.

The pod runs shared.py's part, then the part below the marker; the imports above it are for the
checker and the unit tests.
"""
import os

from shared import auth_schema_state, log, raise_fence, run_once, schema_change, schema_state_when_reachable

# ---- the pod runs what follows ----


def plan():
    tracking = schema_state_when_reachable(600)
    change = schema_change(tracking, auth_schema_state())
    if change is None:
        log("schema current (or database empty): no backup needed")
        return 0
    log("the migration will change the schema (%s): a backup comes first" % change)
    # Before the dump: whatever a server accepts from here on would be missing from the backup.
    raise_fence(change)
    with open(os.environ["BACKUP_PLAN_FILE"], "w") as plan_file:
        plan_file.write(change + "\n")
    return 0


run_once(plan, "backup plan")
