"""
MLflow's own auth app (the pinned release), on SQLite in a temporary folder, with this platform's
verifier (iap_auth:authenticate) as its authorization function: how many times one search-runs of a
user who is not an admin reads that user, without and with the request memo, and when MLflow's
redaction of model links parses the answer, without and with a link in it. Run as its own process
(MLflow's auth module reads its config when first imported): python real_auth_app.py prints one
JSON line.
"""
import atexit
import base64
import importlib
import json
import os
import shutil
import sys
import tempfile
import warnings
from typing import Any

warnings.simplefilter("ignore")
work = tempfile.mkdtemp(prefix="mlflow-gke-auth-app-")
atexit.register(shutil.rmtree, work, True)
with open(os.path.join(work, "auth.ini"), "w") as ini:
    ini.write(
        "[mlflow]\n"
        "default_permission = NO_PERMISSIONS\n"
        "database_uri = sqlite:///%s/auth.db\n"
        "admin_username = admin\n"
        "admin_password = admin-password-1234\n"
        "authorization_function = iap_auth:authenticate\n"
        "auth_cache_ttl_seconds = 30\n" % work
    )
os.environ.update(
    {
        "MLFLOW_AUTH_CONFIG_PATH": os.path.join(work, "auth.ini"),
        "MLFLOW_FLASK_SERVER_SECRET_KEY": "k" * 32,
        "_MLFLOW_SERVER_FILE_STORE": "sqlite:///%s/mlflow.db" % work,
        "_MLFLOW_SERVER_ARTIFACT_ROOT": os.path.join(work, "artifacts"),
        "IAP_ENABLED": "false",
    }
)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "charts", "mlflow"))

# Imported by name: the type checker sees the stand-in modules of __tests__/python/stubs, not MLflow.
auth: Any = importlib.import_module("mlflow.server.auth")
app = importlib.import_module("mlflow.server").app
create_app = auth.create_app


def basic(username: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(("%s:%s" % (username, password)).encode()).decode()}


client = create_app(app).test_client()
alice = basic("alice", "alice-password-1234")
assert client.post("/api/2.0/mlflow/users/create", json={"username": "alice", "password": "alice-password-1234"}, headers=basic("admin", "admin-password-1234")).status_code == 200
experiment = client.post("/api/2.0/mlflow/experiments/create", json={"name": "e1"}, headers=alice).json["experiment_id"]

# The verifier (iap_auth:authenticate, Basic here since no IAP header comes) installs the memo at its
# first request; the store under it counts its reads from now on.
store = auth.store._store if hasattr(auth.store, "_store") else auth.store
reads: list = []
original = store.get_user


def counting(username):
    reads.append(username)
    return original(username)


store.get_user = counting
# MLflow's redaction of run answers, counted behind the precheck the verifier put in front of it.
redactions: list = []
mlflow_handlers = dict(auth.AFTER_REQUEST_HANDLERS)
for route, handler in auth.AFTER_REQUEST_HANDLERS.items():
    if type(handler).__name__ == "ModelLinkPrecheck":
        mlflow_handlers[route] = handler.original
        if not getattr(handler.original, "counted", False):

            def counted(resp, redaction=handler.original):
                redactions.append(resp)
                return redaction(resp)

            counted.counted = True  # pyright: ignore[reportFunctionMemberAccess]
            handler.original = counted
run = client.post("/api/2.0/mlflow/runs/create", json={"experiment_id": experiment}, headers=alice).json["run"]["info"]["run_id"]
assert client.post("/api/2.0/mlflow/runs/log-batch", json={"run_id": run, "metrics": [{"key": "loss", "value": 1.0, "timestamp": 1, "step": 0}]}, headers=alice).status_code == 200


def search(caller: dict = alice) -> dict:
    reads.clear()
    redactions.clear()
    answer = client.post("/api/2.0/mlflow/runs/search", json={"experiment_ids": [experiment]}, headers=caller)
    return {"status": answer.status_code, "reads": len(reads), "redactions": len(redactions), "model_id": answer.get_data().count(b'"model_id"')}


result: dict = {"first": search(), "second": search()}
# A model logged as the run's output links the run to it: the answer goes to MLflow's redaction.
model = client.post("/api/2.0/mlflow/logged-models", json={"experiment_id": experiment, "name": "m"}, headers=alice)
assert model.status_code == 200, model.get_data()
model_id = model.json["model"]["info"]["model_id"]
linked = client.post("/api/2.0/mlflow/runs/outputs", json={"run_id": run, "models": [{"model_id": model_id, "step": 1}]}, headers=alice)
assert linked.status_code == 200, linked.get_data()
result["linked"] = search()
# bob may read the experiment but is denied every logged model: the redaction withholds the link.
admin = basic("admin", "admin-password-1234")
bob = basic("bob", "bob-password-12345")
assert client.post("/api/2.0/mlflow/users/create", json={"username": "bob", "password": "bob-password-12345"}, headers=admin).status_code == 200
for resource_type, resource_id, permission in (("experiment", experiment, "READ"), ("logged_model", "*", "DENY")):
    granted = client.post("/api/3.0/mlflow/users/permissions/grant", json={"username": "bob", "resource_type": resource_type, "resource_id": resource_id, "permission": permission}, headers=admin)
    assert granted.status_code == 200, granted.get_data()
result["denied"] = search(bob)
# MLflow alone: its own store and after-request handlers.
auth.store = store
auth.AFTER_REQUEST_HANDLERS.clear()
auth.AFTER_REQUEST_HANDLERS.update(mlflow_handlers)
result["without"] = search()
print(json.dumps(result))
