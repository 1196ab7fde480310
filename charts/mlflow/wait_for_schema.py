"""
Server Deployment, init container: returns once the database schema is at the revision this image
expects, and MLflow's auth tables are at the revision its auth app expects. The migration Job moves
both there (the server would otherwise migrate the auth tables itself at start, in every process of
every pod at once); until then the pod stays in its init phase and the log
says why. The server container then runs `mlflow server` as its main process, which receives the
kubelet's SIGTERM; from MLflow 3.10 on the CLI forwards SIGTERM and SIGINT to uvicorn
(mlflow/mlflow#20373, "Forward SIGINT and SIGTERM from the mlflow server wrapper"); older releases
ignored it, which is why the config schema refuses images before 3.10.

In cloudsql mode (DB_OWNER_ROLE set) it also finishes the tables' hand-over of an install from
before the migration had a login of its own: while the server's IAM user still owns relations, it
waits until the migration Job lends it the owner role (charts/mlflow/migrate.py), then, in one
transaction, gives everything it owns to that role (REASSIGN OWNED BY CURRENT_USER: only the owner
of objects may give them away, and from PostgreSQL 16 on the Cloud SQL admin cannot act for an IAM
user) and, as that role, grants the writer role DML on every table and sequence, so that the server's
running pods, members of the writer role, never lose access. The migration then takes the
membership back: the server keeps DML and can alter or drop nothing. The server does not start while
its user still owns anything, even on a schema at its head (an upgrade that keeps the MLflow version):
the hand-over must not wait for a pod that never comes back to this container.

The pod runs shared.py's part, then the part below the marker; the imports above it are for the
checker and the unit tests.
"""
import os
import sys
import time

from shared import URI, auth_schema_state, describe, log, schema_state_when_reachable

# ---- the pod runs what follows ----
OWNER = os.environ.get("DB_OWNER_ROLE")
WRITER = os.environ.get("DB_WRITER_ROLE")
# Relations the connected user owns (not its sessions' temporary tables), and whether it may act as
# the owner role (which must exist first).
HANDOVER_QUERY = (
    "SELECT (SELECT count(*) FROM pg_class c JOIN pg_roles u ON u.oid = c.relowner WHERE u.rolname = current_user AND c.relpersistence <> 't'), "
    "COALESCE((SELECT pg_has_role(current_user, r.oid, 'MEMBER') FROM pg_roles r WHERE r.rolname = :owner), false)"
)


def quoted(name):
    return '"' + name.replace('"', '""') + '"'


def hand_over():
    """cloudsql mode: what the server's IAM user still owns goes to the owner role, once the migration
    lets it (docstring). How many relations it still owns afterwards: 0 when there is nothing (left)."""
    import sqlalchemy  # pyright: ignore[reportMissingImports]

    engine = sqlalchemy.create_engine(URI, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.begin() as connection:
            owned, member = connection.execute(sqlalchemy.text(HANDOVER_QUERY), {"owner": OWNER}).one()
            if not owned:
                return 0
            if not member:
                log("this IAM user still owns %s relations: waiting for the migration Job to let it hand them over to %s" % (owned, OWNER))
                return owned
            writer = quoted(WRITER)
            for statement in [
                "REASSIGN OWNED BY CURRENT_USER TO " + quoted(OWNER),
                "SET LOCAL ROLE " + quoted(OWNER),
                "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + writer,
                "GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO " + writer,
            ]:
                connection.execute(sqlalchemy.text(statement))
        log("handed %s relations over to %s; %s reads and writes them" % (owned, OWNER, WRITER))
        return 0
    finally:
        engine.dispose()


while True:
    # The server starts only once it owns nothing: the migration waits for the hand-over, and the
    # schema may well be at its head already (an upgrade that keeps the MLflow version).
    if OWNER:
        try:
            still_owned = hand_over()
        except Exception as error:
            log("the hand-over of the tables failed (%s); retrying" % describe(error).splitlines()[0])
            still_owned = None
        if still_owned != 0:
            time.sleep(10)
            continue
    current, head, known, tables = schema_state_when_reachable(600)
    if current == head:
        auth_current, auth_head, auth_known = auth_schema_state()
        if auth_current == auth_head:
            log("database schema at %s and auth tables at %s, as this MLflow expects; the server may start" % (head, auth_head))
            break
        if not auth_known:
            sys.exit(
                "auth tables revision %s is unknown to this MLflow image (a newer MLflow migrated them); "
                "MLflow schema downgrades are not supported: deploy that newer image again" % auth_current
            )
        log("waiting for the migration Job: auth tables at %s, this MLflow needs %s" % (auth_current, auth_head))
    elif not known:
        sys.exit(
            "database schema revision %s is unknown to this MLflow image (a newer MLflow migrated it); "
            "MLflow schema downgrades are not supported: deploy that newer image again" % current
        )
    else:
        log("waiting for the migration Job: database schema at %s, this MLflow needs %s" % (current, head))
    time.sleep(10)
