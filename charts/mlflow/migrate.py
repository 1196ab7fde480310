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

The backup gate: before anything changes, a migration that would move either history (shared.py
schema_change: not on an empty database, not at head) needs a verified backup of the database as it
is, else the Job refuses with one line that says so (backup_gate). In statefulset mode (BACKUP_GATE=
statefulset) the pod's init containers took it: backup_plan.py wrote the change it expected to
BACKUP_PLAN_FILE, pg_dump read it back whole, the upload recorded the object in BACKUP_RECORD_FILE.
The migration accepts the backup only when the plan names the very change it is about to make, so a
database that moved after the plan is never migrated on an older backup.

In cloudsql mode (BACKUP_GATE=cloudsql) the migration takes the backup itself: an on-demand backup of
the instance through the Cloud SQL Admin API v1, as a Google service account of its own
(BACKUP_ACCOUNT, whose one custom role may create and read backups of this instance and nothing else;
the migration's own account may only mint its tokens). It POSTs a backup run
(https://cloud.google.com/sql/docs/postgres/admin-api/rest/v1/backupRuns/insert: an Operation), polls
the operation (operations/get) until its status is DONE, pausing 5s then up to 30s (gcloud's own wait
for a Cloud SQL operation starts at 2s and grows to 20s: google-cloud-sdk 528.0.0,
googlecloudsdk/api_lib/sql/operations.py) for at most BACKUP_WAIT_SECONDS, fails on the operation's
`error`, then reads the backup run back (backupRuns/get) and requires status SUCCESSFUL
(SqlBackupRunStatus). The run is the one the operation's backupContext.backupId names (Operation,
BackupContext: "The identifier of the backup"), or, where the API leaves that out, the one listed
(backupRuns/list) with this Job's very description. The log line names the backup id, which
`gcloud sql backups restore` takes (docs/mlflow.md). Scopes: the Admin API methods accept
https://www.googleapis.com/auth/sqlservice.admin or .../cloud-platform (backupRuns/insert,
"Authorization Scopes"); the pod's own credentials are asked for cloud-platform, the scope the
IAM Credentials API call needs (google-auth's impersonated_credentials.Credentials rescopes a scoped
source to iam._IAM_SCOPE itself: googleapis/google-auth-library-python, google/auth/
impersonated_credentials.py, commit 0181b9c9e000). SQLADMIN_API_URL replaces the API's base URL:
the unit tests' seam, never rendered.

In cloudsql mode (DB_OWNER_ROLE set) the Job logs in as its own IAM database user, a member of the
owner role of charts/mlflow/cloudsql-grant.sql, and before anything else:

1. waits, like above, until the grant made it a member of the owner role and that role may create in
   public (OWNER_QUERY, as itself);
