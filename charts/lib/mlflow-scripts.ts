/**
 * The small Python programs the MLflow pods run with the image's own interpreter, MLflow and Alembic.
 * Kubernetes expands "$(NAME)" in command and args, so none of them may contain a dollar sign.
 */
import { PROXY_ADMIN_PORT, PROXY_HTTP_PORT } from './cloud-sql-proxy';

/** Shared helpers: logging, waiting for the proxy sidecar, stopping it, reading the schema revision. */
const PRELUDE = `import os, subprocess, sys, time, urllib.request

URI = os.environ["MLFLOW_BACKEND_STORE_URI"]
PROXY = os.environ.get("CLOUD_SQL_PROXY") == "1"


def log(message):
    print("[mlflow-gke] " + message, flush=True)


def wait_for_proxy(timeout=300):
    if not PROXY:
        return
    deadline = time.time() + timeout
    while True:
        try:
            with urllib.request.urlopen("http://127.0.0.1:${PROXY_HTTP_PORT}/startup", timeout=2) as response:
                if response.status == 200:
                    return
        except Exception as error:
            last = error
        if time.time() > deadline:
            sys.exit("Cloud SQL Auth Proxy not started after %ss: %s" % (timeout, last))
        time.sleep(1)


def stop_proxy():
    # A classic sidecar keeps a Job pod running until it exits: end it through its admin endpoint.
    if not PROXY:
        return
    try:
        request = urllib.request.Request("http://127.0.0.1:${PROXY_ADMIN_PORT}/quitquitquit", method="POST")
        urllib.request.urlopen(request, timeout=5)
        log("Cloud SQL Auth Proxy stopped")
    except Exception as error:
        log("could not stop the Cloud SQL Auth Proxy: %s" % error)


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
    """One-shot pods: wait for the proxy, run, always end the proxy so the pod can complete."""
    wait_for_proxy()
    try:
        code = main()
    except Exception as error:
        log("%s failed: %s" % (what, error))
        code = 1
    finally:
        stop_proxy()
    sys.exit(code)
`;

/**
 * Deployment: serve only once the database schema is at the revision this image expects. The
 * migration Job moves it there; until then the pod stays un-started (startup probe) and says why.
 * Then it becomes `mlflow server` with the container's arguments (exec: the CLI takes over as the
 * container's main process and receives the kubelet's SIGTERM). From MLflow 3.10 on the CLI forwards
 * SIGTERM and SIGINT to uvicorn (mlflow/mlflow#20373, "Forward SIGINT and SIGTERM from the mlflow
 * server wrapper"); older releases ignored it, which is why the schema refuses images before 3.10.
 */
export const WAIT_THEN_SERVE = `${PRELUDE}
wait_for_proxy()
while True:
    current, head, known, tables = schema_state_when_reachable(600)
    if current == head:
        log("database schema at %s, as this MLflow expects; starting the server" % head)
        break
    if not known:
        sys.exit(
            "database schema revision %s is unknown to this MLflow image (a newer MLflow migrated it); "
            "MLflow schema downgrades are not supported: deploy that newer image again" % current
        )
    log("waiting for the migration Job: database schema at %s, this MLflow needs %s" % (current, head))
    time.sleep(10)
os.execvp("mlflow", ["mlflow", "server"] + sys.argv[1:])
`;

/** Migration Job: create the schema on an empty database, else `mlflow db upgrade`; always stop the proxy. */
export const MIGRATE = `${PRELUDE}

def migrate():
    current, head, known, tables = schema_state_when_reachable(600)
    log("database schema at %s, this MLflow expects %s" % (current, head))
    if current == head:
        log("nothing to migrate")
        return 0
    if not known:
        log("database revision %s is unknown to this MLflow image: refusing to touch it (downgrades are not supported)" % current)
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
