/**
 * The small Python programs the MLflow pods run with the image's own interpreter, MLflow and Alembic.
 * Kubernetes expands "$(NAME)" in command and args, so none of them may contain a dollar sign.
 *
 * In cloudsql mode the Cloud SQL Auth Proxy is a native sidecar (charts/lib/cloud-sql-proxy.ts): the
 * kubelet starts these programs only after its startup probe has passed and stops it after them, so
 * they neither wait for it nor end it.
 */

/**
 * Both migration privileges on schema public for the connected user. `has_schema_privilege` with a
 * list of privileges is true when *any* of them is held, hence two calls
 * (https://www.postgresql.org/docs/16/functions-info.html, "Access Privilege Inquiry Functions").
 * The live tests run it on PostgreSQL 15, 16 and 17 before and after charts/mlflow/cloudsql-grant.sql.
 */
export const SCHEMA_PRIVILEGE_QUERY = "SELECT current_user, has_schema_privilege('public', 'USAGE') AND has_schema_privilege('public', 'CREATE')";

/** Shared helpers: logging, reading the schema revision. */
const PRELUDE = `import os, subprocess, sys, time, urllib.request

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
`;

/**
 * Deployment, init container: return once the database schema is at the revision this image expects.
 * The migration Job moves it there; until then the pod stays in its init phase and the log says why.
 * The server container then runs `mlflow server` as its main process, which receives the kubelet's
 * SIGTERM; from MLflow 3.10 on the CLI forwards SIGTERM and SIGINT to uvicorn (mlflow/mlflow#20373,
 * "Forward SIGINT and SIGTERM from the mlflow server wrapper"); older releases ignored it, which is
 * why the schema refuses images before 3.10.
 */
export const WAIT_FOR_SCHEMA = `${PRELUDE}
while True:
    current, head, known, tables = schema_state_when_reachable(600)
    if current == head:
        log("database schema at %s, as this MLflow expects; the server may start" % head)
        break
    if not known:
        sys.exit(
            "database schema revision %s is unknown to this MLflow image (a newer MLflow migrated it); "
            "MLflow schema downgrades are not supported: deploy that newer image again" % current
        )
    log("waiting for the migration Job: database schema at %s, this MLflow needs %s" % (current, head))
    time.sleep(10)
`;

/**
 * Migration Job: create the schema on an empty database, else `mlflow db upgrade`. Both need USAGE and
 * CREATE on schema public, which a Cloud SQL IAM user gets only from the one-time grant
 * (charts/mlflow/cloudsql-grant.sql): until then the Job waits, with a growing pause, for at most
 * GRANT_WAIT_SECONDS, so a grant that comes later than the Job still lets it succeed.
 */
export const MIGRATE = `${PRELUDE}
PRIVILEGE_QUERY = "${SCHEMA_PRIVILEGE_QUERY}"


def may_create_in_public():
    """(database user, whether it holds USAGE and CREATE on schema public)."""
    import sqlalchemy

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
            "\\"permission denied for schema public\\"): waiting for the Cloud SQL grant, next check in %ss" % (user, pause)
        )
        time.sleep(pause)
        pause = min(pause * 2, 60)


def migrate():
    current, head, known, tables = schema_state_when_reachable(600)
    log("database schema at %s, this MLflow expects %s" % (current, head))
    if current == head:
        log("nothing to migrate")
        return 0
    if not known:
        log("database revision %s is unknown to this MLflow image: refusing to touch it (downgrades are not supported)" % current)
        return 1
    if not wait_for_grant(int(os.environ["GRANT_WAIT_SECONDS"])):
        return 1
    if current is None and tables == 0:
        from mlflow.store.db import utils
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
    return 0


run_once(migrate, "migration")
`;

/**
 * Garbage collection: `mlflow gc` of runs deleted long enough ago, only on a schema this image knows.
 * gc reads the runs from the database (`--backend-store-uri`) but refuses to start without a tracking
 * URI, and deletes each run's proxied `mlflow-artifacts:` artifacts through that tracking server
 * (mlflow/cli/__init__.py, gc()): MLFLOW_TRACKING_URI names the in-cluster Service, which must answer
 * first. `--artifacts-destination` is not passed: it does not apply to proxied artifact URIs.
 */
