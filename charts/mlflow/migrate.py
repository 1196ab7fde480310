"""
Migration Job: creates the schema on an empty database, else runs `mlflow db upgrade`. Both need
USAGE and CREATE on schema public, which a Cloud SQL IAM user gets only from the one-time grant
(charts/mlflow/cloudsql-grant.sql): until then the Job waits, with a growing pause, for at most
GRANT_WAIT_SECONDS, so a grant that comes later than the Job still lets it succeed.

Then it brings MLflow's auth tables (users, roles, permissions; the basic-auth app) to their head in
the same database, under their own Alembic version table: `python -m mlflow.server.auth db upgrade
--url <uri>`, the command the MLflow docs give (docs/docs/self-hosting/security/basic-http-auth.mdx,
"Permissions Database"; mlflow/server/auth/db/cli.py upgrade: create_engine(url), migrate to "head").
It runs every time, a no-op at head, so a database that predates authentication gets its tables too.

PRIVILEGE_QUERY asks for both privileges on schema public for the connected user.
`has_schema_privilege` with a list of privileges is true when *any* of them is held, hence two calls
(https://www.postgresql.org/docs/16/functions-info.html, "Access Privilege Inquiry Functions"). The
live tests run it on PostgreSQL 15, 16 and 17 before and after charts/mlflow/cloudsql-grant.sql.

The pod runs shared.py's part, then the part below the marker; the imports above it are for the
checker and the unit tests.
"""
import os
import time

from shared import URI, log, run_once, schema_state, schema_state_when_reachable

# ---- the pod runs what follows ----
import subprocess

PRIVILEGE_QUERY = "SELECT current_user, has_schema_privilege('public', 'USAGE') AND has_schema_privilege('public', 'CREATE')"


def may_create_in_public():
    """(database user, whether it holds USAGE and CREATE on schema public)."""
    import sqlalchemy  # pyright: ignore[reportMissingImports]

    engine = sqlalchemy.create_engine(URI, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as connection:
            user, allowed = connection.execute(sqlalchemy.text(PRIVILEGE_QUERY)).one()
    finally:
        engine.dispose()
    return user, bool(allowed)


def wait_for_grant(timeout):
    deadline = time.time() + timeout
    pause = 5
    while True:
        user, allowed = may_create_in_public()
        if allowed:
            return True
        if time.time() + pause > deadline:
            log(
                "giving up after %ss: database user %s still lacks USAGE and CREATE on schema public; "
                "run the Cloud SQL grant (charts/mlflow/cloudsql-grant.sql, docs/mlflow.md), then delete this Job and apply again"
                % (timeout, user)
            )
            return False
        log(
            "database user %s lacks USAGE and CREATE on schema public (a migration would fail with "
            "\"permission denied for schema public\"): waiting for the Cloud SQL grant, next check in %ss" % (user, pause)
        )
        time.sleep(pause)
        pause = min(pause * 2, 60)


AUTH_UPGRADE = ["python", "-m", "mlflow.server.auth", "db", "upgrade", "--url"]


def migrate_auth():
    log("upgrading the auth tables")
    code = subprocess.call(AUTH_UPGRADE + [URI])
    if code != 0:
        log("the auth database upgrade failed with exit code %s" % code)
        return code
    log("auth tables at their head")
    return 0


def migrate():
    current, head, known, tables = schema_state_when_reachable(600)
    log("database schema at %s, this MLflow expects %s" % (current, head))
    if current == head:
        log("nothing to migrate")
        return migrate_auth()
    if not known:
        log("database revision %s is unknown to this MLflow image: refusing to touch it (downgrades are not supported)" % current)
        return 1
    if not wait_for_grant(int(os.environ["GRANT_WAIT_SECONDS"])):
        return 1
    if current is None and tables == 0:
        from mlflow.store.db import utils  # pyright: ignore[reportMissingImports]
        log("empty database: creating the MLflow schema")
        engine = utils.create_sqlalchemy_engine_with_retry(URI)
        try:
            utils._initialize_tables(engine)
        finally:
            engine.dispose()
    else:
        log("running mlflow db upgrade")
        code = subprocess.call(["mlflow", "db", "upgrade", URI])
        if code != 0:
            log("mlflow db upgrade failed with exit code %s" % code)
            return code
    current, head, known, tables = schema_state()
    if current != head:
        log("after the migration the schema is at %s, not %s" % (current, head))
        return 1
    log("schema migrated to %s" % head)
    return migrate_auth()


run_once(migrate, "migration")
