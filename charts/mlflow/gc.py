"""
Garbage collection CronJob: `mlflow gc` of runs deleted long enough ago, only on a schema this image
knows. gc reads the runs from the database (`--backend-store-uri`) but refuses to start without a
tracking URI, and deletes each run's proxied `mlflow-artifacts:` artifacts through that tracking
server (mlflow/cli/__init__.py, gc()): MLFLOW_TRACKING_URI names the in-cluster Service, which must
answer first. `--artifacts-destination` is not passed: it does not apply to proxied artifact URIs. Its account is
no admin: the role mlflow-gke-gc gives it MANAGE on every experiment, which those deletes need
(DELETE /api/2.0/mlflow-artifacts/artifacts/<experiment>/..., judged as manage: mlflow@v3.17.0
mlflow/server/auth/__init__.py validate_can_delete_experiment_artifact_proxy).

The pod runs shared.py's part, then the part below the marker; the imports above it are for the
checker and the unit tests.
"""
import os
import time

from shared import URI, describe, fence_up, log, run_once, schema_state_when_reachable

# ---- the pod runs what follows ----
import ssl, subprocess, urllib.request


def wait_for_server(timeout=600):
    url = os.environ["MLFLOW_TRACKING_URI"].rstrip("/") + "/health"
    context = ssl.create_default_context(cafile=os.environ["MLFLOW_TRACKING_SERVER_CERT_PATH"])
    deadline = time.time() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5, context=context) as response:
                if response.status == 200:
                    return True
                last = "status %s" % response.status
        except Exception as error:
            last = describe(error)
        if time.time() > deadline:
            log("tracking server %s not healthy after %ss: %s" % (url, timeout, last))
            return False
        time.sleep(5)


def gc():
    current, head = schema_state_when_reachable(300)[:2]
    if current != head:
        log("database schema at %s but this MLflow expects %s: skipping gc until the migration has run" % (current, head))
        return 1
    if fence_up():
        # A migration is under way (its backup, or the schema moving): gc's deletions wait for the next run.
        log("a schema migration is under way (writes stopped): skipping this gc run")
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
