"""
A notebook's first cell without set_experiment, run with the environment the rendered workspace
container has: mlflow.start_run() goes to the experiment of MLFLOW_EXPERIMENT_NAME
(mlflow/tracking/fluent.py _get_experiment_id_from_env), where it logs a metric and an artifact.
Prints one JSON line.
"""
import json
import os
import tempfile

import mlflow

work = tempfile.mkdtemp()
path = os.path.join(work, "note.txt")
with open(path, "w") as handle:
    handle.write("logged without set_experiment")
with mlflow.start_run() as run:
    mlflow.log_metric("x", 1.0)
    mlflow.log_artifact(path)
experiment = mlflow.get_experiment(run.info.experiment_id)
print(json.dumps({"experiment_id": experiment.experiment_id, "experiment_name": experiment.name, "run_id": run.info.run_id}))
