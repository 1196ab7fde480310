"""
Shared part of the MLflow pods' schema programs (wait_for_schema.py, migrate.py, gc.py): logging and
reading the database schema revision. Each of those programs runs as this part followed by its own,
as one `python -c` text (charts/mlflow/programs.ts); this file is never imported in a pod.
"""
# ---- the pod runs what follows ----
import os, subprocess, sys, time, urllib.request

URI = os.environ["MLFLOW_BACKEND_STORE_URI"]


def log(message):
    print("[mlflow-gke] " + message, flush=True)


def schema_state():
    """(database revision or None, revision this image expects, whether this image knows the database revision, table count)."""
    import sqlalchemy
    from alembic.script import ScriptDirectory
    from mlflow.store.db import utils

    engine = sqlalchemy.create_engine(URI, poolclass=sqlalchemy.pool.NullPool)
    try:
        current = utils._get_schema_version(engine)
        tables = [t for t in sqlalchemy.inspect(engine).get_table_names() if not t.startswith("alembic_")]
    finally:
        engine.dispose()
    head = utils._get_latest_schema_revision()
    known = True
    if current is not None:
        try:
            known = ScriptDirectory.from_config(utils._get_alembic_config("")).get_revision(current) is not None
        except Exception:
            known = False
    return current, head, known, len(tables)


def schema_state_when_reachable(timeout):
    deadline = time.time() + timeout
    while True:
        try:
            return schema_state()
        except Exception as error:
            if time.time() > deadline:
                raise
            log("database not reachable yet (%s); retrying" % str(error).splitlines()[0])
            time.sleep(5)


def run_once(main, what):
    """One-shot pods: the exit status is the result; an exception is a failure that says what broke."""
    try:
        code = main()
    except Exception as error:
        log("%s failed: %s" % (what, error))
        code = 1
    sys.exit(code)
