"""
An earlier MLflow release's install, made through that release's own server and clients, for the
upgrade test (__tests__/live/mlflow-upgrade.test.ts). Run with the earlier release's interpreter
(python/upgrade/mlflow-X.lock) against its `mlflow server --app-name basic-auth`, as the admin named
by MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (mlflow/tracking/request_header and
mlflow/environment_variables.py of every 3.x release read them for Basic auth).

argv[1]: the server's URL; argv[2]: a JSON plan {"users": [{"username", "password", "experiment",
"model"}]}, each user's permission on the shared experiment and on the model (null: none), and a
folder to write local files in (argv[3]).

It makes: two experiments with tags, three runs (params, metrics over several steps, tags, inputs
from a dataset, artifacts in nested folders, one run finished, one deleted), a logged model, a
registered model with a description, a tag, two versions from the runs' artifacts and an alias, the
users, and their permissions. Every call goes through the REST API of the server, as a user's client
would. Prints one JSON line: the ids and names the test checks after the upgrade.
"""
import json
import os
import sys

from mlflow import MlflowClient
from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param, RunTag
from mlflow.server import get_app_client

url, plan, work = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
client = MlflowClient(url)
# AuthServiceClient (mlflow/server/auth/client.py): users and permissions through the basic-auth routes.
auth = get_app_client("basic-auth", tracking_uri=url)

shared = client.create_experiment("upgrade-shared", tags={"team": "vision", "note": "données – before the upgrade"})
second = client.create_experiment("upgrade-second")
client.set_experiment_tag(second, "stage", "archived")


def write(relative, data):
    path = os.path.join(work, relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)
    return path


runs = []
for index, experiment in enumerate([shared, shared, second]):
    run = client.create_run(experiment, start_time=1_700_000_000_000 + index, tags={"mlflow.runName": "run-%d" % index}, run_name="run-%d" % index)
    run_id = run.info.run_id
    client.log_batch(
        run_id,
        metrics=[Metric("loss", 1.0 / (step + 1 + index), 1_700_000_000_000 + step, step) for step in range(10)]
        + [Metric("accuracy", step / 10.0, 1_700_000_000_000 + step, step) for step in range(10)],
        params=[Param("learning_rate", str(0.01 * (index + 1))), Param("layers", str(index + 2)), Param("notes", "x" * 500)],
        tags=[RunTag("owner", "seed"), RunTag("index", str(index))],
    )
    dataset = Dataset(name="images-%d" % index, digest="d%07d" % index, source_type="local", source='{"uri": "/data/%d"}' % index)
    client.log_inputs(run_id, [DatasetInput(dataset, tags=[InputTag("mlflow.data.context", "training")])])
    # Artifacts: text, binary, and a model folder the registered model's versions point at.
    client.log_artifact(run_id, write("run-%d/notes.txt" % index, ("run %d – notes\n" % index).encode() * 50))
    client.log_artifact(run_id, write("run-%d/weights.bin" % index, bytes((i * 7 + index) % 256 for i in range(70_000))), "nested/deeper")
    client.log_artifact(run_id, write("run-%d/model/MLmodel" % index, b"artifact_path: model\nflavors: {}\n"), "model")
    runs.append(run_id)
client.set_terminated(runs[0], "FINISHED", end_time=1_700_000_100_000)
client.delete_run(runs[2])

logged = client.create_logged_model(shared, name="seeded-logged-model", source_run_id=runs[0], params={"alpha": "0.5"}, tags={"kind": "seed"})

model = "upgrade-model"
client.create_registered_model(model, tags={"domain": "vision"}, description="made before the upgrade")
versions = []
for run_id in runs[:2]:
    source = client.get_run(run_id).info.artifact_uri + "/model"
    versions.append(client.create_model_version(model, source, run_id=run_id, tags={"from": run_id}, description="v of " + run_id).version)
client.set_registered_model_alias(model, "champion", versions[1])



def grant(username, resource_type, resource_id, permission):
    """A user's permission on one resource, through the release's own client: per-resource routes up
    to the 3.12 line (mlflow/server/auth/client.py of 3.10.1: create_experiment_permission,
    create_registered_model_permission), one route for every resource type from the role-based
    permissions on (the same file of 3.13.0: grant_user_permission(username, resource_type,
    resource_id, permission); a registered model by its name)."""
    if hasattr(auth, "grant_user_permission"):
        auth.grant_user_permission(username, resource_type, resource_id, permission)
    elif resource_type == "experiment":
        auth.create_experiment_permission(resource_id, username, permission)
    else:
        auth.create_registered_model_permission(resource_id, username, permission)


for user in plan["users"]:
    auth.create_user(user["username"], user["password"])
    if user["experiment"]:
        grant(user["username"], "experiment", shared, user["experiment"])
    if user["model"]:
        grant(user["username"], "registered_model", model, user["model"])

print(
    json.dumps(
        {
            "experiments": {"shared": shared, "second": second},
            "runs": runs,
            "loggedModel": logged.model_id,
            "model": model,
            "versions": versions,
        }
    )
)