export const GC = `${PRELUDE}

def wait_for_server(timeout=600):
    url = os.environ["MLFLOW_TRACKING_URI"].rstrip("/") + "/health"
    deadline = time.time() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return True
        except Exception as error:
            last = error
        if time.time() > deadline:
            log("tracking server %s not healthy after %ss: %s" % (url, timeout, last))
            return False
        time.sleep(5)


def gc():
    current, head, known, tables = schema_state_when_reachable(300)
    if current != head:
        log("database schema at %s but this MLflow expects %s: skipping gc until the migration has run" % (current, head))
        return 1
    if not wait_for_server():
        return 1
    command = [
        "mlflow", "gc",
        "--older-than", os.environ["GC_OLDER_THAN"],
        "--backend-store-uri", URI,
    ]
    # The tracking URI reaches gc through MLFLOW_TRACKING_URI, the variable its docstring asks for.
    log("running mlflow gc --older-than %s through %s" % (os.environ["GC_OLDER_THAN"], os.environ["MLFLOW_TRACKING_URI"]))
    return subprocess.call(command)


run_once(gc, "gc")
`;

/**
 * Post-deploy verification through the tracking server, the way a notebook uses it: experiment,
 * parameter, metric, artifact (proxied to GCS), registered model and version, each read back.
 */
export const VERIFY = `import os, sys, tempfile, time, urllib.request, uuid

import mlflow
from mlflow.tracking import MlflowClient

URI = os.environ["MLFLOW_TRACKING_URI"]
failures = []


def log(message):
    print("[mlflow-verify] " + message, flush=True)


def check(what, ok, detail=""):
    log(("PASS " if ok else "FAIL ") + what + ((": " + detail) if detail else ""))
    if not ok:
        failures.append(what)


deadline = time.time() + 300
while True:
    try:
        with urllib.request.urlopen(URI + "/health", timeout=5) as response:
            if response.status == 200:
                break
    except Exception as error:
        if time.time() > deadline:
            sys.exit("tracking server at %s not healthy after 300s: %s" % (URI, error))
    time.sleep(3)

suffix = time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]
experiment_name = "mlflow-gke-verify-" + suffix
model_name = "mlflow-gke-verify-" + suffix
client = MlflowClient(tracking_uri=URI)
mlflow.set_tracking_uri(URI)
experiment_id = None
try:
    experiment_id = client.create_experiment(experiment_name)
    check("create experiment", bool(experiment_id), experiment_name)
    run = client.create_run(experiment_id)
    run_id = run.info.run_id
    client.log_param(run_id, "alpha", "0.5")
    client.log_metric(run_id, "rmse", 0.25, step=1)
    workdir = tempfile.mkdtemp()
    path = os.path.join(workdir, "hello.txt")
    content = "mlflow-gke verification " + suffix
    with open(path, "w") as handle:
        handle.write(content)
    client.log_artifact(run_id, path, artifact_path="verify")
    client.set_terminated(run_id)

    fetched = client.get_run(run_id)
    check("read back parameter", fetched.data.params.get("alpha") == "0.5", str(fetched.data.params))
    check("read back metric", fetched.data.metrics.get("rmse") == 0.25, str(fetched.data.metrics))
    listed = [a.path for a in client.list_artifacts(run_id, "verify")]
    check("list artifact", "verify/hello.txt" in listed, str(listed))
    local = client.download_artifacts(run_id, "verify/hello.txt", tempfile.mkdtemp())
    with open(local) as handle:
        check("read back artifact", handle.read() == content)

    client.create_registered_model(model_name)
    version = client.create_model_version(model_name, source=fetched.info.artifact_uri + "/verify", run_id=run_id)
    read = client.get_model_version(model_name, version.version)
    check("register model version", read.name == model_name and read.run_id == run_id, "%s v%s" % (read.name, read.version))
    check("read back registered model", client.get_registered_model(model_name).name == model_name)
except Exception as error:
    check("talk to the tracking server", False, repr(error))
finally:
    # Leave no trace: the model is deleted, the experiment goes to the deleted stage (mlflow gc removes it).
    try:
        client.delete_registered_model(model_name)
    except Exception:
        pass
    if experiment_id:
        try:
            client.delete_experiment(experiment_id)
        except Exception:
            pass

if failures:
    sys.exit("MLflow verification FAILED: " + ", ".join(failures))
log("MLflow verification passed against " + URI)
`;
