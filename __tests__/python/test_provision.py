"""The provisioning Job (charts/mlflow/provision.py) against a stand-in of MLflow's auth REST API.

The stand-in answers as mlflow/server/auth/__init__.py does: users/get answers 404
RESOURCE_DOES_NOT_EXIST for an unknown user; users/create, update-password and update-admin need an
admin; permissions/grant answers RESOURCE_ALREADY_EXISTS for an existing grant
(sqlalchemy_store.grant_user_resource_permission: "raises RESOURCE_ALREADY_EXISTS if a row exists");
errors are JSON bodies with error_code and message (catch_mlflow_exception).
"""
from __future__ import annotations

import base64
import json
import unittest
import urllib.error
from typing import Any

import pod
import world

ADMIN = ("mlflow-gke-admin", "admin-password-0123456789")
ACCOUNTS = [
    {"username": "mlflow-gke-metrics", "secret": "mlflow-auth-metrics", "passwordVariable": "PASSWORD_0", "admin": True, "defaultExperiment": False},
    {"username": "mlflow-gke-gc", "secret": "mlflow-auth-gc", "passwordVariable": "PASSWORD_1", "admin": True, "defaultExperiment": False},
    {"username": "ana@example.com", "secret": "mlflow-user-ana", "passwordVariable": "PASSWORD_2", "admin": False, "defaultExperiment": True},
]
PASSWORDS = {"PASSWORD_0": "metrics-password-0123", "PASSWORD_1": "gc-password-0123456789", "PASSWORD_2": "ana-password-0123456789"}


def env(**overrides: str) -> dict[str, str]:
    base = {
        "MLFLOW_TRACKING_URI": pod.TRACKING_URI,
        "MLFLOW_TRACKING_SERVER_CERT_PATH": pod.CA_FILE,
        "MLFLOW_TRACKING_USERNAME": ADMIN[0],
        "MLFLOW_TRACKING_PASSWORD": ADMIN[1],
        "PROVISION_ACCOUNTS": json.dumps(ACCOUNTS),
        "DEFAULT_EXPERIMENT_PERMISSION": "EDIT",
        **PASSWORDS,
    }
    base.update(overrides)
    return base


class FakeAuthApi:
    def __init__(self) -> None:
        self.users: dict[str, dict[str, Any]] = {ADMIN[0]: {"password": ADMIN[1], "is_admin": True}}
        self.grants: dict[tuple[str, str, str], str] = {}
        self.fail_path = ""

    @staticmethod
    def error(status: int, code: str, message: str) -> tuple[int, Any]:
        return status, {"error_code": code, "message": message}

    def __call__(self, method: str, path: str, query: dict[str, list[str]], body: Any, headers: dict[str, str]) -> tuple[int, Any]:
        scheme, _, credentials = headers.get("Authorization", "").partition(" ")
        username, _, password = base64.b64decode(credentials).decode().partition(":") if scheme == "Basic" else ("", "", "")
        if self.users.get(username, {}).get("password") != password:
            return 401, "You are not authenticated."
        if not self.users[username]["is_admin"]:
            return 403, "Permission denied"
        if path == self.fail_path:
            return self.error(500, "INTERNAL_ERROR", "boom")
        route = (method, path)
        if route == ("GET", "/api/2.0/mlflow/users/get"):
            name = query["username"][0]
            if name not in self.users:
                return self.error(404, "RESOURCE_DOES_NOT_EXIST", "User with username=%s not found" % name)
            return 200, {"user": {"username": name}}
        if route == ("POST", "/api/2.0/mlflow/users/create"):
            if body["username"] in self.users:
                return self.error(400, "RESOURCE_ALREADY_EXISTS", "exists")
            self.users[body["username"]] = {"password": body["password"], "is_admin": False}
            return 200, {"user": {"username": body["username"]}}
        if route == ("PATCH", "/api/2.0/mlflow/users/update-password"):
            self.users[body["username"]]["password"] = body["password"]
            return 200, {}
        if route == ("PATCH", "/api/2.0/mlflow/users/update-admin"):
            self.users[body["username"]]["is_admin"] = body["is_admin"]
            return 200, {}
        key = (body["username"], body["resource_type"], body["resource_id"]) if body else ("", "", "")
        if route == ("POST", "/api/3.0/mlflow/users/permissions/grant"):
            if key in self.grants:
                return self.error(400, "RESOURCE_ALREADY_EXISTS", "Permission for user=%s ... already exists." % key[0])
            self.grants[key] = body["permission"]
            return 200, {}
        if route == ("POST", "/api/3.0/mlflow/users/permissions/revoke"):
            if key not in self.grants:
                return self.error(404, "RESOURCE_DOES_NOT_EXIST", "no grant")
            del self.grants[key]
            return 200, {}
        return 404, "not found"


