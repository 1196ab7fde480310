"""The provisioning Job (charts/mlflow/provision.py) against a stand-in of MLflow's auth REST API.

The stand-in answers as mlflow@v3.17.0's mlflow/server/auth/__init__.py and sqlalchemy_store.py do:
users/get answers 404 RESOURCE_DOES_NOT_EXIST for an unknown user; users/list lists every user with its
roles, each role with its grants; users/permissions/grant writes the user's synthetic role
"__user_<id>__" (made on first use) and answers RESOURCE_ALREADY_EXISTS for an existing grant
(grant_user_resource_permission), revoke answers RESOURCE_DOES_NOT_EXIST for a missing one; roles
live in a workspace ("default" with workspaces off), with grants of (resource_type, resource_pattern,
permission) and user assignments; experiments are unique by name (create answers
RESOURCE_ALREADY_EXISTS) and keep their lifecycle_stage; everything but reading needs an admin;
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
    {"username": "mlflow-gke-gc", "secret": "mlflow-auth-gc", "passwordVariable": "PASSWORD_1", "admin": False, "defaultExperiment": False},
    {"username": "ana@example.com", "secret": "mlflow-user-ana", "passwordVariable": "PASSWORD_2", "admin": False, "defaultExperiment": True},
    {"username": "ben@example.com", "secret": "mlflow-user-ben", "passwordVariable": "PASSWORD_3", "admin": False, "defaultExperiment": True},
]
PASSWORDS = {"PASSWORD_0": "metrics-password-0123", "PASSWORD_1": "gc-password-0123456789", "PASSWORD_2": "ana-password-0123456789", "PASSWORD_3": "ben-password-0123456789"}
GC_ROLE = {"name": "mlflow-gke-gc", "members": ["mlflow-gke-gc"], "grants": [{"resourceType": "experiment", "pattern": "*", "permission": "MANAGE"}]}
TEAM_ROLE = {"name": "mlflow-gke-group-team", "members": ["ana@example.com", "ben@example.com"], "grants": [{"experiment": "churn", "permission": "EDIT"}, {"registeredModel": "churn-model", "permission": "READ"}]}


def env(**overrides: str) -> dict[str, str]:
    base = {
        "MLFLOW_TRACKING_URI": pod.TRACKING_URI,
        "MLFLOW_TRACKING_SERVER_CERT_PATH": pod.CA_FILE,
        "MLFLOW_TRACKING_USERNAME": ADMIN[0],
        "MLFLOW_TRACKING_PASSWORD": ADMIN[1],
        "PROVISION_ACCOUNTS": json.dumps(ACCOUNTS),
        "DEFAULT_EXPERIMENT_PERMISSION": "READ",
        "PERSONAL_EXPERIMENT_PREFIX": "users/",
        "PROVISION_ROLES": json.dumps([GC_ROLE, TEAM_ROLE]),
        "MANAGED_ROLE_PREFIX": "mlflow-gke-",
        **PASSWORDS,
    }
    base.update(overrides)
    return base


class FakeAuthApi:
    def __init__(self) -> None:
        self.users: dict[str, dict[str, Any]] = {}
        self.roles: dict[int, dict[str, Any]] = {}
        self.assignments: set[tuple[int, int]] = set()
        self.experiments: dict[str, dict[str, str]] = {"Default": {"experiment_id": "0", "name": "Default", "lifecycle_stage": "active"}}
        self.models: set[str] = set()
        self.fail_path = ""
        self.ids = 0
        self.add_user(ADMIN[0], ADMIN[1], is_admin=True)

    def next_id(self) -> int:
        self.ids += 1
        return self.ids

    def add_user(self, username: str, password: str, is_admin: bool = False) -> None:
        self.users[username] = {"id": self.next_id(), "password": password, "is_admin": is_admin}

    def add_role(self, name: str) -> dict[str, Any]:
        role = {"id": self.next_id(), "name": name, "workspace": "default", "description": None, "permissions": []}
        self.roles[role["id"]] = role
        return role

    def synthetic(self, username: str) -> dict[str, Any]:
        uid = self.users[username]["id"]
        name = "__user_%d__" % uid
        role = next((r for r in self.roles.values() if r["name"] == name), None) or self.add_role(name)
        self.assignments.add((uid, role["id"]))
        return role

    @property
    def grants(self) -> dict[tuple[str, str, str], str]:
        """Every user's own grants: (username, resource_type, resource_id) -> permission."""
        return {
            (u, p["resource_type"], p["resource_pattern"]): p["permission"]
            for u, v in self.users.items()
            for r in self.roles.values()
            if r["name"] == "__user_%d__" % v["id"] and (v["id"], r["id"]) in self.assignments
            for p in r["permissions"]
        }

    def grant(self, username: str, resource_type: str, resource_id: str, permission: str) -> None:
        self.synthetic(username)["permissions"].append({"id": self.next_id(), "resource_type": resource_type, "resource_pattern": resource_id, "permission": permission})

    def role_named(self, name: str) -> dict[str, Any]:
        return next(r for r in self.roles.values() if r["name"] == name)

    def members(self, name: str) -> list[str]:
        role = self.role_named(name)
        return sorted(u for u, v in self.users.items() if (v["id"], role["id"]) in self.assignments)

    def role_grants(self, name: str) -> dict[tuple[str, str], str]:
        return {(p["resource_type"], p["resource_pattern"]): p["permission"] for p in self.role_named(name)["permissions"]}

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
        body = body or {}
        if route == ("GET", "/api/2.0/mlflow/users/get"):
            name = query["username"][0]
            if name not in self.users:
                return self.error(404, "RESOURCE_DOES_NOT_EXIST", "User with username=%s not found" % name)
            return 200, {"user": {"username": name}}
        if route == ("GET", "/api/2.0/mlflow/users/list"):
            return 200, {"users": [
                {"id": v["id"], "username": u, "is_admin": v["is_admin"], "roles": [json.loads(json.dumps(r)) for r in self.roles.values() if (v["id"], r["id"]) in self.assignments]}
                for u, v in self.users.items()
            ]}
        if route == ("POST", "/api/2.0/mlflow/users/create"):
            if body["username"] in self.users:
                return self.error(400, "RESOURCE_ALREADY_EXISTS", "exists")
            self.add_user(body["username"], body["password"])
            return 200, {"user": {"username": body["username"]}}
        if route == ("PATCH", "/api/2.0/mlflow/users/update-password"):
            self.users[body["username"]]["password"] = body["password"]
            return 200, {}
        if route == ("PATCH", "/api/2.0/mlflow/users/update-admin"):
            self.users[body["username"]]["is_admin"] = body["is_admin"]
            return 200, {}
        if path.startswith("/api/3.0/mlflow/users/permissions/"):
            key = (body["resource_type"], body["resource_id"])
            role = self.synthetic(body["username"])
            row = next((p for p in role["permissions"] if (p["resource_type"], p["resource_pattern"]) == key), None)
            if route == ("POST", "/api/3.0/mlflow/users/permissions/grant"):
                if row is not None:
                    return self.error(400, "RESOURCE_ALREADY_EXISTS", "Permission for user=%s ... already exists." % body["username"])
                assert body["permission"] in ("READ", "USE", "EDIT", "MANAGE", "DENY"), body  # RESOURCE_GRANTABLE_PERMISSIONS
                self.grant(body["username"], key[0], key[1], body["permission"])
                return 200, {}
            if route == ("POST", "/api/3.0/mlflow/users/permissions/revoke"):
                if row is None:
                    return self.error(404, "RESOURCE_DOES_NOT_EXIST", "no grant")
                role["permissions"].remove(row)
                return 200, {}
        if route == ("GET", "/api/2.0/mlflow/experiments/get-by-name"):
            found = self.experiments.get(query["experiment_name"][0])
            if found is None:
                return self.error(404, "RESOURCE_DOES_NOT_EXIST", "no experiment")
            return 200, {"experiment": dict(found)}
        if route == ("POST", "/api/2.0/mlflow/experiments/create"):
            if body["name"] in self.experiments:
                return self.error(400, "RESOURCE_ALREADY_EXISTS", "exists")
            self.experiments[body["name"]] = {"experiment_id": str(self.next_id()), "name": body["name"], "lifecycle_stage": "active"}
            return 200, {"experiment_id": self.experiments[body["name"]]["experiment_id"]}
        if route == ("POST", "/api/2.0/mlflow/experiments/restore"):
            next(e for e in self.experiments.values() if e["experiment_id"] == body["experiment_id"])["lifecycle_stage"] = "active"
            return 200, {}
        if route == ("GET", "/api/2.0/mlflow/registered-models/get"):
            if query["name"][0] not in self.models:
                return self.error(404, "RESOURCE_DOES_NOT_EXIST", "no model")
            return 200, {"registered_model": {"name": query["name"][0]}}
        if route == ("POST", "/api/2.0/mlflow/registered-models/create"):
            self.models.add(body["name"])
            return 200, {"registered_model": {"name": body["name"]}}
        if route == ("GET", "/api/3.0/mlflow/roles/list"):
            return 200, {"roles": [json.loads(json.dumps(r)) for r in self.roles.values() if r["workspace"] in query["workspace"]]}
        if route == ("POST", "/api/3.0/mlflow/roles/create"):
            assert not body["name"].startswith("__user_")  # sqlalchemy_store._reject_synthetic_role_name
            return 200, {"role": self.add_role(body["name"])}
        if route == ("DELETE", "/api/3.0/mlflow/roles/delete"):
            del self.roles[body["role_id"]]
            self.assignments = {a for a in self.assignments if a[1] != body["role_id"]}
            return 200, {}
        if route == ("POST", "/api/3.0/mlflow/roles/permissions/add"):
            self.roles[body["role_id"]]["permissions"].append({"id": self.next_id(), **{k: body[k] for k in ("resource_type", "resource_pattern", "permission")}})
            return 200, {}
        rows = {p["id"]: (r, p) for r in self.roles.values() for p in r["permissions"]}
        if route == ("PATCH", "/api/3.0/mlflow/roles/permissions/update"):
            rows[body["role_permission_id"]][1]["permission"] = body["permission"]
            return 200, {}
        if route == ("DELETE", "/api/3.0/mlflow/roles/permissions/remove"):
            role, row = rows[body["role_permission_id"]]
            role["permissions"].remove(row)
            return 200, {}
        if route == ("POST", "/api/3.0/mlflow/roles/assign"):
            self.assignments.add((self.users[body["username"]]["id"], body["role_id"]))
            return 200, {}
        if route == ("DELETE", "/api/3.0/mlflow/roles/unassign"):
            self.assignments.discard((self.users[body["username"]]["id"], body["role_id"]))
            return 200, {}
        return 404, "not found"


