"""
The shared part of the MLflow pods' schema programs (wait_for_schema.py, migrate.py, gc.py): logging,
reading the database schema revision, the exit status of one-shot pods. Each of those programs runs
as this part followed by its own, as one `python -c` text (charts/mlflow/programs.ts): no pod
imports this file. Kubernetes expands "$(NAME)" in a command, so no program may contain a dollar sign.

SQLAlchemy, Alembic and MLflow are the image's; they are not installed where the checker runs, hence
the pyright exceptions on their imports (and on those alone).
"""
# ---- the pod runs what follows ----
import os, sys, time

URI = os.environ["MLFLOW_BACKEND_STORE_URI"]


def log(message):
    print("[mlflow-gke] " + message, flush=True)


def describe(error):
    """An error's message, or its type when it has none (TimeoutError(), ConnectionResetError())."""
    return str(error).strip() or type(error).__name__


def schema_state():
    """(database revision or None, revision this image expects, whether this image knows the database revision, table count)."""
    import sqlalchemy  # pyright: ignore[reportMissingImports]
    from alembic.script import ScriptDirectory  # pyright: ignore[reportMissingImports]
    from mlflow.store.db import utils  # pyright: ignore[reportMissingImports]

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


def auth_schema_state():
    """(auth tables' revision or None, the revision this image's auth expects, whether this image knows the current one).

    MLflow's basic-auth app keeps its own Alembic history in alembic_version_auth
    (mlflow/server/auth/db/utils.py migrate_if_needed), and every server process migrates it at start
    (create_app -> store.init_db). The server waits until the migration Job has brought it to head, so
    those start-up checks find nothing to do and the Job stays its one migrator.
    """
    import sqlalchemy  # pyright: ignore[reportMissingImports]
    from alembic.migration import MigrationContext  # pyright: ignore[reportMissingImports]
    from alembic.script import ScriptDirectory  # pyright: ignore[reportMissingImports]
    from mlflow.server.auth.db import utils  # pyright: ignore[reportMissingImports]

    engine = sqlalchemy.create_engine(URI, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection, opts={"version_table": "alembic_version_auth"}).get_current_revision()
    finally:
        engine.dispose()
    scripts = ScriptDirectory.from_config(utils._get_alembic_config(""))
    known = True
    if current is not None:
        try:
            known = scripts.get_revision(current) is not None
        except Exception:
            known = False
    return current, scripts.get_current_head(), known


def schema_change(tracking, auth):
    """What a migration would change, as one line, or None when it changes nothing worth a backup.

    `tracking` is schema_state()'s answer, `auth` auth_schema_state()'s. A database without MLflow's
    tables holds nothing to lose, and one at a revision this image does not know is never touched
    (the migration refuses it): neither needs a backup. Otherwise a backup is due as soon as either
    history is behind the image's head, the auth tables' creation in a database that predates them
    included. The backup gate's plan (backup_plan.py) and the migration compare this very line, so a
    backup vouches for the revisions it was taken at and no other.
    """
    current, head, known, tables = tracking
    auth_current, auth_head, auth_known = auth
    if (current is None and tables == 0) or not known or not auth_known:
        return None
    if current == head and auth_current == auth_head:
        return None
    return "tracking %s -> %s, auth %s -> %s" % (current, head, auth_current, auth_head)


# The write fence: while this table exists a schema migration is under way, and every MLflow server
# refuses writes (charts/mlflow/iap_auth.py WriteFence) and gc skips its run. The migration raises it
# before its backup, so nothing is written after the backup was taken, and drops it once both schemas
# are at their head. A server whose image expects another revision than the database's refuses writes
# too, so the old version's pods stay read-only until the rolling update has replaced them.
FENCE_TABLE = "mlflow_gke_migration"
FENCE_QUERY = "SELECT count(*) FROM pg_class WHERE relname = '" + FENCE_TABLE + "' AND relnamespace = 'public'::regnamespace"
# How long the servers may take to see the fence (they read it at most once a second, WriteFence) and
# a write already under way to finish, before the backup starts.
FENCE_SETTLE_SECONDS = 5


def sql(statements):
    """Runs statements in one transaction as the connected user."""
    import sqlalchemy  # pyright: ignore[reportMissingImports]

    engine = sqlalchemy.create_engine(URI, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(sqlalchemy.text(statement))
    finally:
        engine.dispose()


def fence_up():
    """Whether a migration is under way (the fence table exists)."""
    import sqlalchemy  # pyright: ignore[reportMissingImports]

    engine = sqlalchemy.create_engine(URI, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sqlalchemy.text(FENCE_QUERY)).one()[0]) > 0
    finally:
        engine.dispose()


def raise_fence(change):
    """Stops every server's writes for `change`, then waits until they all see it."""
    sql(
        [
            "CREATE TABLE IF NOT EXISTS " + FENCE_TABLE + " (change text NOT NULL, raised_at timestamptz NOT NULL DEFAULT now())",
            "INSERT INTO " + FENCE_TABLE + " (change) VALUES ('" + change.replace("'", "''") + "')",
        ]
    )
    log("writes stopped for the migration (%s); waiting %ss for every server to see it" % (change, FENCE_SETTLE_SECONDS))
    time.sleep(FENCE_SETTLE_SECONDS)


def lower_fence(why):
    sql(["DROP TABLE IF EXISTS " + FENCE_TABLE])
    log("writes allowed again: " + why)


def schema_state_when_reachable(timeout):
    deadline = time.time() + timeout
    while True:
        try:
            return schema_state()
        except Exception as error:
            if time.time() > deadline:
                raise
            log("database not reachable yet (%s); retrying" % describe(error).splitlines()[0])
            time.sleep(5)


def run_once(main, what):
    """One-shot pods: the exit status is the result; an exception is a failure that says what broke."""
    try:
        code = main()
    except Exception as error:
        log("%s failed: %s" % (what, describe(error)))
        code = 1
    sys.exit(code)
