"""
Server Deployment, init container: returns once the database schema is at the revision this image
expects, and MLflow's auth tables are at the revision its auth app expects. The migration Job moves
both there (the server would otherwise migrate the auth tables itself at start, in every process of
every pod at once); until then the pod stays in its init phase and the log
says why. The server container then runs `mlflow server` as its main process, which receives the
kubelet's SIGTERM; from MLflow 3.10 on the CLI forwards SIGTERM and SIGINT to uvicorn
(mlflow/mlflow#20373, "Forward SIGINT and SIGTERM from the mlflow server wrapper"); older releases
ignored it, which is why the config schema refuses images before 3.10.

The pod runs shared.py's part, then the part below the marker; the imports above it are for the
checker and the unit tests.
"""
import sys
import time

from shared import auth_schema_state, log, schema_state_when_reachable

# ---- the pod runs what follows ----
while True:
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
