"""
MLflow's own auth app (the pinned release), on SQLite in a temporary folder, with the verifier's
request memo in front of its store: how many times one search-runs of a user who is not an admin
reads that user, without and with the memo. Run as its own process (MLflow's auth module reads its
config when first imported): python real_auth_app.py prints one JSON line.
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
result = {}
for label in ("first", "second"):
    reads.clear()
    answer = client.post("/api/2.0/mlflow/runs/search", json={"experiment_ids": [experiment]}, headers=alice)
    result[label] = {"status": answer.status_code, "reads": len(reads), "memo": type(auth.store).__name__}
# Without the memo: the same request against MLflow's store itself.
auth.store = store
reads.clear()
answer = client.post("/api/2.0/mlflow/runs/search", json={"experiment_ids": [experiment]}, headers=alice)
result["without"] = {"status": answer.status_code, "reads": len(reads)}
print(json.dumps(result))