2. takes the tables over from the server's IAM user (DB_HANDOVER_FROM) when that user still owns any,
   as on an install from before the migration had a login of its own: it lends the server's user the
   owner role (it holds the ADMIN option), waits until the server's pod has handed everything over
   (charts/mlflow/wait_for_schema.py: REASSIGN OWNED BY CURRENT_USER, which only the owner of the
   objects may run, and which needs the new owner's privileges), then takes the membership back. From
   PostgreSQL 16 on only the grantor may revoke a membership, which is why the Job lends it itself
   rather than the admin; the REVOKE runs on every start, so an interrupted hand-over leaves nothing;
3. acts as the owner role from then on: PGOPTIONS="-c role=<owner>" makes every libpq connection of
   the process and of its subprocesses (`mlflow db upgrade`, the auth upgrade) SET ROLE at login, so
   whatever the migrations create belongs to the owner role, never to a login
   (https://www.postgresql.org/docs/16/libpq-envars.html, PGOPTIONS; the `role` setting, SET ROLE);
4. as the owner role, grants DML on every table and sequence to the writer role and makes that the
   default for what it creates later, so the server and gc read and write every table, old or new,
   and can alter or drop none.

PRIVILEGE_QUERY asks for both privileges on schema public for the connected user.
`has_schema_privilege` with a list of privileges is true when *any* of them is held, hence two calls
(https://www.postgresql.org/docs/16/functions-info.html, "Access Privilege Inquiry Functions"). The
live tests run it on PostgreSQL 15, 16 and 17 before and after charts/mlflow/cloudsql-grant.sql.

The pod runs shared.py's part, then the part below the marker; the imports above it are for the
checker and the unit tests.
"""
import os
import time

from shared import (
    URI,
    auth_schema_state,
    describe,
    fence_up,
    log,
    lower_fence,
    raise_fence,
    run_once,
    schema_change,
    schema_state,
    schema_state_when_reachable,
    sql,
)

# ---- the pod runs what follows ----
import subprocess

PRIVILEGE_QUERY = "SELECT current_user, has_schema_privilege('public', 'USAGE') AND has_schema_privilege('public', 'CREATE')"
# Whether the owner role exists, the connected user may act as it, and it may create in public. The
# functions run only on an existing role's row: pg_has_role fails on an unknown name.
OWNER_QUERY = (
    "SELECT current_user, COALESCE((SELECT pg_has_role(current_user, r.oid, 'MEMBER') AND has_schema_privilege(r.oid, 'public', 'USAGE') "
    "AND has_schema_privilege(r.oid, 'public', 'CREATE') FROM pg_roles r WHERE r.rolname = :owner), false)"
)
# How many relations (tables, indexes, sequences; not a session's temporary tables) a role owns in this database.
OWNED_QUERY = "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = :role AND c.relpersistence <> 't'"
OWNER = os.environ.get("DB_OWNER_ROLE")
WRITER = os.environ.get("DB_WRITER_ROLE")
HANDOVER_FROM = os.environ.get("DB_HANDOVER_FROM")


def quoted(name):
    """A role name as an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def owned_by(role):
    """How many relations `role` owns (OWNED_QUERY)."""
    import sqlalchemy  # pyright: ignore[reportMissingImports]

    engine = sqlalchemy.create_engine(URI, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sqlalchemy.text(OWNED_QUERY), {"role": role}).one()[0])
    finally:
        engine.dispose()


def may_create_in_public():
    """(database user, whether it holds USAGE and CREATE on schema public; in cloudsql mode, whether it may act as the owner role that does)."""
    import sqlalchemy  # pyright: ignore[reportMissingImports]

    query, params = (OWNER_QUERY, {"owner": OWNER}) if OWNER else (PRIVILEGE_QUERY, None)
    engine = sqlalchemy.create_engine(URI, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as connection:
            user, allowed = connection.execute(sqlalchemy.text(query), params).one()
    finally:
        engine.dispose()
    return user, bool(allowed)


def take_over(timeout):
    """The tables the server's IAM user still owns go to the owner role (docstring, step 2)."""
    owner, server = str(OWNER), str(HANDOVER_FROM)
    owned = owned_by(server)
    if owned:
        log("%s still owns %s relations: lending it %s so that its pod hands them over" % (server, owned, owner))
        sql(["GRANT %s TO %s" % (quoted(owner), quoted(server))])
        deadline = time.time() + timeout
        while owned:
            if time.time() > deadline:
                log(
                    "giving up after %ss: %s still owns %s relations; the server's pod hands them over before it starts "
                    "(its wait-for-schema init container): check that it runs the new render" % (timeout, server, owned)
                )
                return False
            log("waiting for the server's pod to hand %s relations of %s over to %s" % (owned, server, owner))
            time.sleep(5)
            owned = owned_by(server)
        log("%s owns the tables now" % owner)
    # Every time: a membership lent by an interrupted run goes too. A REVOKE of no membership only warns.
    sql(["REVOKE %s FROM %s" % (quoted(owner), quoted(server))])
    return True


def act_as_owner():
    """From here on every connection acts as the owner role, which grants the writer role DML (docstring, steps 3 and 4)."""
    os.environ["PGOPTIONS"] = "-c role=" + str(OWNER)
    writer = quoted(str(WRITER))
    sql(
        [
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + writer,
            "GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO " + writer,
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO " + writer,
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO " + writer,
        ]
    )
    log("acting as %s; %s may read and write every table" % (OWNER, WRITER))


def prepare_owner():
    """cloudsql mode: the grant, the take-over, then the owner role (docstring, steps 1 to 4)."""
    wait = int(os.environ["GRANT_WAIT_SECONDS"])
    # The grant and the take-over share GRANT_WAIT_SECONDS: the rest of the Job's deadline stays the migration's.
    started = time.time()
    deadline = started + 600
    while True:
        try:
            granted = wait_for_grant(wait)
            break
        except Exception as error:
            if time.time() > deadline:
                raise
            log("database not reachable yet (%s); retrying" % describe(error).splitlines()[0])
            time.sleep(5)
    if not granted or not take_over(max(0, int(wait - (time.time() - started)))):
        return False
    act_as_owner()
    return True


def wait_for_grant(timeout):
    deadline = time.time() + timeout
    pause = 5
    while True:
        user, allowed = may_create_in_public()
        if allowed:
            return True
        lacks = ("membership in %s, with USAGE and CREATE on schema public" % OWNER) if OWNER else "USAGE and CREATE on schema public"
        if time.time() + pause > deadline:
            log(
                "giving up after %ss: database user %s still lacks %s; "
                "run the Cloud SQL grant (charts/mlflow/cloudsql-grant.sql, docs/mlflow.md), then delete this Job and apply again"
                % (timeout, user, lacks)
            )
            return False
        log(
            "database user %s lacks %s (a migration would fail with "
            "\"permission denied for schema public\"): waiting for the Cloud SQL grant, next check in %ss" % (user, lacks, pause)
        )
        time.sleep(pause)
        pause = min(pause * 2, 60)


def read_line(path):
    """A file's first line, or None when there is no such file."""
    try:
        with open(path) as handle:
            return handle.readline().strip()
    except FileNotFoundError:
        return None


def backup_recorded(change):
    """statefulset mode: the init containers' plan names this very change, and their upload recorded the dump."""
    planned = read_line(os.environ["BACKUP_PLAN_FILE"])
    record = read_line(os.environ["BACKUP_RECORD_FILE"])
    if planned != change:
        log(
            "refusing to migrate without a verified backup: the schema is to change (%s), but the backup gate planned %s; "
            "the Job's next pod plans again" % (change, "nothing" if planned is None else "(" + planned + ")")
        )
        return False
    if not record:
        log("refusing to migrate without a verified backup: the schema is to change (%s) and no backup was recorded" % change)
        return False
    log("backup taken and verified before the migration: %s (%s)" % (record, change))
    return True


# The Cloud SQL Admin API v1 (https://cloud.google.com/sql/docs/postgres/admin-api/rest).
SQLADMIN_API = "https://sqladmin.googleapis.com/v1"
SQLADMIN_SCOPE = "https://www.googleapis.com/auth/sqlservice.admin"
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
BACKUP_REFUSAL = "refusing to migrate without a verified backup: "


class BackupRefused(Exception):
    """Why the cloudsql backup gate refuses, as the one line it logs."""


def sqladmin_session():
    """An HTTP session that calls Google's APIs as BACKUP_ACCOUNT, through the pod's own Google identity."""
    # google.auth.default: the pod's own credentials (Workload Identity: the migration's account).
    from google.auth import default  # pyright: ignore[reportMissingImports]
    from google.auth import impersonated_credentials  # pyright: ignore[reportMissingImports]
    from google.auth.transport.requests import AuthorizedSession  # pyright: ignore[reportMissingImports]

    source, _ = default(scopes=[CLOUD_PLATFORM_SCOPE])
    backup = impersonated_credentials.Credentials(
        source_credentials=source, target_principal=os.environ["BACKUP_ACCOUNT"], target_scopes=[SQLADMIN_SCOPE]
    )
    return AuthorizedSession(backup)


def sqladmin(session, method, url, body=None):
    """One Admin API call's JSON answer; an HTTP error refuses with its status and Google's message."""
    response = session.request(method, url, json=body, timeout=60)
    if response.status_code >= 400:
        try:
            message = response.json()["error"]["message"]
        except Exception:
            message = response.text.strip()[:300]
        raise BackupRefused("%s %s answered HTTP %s: %s" % (method, url, response.status_code, message))
    return response.json()


def backup_run_id(session, instance_url, operation, description):
    """The backup run the finished operation made: backupContext.backupId, else the run listed with our description."""
    backup_id = (operation.get("backupContext") or {}).get("backupId")
    if backup_id:
        return str(backup_id)
    for run in sqladmin(session, "GET", instance_url + "/backupRuns").get("items", []):
        if run.get("description") == description:
            return str(run["id"])
    raise BackupRefused("operation %s is done, but no backup run of the instance has the description %r" % (operation.get("name"), description))


def cloudsql_backup(change):
    """cloudsql mode: an on-demand backup of the instance, waited for and read back SUCCESSFUL (docstring)."""
    project, instance = os.environ["CLOUDSQL_PROJECT"], os.environ["CLOUDSQL_INSTANCE"]
    wait = int(os.environ["BACKUP_WAIT_SECONDS"])
    base = os.environ.get("SQLADMIN_API_URL") or SQLADMIN_API
    instance_url = "%s/projects/%s/instances/%s" % (base, project, instance)
    description = "mlflow-gke pre-migration backup, pod %s: %s" % (os.environ.get("HOSTNAME", "?"), change)
    session = sqladmin_session()
    operation = sqladmin(session, "POST", instance_url + "/backupRuns", {"description": description})
    log("backup of Cloud SQL instance %s started as %s (operation %s)" % (instance, os.environ["BACKUP_ACCOUNT"], operation.get("name")))
    deadline = time.time() + wait
    pause = 5
    while operation.get("status") != "DONE":
        if time.time() + pause > deadline:
            raise BackupRefused("the backup (operation %s) was still %s after %ss" % (operation.get("name"), operation.get("status"), wait))
        time.sleep(pause)
        pause = min(pause * 2, 30)
        operation = sqladmin(session, "GET", "%s/projects/%s/operations/%s" % (base, project, operation["name"]))
    errors = (operation.get("error") or {}).get("errors") or []
    if operation.get("error"):
        detail = "; ".join("%s: %s" % (e.get("code"), e.get("message")) for e in errors) or str(operation["error"])
        raise BackupRefused("the backup (operation %s) failed: %s" % (operation.get("name"), detail))
    backup_id = backup_run_id(session, instance_url, operation, description)
    run = sqladmin(session, "GET", "%s/backupRuns/%s" % (instance_url, backup_id))
    if run.get("status") != "SUCCESSFUL":
        raise BackupRefused("backup run %s of instance %s is %s, not SUCCESSFUL" % (backup_id, instance, run.get("status")))
    return backup_id


def backup_taken(change):
    """cloudsql mode: whether the on-demand backup was taken and verified; one line either way."""
    try:
        backup_id = cloudsql_backup(change)
    except BackupRefused as refusal:
        log(BACKUP_REFUSAL + "the schema is to change (%s) and %s" % (change, refusal))
        return False
    except Exception as error:
        log(BACKUP_REFUSAL + "the schema is to change (%s) and the backup failed: %s" % (change, describe(error).splitlines()[0]))
        return False
    log(
        "backup taken and verified before the migration: backup %s of Cloud SQL instance %s (%s)"
        % (backup_id, os.environ["CLOUDSQL_INSTANCE"], change)
    )
    return True


def backup_gate(change):
    """Whether a verified backup of the database at its present revisions exists, so that `change` may start."""
    gate = os.environ.get("BACKUP_GATE")
    if gate == "statefulset":
        return backup_recorded(change)
    if gate == "cloudsql":
        return backup_taken(change)
    log("refusing to migrate without a verified backup: the schema is to change (%s) and BACKUP_GATE is %r" % (change, gate))
    return False


AUTH_UPGRADE = ["python", "-m", "mlflow.server.auth", "db", "upgrade", "--url"]


def migrate_auth():
    log("upgrading the auth tables")
    code = subprocess.call(AUTH_UPGRADE + [URI])
    if code != 0:
        log("the auth database upgrade failed with exit code %s" % code)
        return code
    log("auth tables at their head")
    return 0


def fenced_and_backed_up(change):
    """The write fence is up and a verified backup vouches for the database as it is; else the fence comes down again."""
    # statefulset: the plan raised it before the dump. cloudsql: here, before the backup.
    if os.environ.get("BACKUP_GATE") == "cloudsql":
        raise_fence(change)
    if backup_gate(change):
        return True
    lower_fence("the migration did not start, and nothing changed")
    return False


def migrate():
    if OWNER and not prepare_owner():
        return 1
    tracking = schema_state_when_reachable(600)
    current, head, known, tables = tracking
    log("database schema at %s, this MLflow expects %s" % (current, head))
    if not known:
        log("database revision %s is unknown to this MLflow image: refusing to touch it (downgrades are not supported)" % current)
        return 1
    # Nothing changes before the writers have stopped and a backup vouches for the database as it is.
    change = schema_change(tracking, auth_schema_state())
    if change is not None and not fenced_and_backed_up(change):
        return 1
    code = run_migrations(current, head, tables)
    if code == 0 and (change is not None or fence_up()):
        lower_fence("both schemas are at their head")
    elif code != 0:
        log("writes stay stopped until a migration succeeds (docs/mlflow.md, \"The write fence\")")
    return code


def run_migrations(current, head, tables):
    if current == head:
        log("nothing to migrate")
        return migrate_auth()
    if not OWNER and not wait_for_grant(int(os.environ["GRANT_WAIT_SECONDS"])):
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
    current, head = schema_state()[:2]
    if current != head:
        log("after the migration the schema is at %s, not %s" % (current, head))
        return 1
    log("schema migrated to %s" % head)
    return migrate_auth()


run_once(migrate, "migration")
