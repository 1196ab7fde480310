"""
Post-deploy verification (the mlflow-verify chart's Job) through the tracking server, the way a
notebook uses it: experiment, parameter, metric, artifact (proxied to GCS), registered model and
version, each read back, as its own MLflow user (MLFLOW_TRACKING_USERNAME/PASSWORD, which the client
sends as Basic credentials: mlflow/utils/rest_utils.py), after checking that a request without
credentials is refused with 401 (authentication is on: mlflow/server/auth/__init__.py
make_basic_auth_response). It trusts the server's certificate through the platform CA in
MLFLOW_TRACKING_SERVER_CERT_PATH: urllib here, MLflow's client itself (mlflow/utils/rest_utils.py
passes the variable to requests as `verify`).
"""
# ---- the pod runs what follows ----
import os, ssl, sys, tempfile, time, urllib.error, urllib.request, uuid

import mlflow  # pyright: ignore[reportMissingImports]
from mlflow.tracking import MlflowClient  # pyright: ignore[reportMissingImports]

URI = os.environ["MLFLOW_TRACKING_URI"]
CONTEXT = ssl.create_default_context(cafile=os.environ["MLFLOW_TRACKING_SERVER_CERT_PATH"])
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
        with urllib.request.urlopen(URI + "/health", timeout=5, context=CONTEXT) as response:
            if response.status == 200:
                break
            last = "status %s" % response.status
    except Exception as error:
        last = str(error) or type(error).__name__
    if time.time() > deadline:
        sys.exit("tracking server at %s not healthy after 300s: %s" % (URI, last))
    time.sleep(3)

# Without credentials MLflow must answer 401 before anything else.
anonymous = "anonymous request refused"
try:
    with urllib.request.urlopen(URI + "/api/2.0/mlflow/experiments/search?max_results=1", timeout=10, context=CONTEXT) as response:
        check(anonymous, False, "answered %s without credentials" % response.status)
except urllib.error.HTTPError as error:
    check(anonymous, error.code == 401, "status %s" % error.code)
except Exception as error:
    check(anonymous, False, repr(error))

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
