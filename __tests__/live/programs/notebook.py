"""
What a notebook does with the workspace's MLflow client, run with the environment the rendered
workspace container has (tracking URI, CA bundle, its MLflow account): an experiment, a run with
parameters, metrics and tags, an artifact of ARTIFACT_MB megabytes through the server's proxied
artifact routes, a registered model version, and the artifact downloaded back. Prints one JSON line.
"""
import hashlib
import json
import os
import sys
import tempfile

import mlflow
from mlflow.tracking import MlflowClient

name = sys.argv[1]
size = int(os.environ.get("ARTIFACT_MB", "20")) * 1024 * 1024
work = tempfile.mkdtemp()
artifact = os.path.join(work, "weights.bin")
with open(artifact, "wb") as handle:
    handle.write(os.urandom(size))
with open(artifact, "rb") as handle:
    sent = hashlib.sha256(handle.read()).hexdigest()

experiment_id = mlflow.set_experiment(name).experiment_id
with mlflow.start_run() as run:
    mlflow.log_params({"alpha": "0.5", "l1_ratio": "0.1"})
    for step in range(5):
        mlflow.log_metric("rmse", 1.0 / (step + 1), step=step)
    mlflow.set_tags({"team": "ml", "stage": "test"})
    mlflow.log_artifact(artifact, artifact_path="model")
client = MlflowClient()
fetched = client.get_run(run.info.run_id)
client.create_registered_model(name)
version = client.create_model_version(name, source=fetched.info.artifact_uri + "/model", run_id=run.info.run_id)
back = client.download_artifacts(run.info.run_id, "model/weights.bin", tempfile.mkdtemp())
with open(back, "rb") as handle:
    received = hashlib.sha256(handle.read()).hexdigest()
print(
    json.dumps(
        {
            "experiment_id": experiment_id,
            "run_id": run.info.run_id,
            "artifact_uri": fetched.info.artifact_uri,
            "params": fetched.data.params,
            "metrics": fetched.data.metrics,
            "tags": {k: v for k, v in fetched.data.tags.items() if not k.startswith("mlflow.")},
            "user": fetched.info.user_id,
            "sent": sent,
            "received": received,
            "model_version": version.version,
            "model_status": client.get_model_version(name, version.version).status,
        }
    )
)