def run(api: FakeAuthApi, **overrides: Any) -> pod.Exit:
    state = world.World(api=api, **overrides)
    return pod.run("provision", state, env())


class Provisioning(unittest.TestCase):
    def test_creates_the_accounts_with_their_passwords_and_only_the_configured_admins(self):
        api = FakeAuthApi()
        r = run(api)
        self.assertEqual(r.code, 0, r.log)
        self.assertEqual({u: v["password"] for u, v in api.users.items() if u != ADMIN[0]}, {
            "mlflow-gke-metrics": PASSWORDS["PASSWORD_0"],
            "mlflow-gke-gc": PASSWORDS["PASSWORD_1"],
            "ana@example.com": PASSWORDS["PASSWORD_2"],
            "ben@example.com": PASSWORDS["PASSWORD_3"],
        })
        self.assertEqual([u for u, v in api.users.items() if v["is_admin"]], [ADMIN[0], "mlflow-gke-metrics"])
        self.assertIn("[mlflow-gke provision] 4 accounts, 5 users and 2 roles provisioned", r.log)

    def test_each_person_gets_a_personal_experiment_with_manage_and_read_on_default(self):
        api = FakeAuthApi()
        r = run(api)
        self.assertEqual(r.code, 0, r.log)
        ana, ben = api.experiments["users/ana@example.com"]["experiment_id"], api.experiments["users/ben@example.com"]["experiment_id"]
        self.assertEqual(api.grants, {
            ("ana@example.com", "experiment", ana): "MANAGE",
            ("ben@example.com", "experiment", ben): "MANAGE",
            ("ana@example.com", "experiment", "0"): "READ",
            ("ben@example.com", "experiment", "0"): "READ",
            ("mlflow-gke-gc", "experiment", "0"): "READ",
        })
        self.assertIn("[mlflow-gke provision] ana@example.com: created, password from Secret mlflow-user-ana, MANAGE on its experiment users/ana@example.com", r.log)

    def test_a_personal_experiment_made_meanwhile_by_another_process_is_used(self):
        api = FakeAuthApi()
        real = api.__call__

        def racing(method: str, path: str, query: Any, body: Any, headers: Any) -> Any:
            # The person's first sign-in creates it between the Job's lookup and its create.
            if path == "/api/2.0/mlflow/experiments/create" and body["name"] == "users/ana@example.com":
                api.experiments[body["name"]] = {"experiment_id": "77", "name": body["name"], "lifecycle_stage": "active"}
            return real(method, path, query, body, headers)

        r = pod.run("provision", world.World(api=racing), env())
        self.assertEqual(r.code, 0, r.log)
        self.assertEqual(api.grants[("ana@example.com", "experiment", "77")], "MANAGE")

    def test_a_deleted_personal_experiment_is_restored(self):
        api = FakeAuthApi()
        api.experiments["users/ana@example.com"] = {"experiment_id": "9", "name": "users/ana@example.com", "lifecycle_stage": "deleted"}
        r = run(api)
        self.assertEqual(r.code, 0, r.log)
        self.assertEqual(api.experiments["users/ana@example.com"]["lifecycle_stage"], "active")
        self.assertIn("experiment users/ana@example.com: restored from the deleted ones (id 9)", r.log)

    def test_running_again_changes_only_the_passwords(self):
        api = FakeAuthApi()
        self.assertEqual(run(api).code, 0)
        state = lambda: json.dumps([api.users, api.roles, sorted(api.assignments), api.experiments, sorted(api.models)], sort_keys=True)
        before = state()
        api.users["ana@example.com"]["password"] = "rotated-away-by-hand"
        r = run(api)
        self.assertEqual(r.code, 0, r.log)
        self.assertEqual(state(), before)
        self.assertIn("ana@example.com: password set from Secret mlflow-user-ana", r.log)

    def test_an_edit_grant_on_default_given_before_is_lowered_to_read_for_every_user(self):
        # Earlier versions granted EDIT: the provisioned people, and people who signed in through IAP.
        api = FakeAuthApi()
        api.add_user("ana@example.com", "x" * 12)
        api.add_user("iap-only@example.com", "y" * 32)
        api.grant("ana@example.com", "experiment", "0", "EDIT")
        api.grant("iap-only@example.com", "experiment", "0", "MANAGE")
        r = run(api)
        self.assertEqual(r.code, 0, r.log)
        self.assertEqual(api.grants[("ana@example.com", "experiment", "0")], "READ")
        self.assertEqual(api.grants[("iap-only@example.com", "experiment", "0")], "READ")
        self.assertIn("iap-only@example.com: Default experiment MANAGE -> READ", r.log)

    def test_no_permissions_on_default_revokes_every_grant_there(self):
        api = FakeAuthApi()
        api.add_user("iap-only@example.com", "y" * 32)
        api.grant("iap-only@example.com", "experiment", "0", "EDIT")
        r = pod.run("provision", world.World(api=api), env(DEFAULT_EXPERIMENT_PERMISSION="NO_PERMISSIONS"))
        self.assertEqual(r.code, 0, r.log)
        self.assertEqual([k for k in api.grants if k[1:] == ("experiment", "0")], [])
        self.assertIn("iap-only@example.com: Default experiment EDIT -> no grant", r.log)

    def test_an_admin_keeps_its_grants_on_default(self):
        api = FakeAuthApi()
        api.grant(ADMIN[0], "experiment", "0", "MANAGE")
        self.assertEqual(run(api).code, 0)
        self.assertEqual(api.grants[(ADMIN[0], "experiment", "0")], "MANAGE")

    def test_gc_made_an_admin_before_is_an_admin_no_more_and_holds_its_role(self):
        api = FakeAuthApi()
        api.add_user("mlflow-gke-gc", "z" * 12, is_admin=True)
        r = run(api)
        self.assertEqual(r.code, 0, r.log)
        self.assertFalse(api.users["mlflow-gke-gc"]["is_admin"])
        self.assertIn("mlflow-gke-gc: password set from Secret mlflow-auth-gc, no longer an admin", r.log)
        self.assertEqual(api.members("mlflow-gke-gc"), ["mlflow-gke-gc"])
        self.assertEqual(api.role_grants("mlflow-gke-gc"), {("experiment", "*"): "MANAGE"})

    def test_a_group_role_gets_its_members_and_its_grants_creating_what_they_name(self):
        api = FakeAuthApi()
        r = run(api)
        self.assertEqual(r.code, 0, r.log)
        churn = api.experiments["churn"]["experiment_id"]
        self.assertEqual(api.role_grants("mlflow-gke-group-team"), {("experiment", churn): "EDIT", ("registered_model", "churn-model"): "READ"})
        self.assertEqual(api.members("mlflow-gke-group-team"), ["ana@example.com", "ben@example.com"])
        self.assertEqual(api.models, {"churn-model"})

    def test_roles_are_kept_to_the_config_grants_and_members_and_stale_ones_deleted(self):
        api = FakeAuthApi()
        self.assertEqual(run(api).code, 0)
        stale = api.add_role("mlflow-gke-user-gone")
        api.add_role("someone-elses-role")
        team = api.role_named("mlflow-gke-group-team")
        team["permissions"].append({"id": api.next_id(), "resource_type": "experiment", "resource_pattern": "0", "permission": "MANAGE"})
        changed = {**TEAM_ROLE, "members": ["ana@example.com"], "grants": [{"experiment": "churn", "permission": "READ"}]}
        r = pod.run("provision", world.World(api=api), env(PROVISION_ROLES=json.dumps([GC_ROLE, changed])))
        self.assertEqual(r.code, 0, r.log)
        self.assertEqual(api.role_grants("mlflow-gke-group-team"), {("experiment", api.experiments["churn"]["experiment_id"]): "READ"})
        self.assertEqual(api.members("mlflow-gke-group-team"), ["ana@example.com"])
        self.assertNotIn(stale["id"], api.roles)
        self.assertIn("someone-elses-role", [r["name"] for r in api.roles.values()])
        self.assertIn("role mlflow-gke-user-gone: deleted (no longer in the config)", r.log)

    def test_a_role_member_that_is_no_user_fails_the_job_naming_it(self):
        api = FakeAuthApi()
        role = {**TEAM_ROLE, "members": ["nobody@example.com"]}
        r = pod.run("provision", world.World(api=api), env(PROVISION_ROLES=json.dumps([role])))
        self.assertEqual(r.code, 1)
        self.assertIn("role mlflow-gke-group-team: FAILED: role mlflow-gke-group-team: no MLflow user nobody@example.com", r.log)

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
        self.assertIn("listing the users FAILED: HTTP 401", r.log)

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
        self.assertEqual(r.world.api_requests[0], ("GET", "/api/2.0/mlflow/users/list"))

    def test_no_healthy_server_no_change(self):
        api = FakeAuthApi()
        r = run(api, health=[urllib.error.URLError("Connection refused")])
        self.assertEqual(r.code, 1)
        self.assertEqual(r.world.api_requests, [])
        self.assertIn("not healthy after 600s", r.log)


if __name__ == "__main__":
    unittest.main()