def run(api: FakeAuthApi, **overrides: Any) -> pod.Exit:
    state = world.World(api=api, **overrides)
    return pod.run("provision", state, env())


class Provisioning(unittest.TestCase):
    def test_creates_the_accounts_with_their_passwords_admins_and_default_experiment_grant(self):
        api = FakeAuthApi()
        r = run(api)
        self.assertEqual(r.code, 0, r.log)
        self.assertEqual({u: v["password"] for u, v in api.users.items() if u != ADMIN[0]}, {
            "mlflow-gke-metrics": PASSWORDS["PASSWORD_0"],
            "mlflow-gke-gc": PASSWORDS["PASSWORD_1"],
            "ana@example.com": PASSWORDS["PASSWORD_2"],
        })
        self.assertEqual([u for u, v in api.users.items() if v["is_admin"]], [ADMIN[0], "mlflow-gke-metrics", "mlflow-gke-gc"])
        self.assertEqual(api.grants, {("ana@example.com", "experiment", "0"): "EDIT"})
        self.assertIn("[mlflow-gke provision] ana@example.com: created, password from Secret mlflow-user-ana, EDIT on the Default experiment", r.log)
        self.assertIn("[mlflow-gke provision] 3 accounts provisioned", r.log)

    def test_running_again_changes_only_the_passwords(self):
        api = FakeAuthApi()
        self.assertEqual(run(api).code, 0)
        users, grants = json.dumps(api.users, sort_keys=True), dict(api.grants)
        api.users["ana@example.com"]["password"] = "rotated-away-by-hand"
        r = run(api)
        self.assertEqual(r.code, 0, r.log)
        self.assertEqual(json.dumps(api.users, sort_keys=True), users)
        self.assertEqual(api.grants, grants)
        self.assertIn("ana@example.com: password set from Secret mlflow-user-ana", r.log)

    def test_an_existing_grant_is_set_to_the_configured_level(self):
        api = FakeAuthApi()
        api.users["ana@example.com"] = {"password": "x" * 12, "is_admin": False}
        api.grants[("ana@example.com", "experiment", "0")] = "READ"
        r = run(api)
        self.assertEqual(r.code, 0, r.log)
        self.assertEqual(api.grants, {("ana@example.com", "experiment", "0"): "EDIT"})

    def test_no_default_experiment_grant_when_not_configured(self):
        api = FakeAuthApi()
        r = pod.run("provision", world.World(api=api), env(DEFAULT_EXPERIMENT_PERMISSION=""))
        self.assertEqual(r.code, 0, r.log)
        self.assertEqual(api.grants, {})

    def test_a_short_password_fails_that_account_only_and_the_job(self):
        api = FakeAuthApi()
        r = pod.run("provision", world.World(api=api), env(PASSWORD_2="short"))
        self.assertEqual(r.code, 1)
        self.assertIn("ana@example.com: FAILED: Secret mlflow-user-ana, key password: MLflow needs a password of at least 12 characters", r.log)
        self.assertIn("mlflow-gke-gc", api.users)
        self.assertNotIn("ana@example.com", api.users)

    def test_wrong_admin_password_fails_with_the_status(self):
        api = FakeAuthApi()
        api.users[ADMIN[0]]["password"] = "another-one-entirely"
        r = run(api)
        self.assertEqual(r.code, 1)
        self.assertIn("mlflow-gke-metrics: FAILED: HTTP 401", r.log)

    def test_an_api_error_names_the_mlflow_error_code(self):
        api = FakeAuthApi()
        api.fail_path = "/api/3.0/mlflow/users/permissions/grant"
        r = run(api)
        self.assertEqual(r.code, 1)
        self.assertIn("ana@example.com: FAILED: HTTP 500 INTERNAL_ERROR: boom", r.log)

    def test_no_password_is_ever_printed(self):
        r = run(FakeAuthApi())
        for secret in [*PASSWORDS.values(), ADMIN[1]]:
            self.assertNotIn(secret, r.log)

    def test_waits_for_health_over_tls_with_the_platform_ca(self):
        api = FakeAuthApi()
        r = run(api, health=[urllib.error.URLError("Connection refused"), 503, 200])
        self.assertEqual(r.code, 0, r.log)
        self.assertEqual(r.world.health_requests, [pod.TRACKING_URI + "/health"] * 3)
        self.assertEqual(set(r.world.ca_files), {pod.CA_FILE})
        self.assertEqual(r.world.api_requests[0], ("GET", "/api/2.0/mlflow/users/get"))

    def test_no_healthy_server_no_change(self):
        api = FakeAuthApi()
        r = run(api, health=[urllib.error.URLError("Connection refused")])
        self.assertEqual(r.code, 1)
        self.assertEqual(r.world.api_requests, [])
        self.assertIn("not healthy after 600s", r.log)


if __name__ == "__main__":
    unittest.main()
