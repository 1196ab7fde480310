"""MLflow's authorization function on this platform (charts/mlflow/iap_auth.py).

Requests run in real Flask request contexts; MLflow's own auth module is a stand-in (what it does with
the result is in mlflow/server/auth/__init__.py). The token check itself (charts/mlflow/iap_verify.py)
has its own tests (test_iap_verify.py); tokens are made as there (iap_tokens.py).
"""
from __future__ import annotations

import json
import logging
import os
import time
import types
import unittest
from typing import Any, Optional
from unittest import mock

from flask import Flask, Response, make_response
from iap_tokens import BACKEND, KEYS, OTHER_KEY, PROJECT_NUMBER, frozen_time, iap_verify, load, token
from werkzeug.datastructures import Authorization

iap_auth = load("iap_auth", "charts/mlflow/iap_auth.py")

LB_PEER = "35.191.10.20"  # Google's load balancer proxies and health checks: 35.191.0.0/16, 130.211.0.0/22
POD_PEER = "10.8.1.7"
PINNED = iap_auth.Settings({"IAP_ENABLED": "true", "IAP_PROJECT_NUMBER": PROJECT_NUMBER, "IAP_BACKEND_SERVICE_ID": BACKEND, "IAP_TRUSTED_PEERS": "35.191.0.0/16,130.211.0.0/22"})
PREFIX = iap_auth.Settings({"IAP_ENABLED": "true", "IAP_PROJECT_NUMBER": PROJECT_NUMBER, "IAP_TRUSTED_PEERS": "35.191.0.0/16,130.211.0.0/22"})


class Audiences(unittest.TestCase):
    def test_until_the_id_is_pinned_any_backend_of_the_project_passes_but_only_from_a_known_peer(self):
        other_backend = "/projects/%s/global/backendServices/99" % PROJECT_NUMBER
        self.assertTrue(PREFIX.audience(True).accepts(other_backend))
        self.assertFalse(PREFIX.audience(False).accepts(other_backend))
        self.assertFalse(PINNED.audience(True).accepts(other_backend))
        self.assertTrue(PINNED.audience(False).accepts("/projects/%s/global/backendServices/%s" % (PROJECT_NUMBER, BACKEND)))


class MlflowError(Exception):
    """An MlflowException as the stores raise it: error_code is the code's name (mlflow/exceptions.py)."""

    def __init__(self, error_code: str):
        super().__init__(error_code)
        self.error_code = error_code


class FakeStore:
    def __init__(self, users: tuple[str, ...] = (), create_fails: bool = False, admins: tuple[str, ...] = ()):
        self.users = set(users) | set(admins)
        self.admins = set(admins)
        self.created: list[str] = []
        self.grants: list[tuple[str, str, str, str]] = []
        self.create_fails = create_fails

    def get_user(self, username: str) -> Any:
        return type("User", (), {"username": username, "is_admin": username in self.admins})()

    def has_user(self, username: str) -> bool:
        return username in self.users

    def create_user(self, username: str, password: str) -> None:
        if self.create_fails:
            # Another worker won the race: the row is there, the insert fails.
            self.users.add(username)
            raise RuntimeError("IntegrityError")
        assert len(password) >= 12  # mlflow/utils/validation.py _validate_password
        self.users.add(username)
        self.created.append(username)

    def grant_user_resource_permission(self, username: str, resource_type: str, resource_id: str, permission: str) -> None:
        # sqlalchemy_store.grant_user_resource_permission: RESOURCE_ALREADY_EXISTS for an existing row.
        if any(g[:3] == (username, resource_type, resource_id) for g in self.grants):
            raise MlflowError("RESOURCE_ALREADY_EXISTS")
        self.grants.append((username, resource_type, resource_id, permission))


class FakeTracking:
    """The tracking store's experiments by name; `raced` names are created by another replica between the lookup and the insert."""

    def __init__(self, experiments: Optional[dict[str, str]] = None, raced: tuple[str, ...] = ()):
        self.experiments = dict(experiments or {})
        self.raced = set(raced)
        self.created: list[str] = []

    def get_experiment_by_name(self, name: str) -> Any:
        if name not in self.experiments:
            return None
        return type("Experiment", (), {"experiment_id": self.experiments[name], "name": name})()

    def create_experiment(self, name: str) -> str:
        if name in self.raced:
            self.raced.discard(name)
            self.experiments[name] = str(100 + len(self.experiments))
        if name in self.experiments:
            # mlflow/store/tracking/sqlalchemy_store.py create_experiment: the unique name's IntegrityError.
            raise MlflowError("RESOURCE_ALREADY_EXISTS")
        self.experiments[name] = str(1 + len(self.experiments))
        self.created.append(name)
        return self.experiments[name]


class FakeMlflowAuth:
    """mlflow.server.auth as the verifier uses it: the store and the Basic check."""

    def __init__(self, store: FakeStore, basic_user: Optional[str] = None):
        self.store = store
        self.basic_user = basic_user
        self.basic_calls = 0

    def authenticate_request_basic_auth(self) -> Authorization | Response:
        self.basic_calls += 1
        if self.basic_user is None:
            response = make_response("You are not authenticated.", 401)
            response.headers["WWW-Authenticate"] = 'Basic realm="mlflow"'
            return response
        return Authorization("basic", {"username": self.basic_user, "password": "x" * 16})


SERVER_ENV = {
    "IAP_ENABLED": "true",
    "IAP_PROJECT_NUMBER": PROJECT_NUMBER,
    "IAP_TRUSTED_PEERS": "35.191.0.0/16,130.211.0.0/22",
    "MLFLOW_SERVICE_ROUTES": json.dumps({"mlflow-gke-metrics": ["/metrics"]}),
    "DEFAULT_EXPERIMENT_PERMISSION": "READ",
    "PERSONAL_EXPERIMENT_PREFIX": "users/",
}

app = Flask("mlflow-stand-in")
# What the verifier logs (refused tokens, unreachable keys) is for the server's log, not the test output.
logging.getLogger("mlflow_gke.iap_auth").setLevel(logging.CRITICAL)
logging.getLogger("mlflow_gke.iap_verify").setLevel(logging.CRITICAL)


class Requests(unittest.TestCase):
    """authenticate() inside Flask request contexts, as MLflow calls it."""

    def call(self, env: dict[str, str], auth: FakeMlflowAuth, path: str = "/ajax-api/2.0/mlflow/experiments/search", method: str = "GET", jwt: Optional[str] = None, peer: Optional[str] = LB_PEER, times: int = 1, extra_headers: Optional[dict[str, str]] = None, tracking: Optional[FakeTracking] = None, body: Any = None) -> Authorization | Response:
        # A server process reads its settings once; each call here is a fresh server.
        iap_auth._settings = None
        iap_auth._keys = None
        iap_auth._known_users.clear()
        iap_auth._personal_ready.clear()
        headers = {**({iap_auth.HEADER: jwt} if jwt else {}), **(extra_headers or {})}
        environ = {"REMOTE_ADDR": peer} if peer is not None else {}
        self.tracking = tracking or FakeTracking()
        # The database's fence: down, at this image's revision, unless the test says otherwise.
        fence = getattr(self, "fence", None) or iap_auth.WriteFence("head0001", lambda: ("head0001", False))
        with mock.patch.object(iap_auth, "_write_fence", lambda: fence), mock.patch.dict(os.environ, env, clear=True), mock.patch.object(iap_auth, "_mlflow_auth", lambda: auth), mock.patch.object(iap_auth, "_tracking_store", lambda: self.tracking), mock.patch.object(iap_verify, "fetch_json", lambda url: KEYS), frozen_time():
            with app.test_request_context(path, method=method, headers=headers, environ_base=environ, json=body):
                results = [iap_auth.authenticate() for _ in range(times)]
        self.assertTrue(all(r is results[0] for r in results))
        return results[0]

    def test_while_the_fence_is_up_a_write_gets_503_with_a_retry_after_and_a_read_is_served(self):
        self.fence = iap_auth.WriteFence("head0001", lambda: ("head0001", True))
        result = self.call(SERVER_ENV, FakeMlflowAuth(FakeStore()), jwt=token(), path="/api/2.0/mlflow/runs/log-batch", method="POST", body={})
        assert isinstance(result, Response)
        self.assertEqual((result.status_code, result.headers.get("Retry-After")), (503, "30"))
        self.assertIsInstance(self.call(SERVER_ENV, FakeMlflowAuth(FakeStore()), jwt=token(), path="/api/2.0/mlflow/runs/search", method="POST", body={}), Authorization)

    def test_the_first_request_puts_the_request_memo_in_front_of_mlflows_auth_store(self):
        store = FakeStore()
        auth = FakeMlflowAuth(store)
        self.call(SERVER_ENV, auth, jwt=token())
        memo: Any = auth.store
        assert isinstance(memo, iap_auth.RequestMemoStore)
        self.assertIs(memo._store, store)

    def test_iap_user_through_the_load_balancer_is_their_email_and_is_created_on_first_sign_in(self):
        auth = FakeMlflowAuth(FakeStore())
        result = self.call(SERVER_ENV, auth, jwt=token(aud="/projects/%s/global/backendServices/77" % PROJECT_NUMBER))
        self.assertIsInstance(result, Authorization)
        assert isinstance(result, Authorization)
        self.assertEqual(result.username, "ana@example.com")
        self.assertEqual(auth.store.created, ["ana@example.com"])
        self.assertEqual(auth.basic_calls, 0)

    def test_first_sign_in_gives_read_on_default_and_manage_on_a_new_personal_experiment(self):
        auth = FakeMlflowAuth(FakeStore())
        self.call(SERVER_ENV, auth, jwt=token())
        self.assertEqual(self.tracking.created, ["users/ana@example.com"])
        self.assertEqual(auth.store.grants, [("ana@example.com", "experiment", "0", "READ"), ("ana@example.com", "experiment", "1", "MANAGE")])

    def test_no_permissions_on_default_is_no_grant_at_all(self):
        auth = FakeMlflowAuth(FakeStore())
        self.call({**SERVER_ENV, "DEFAULT_EXPERIMENT_PERMISSION": "NO_PERMISSIONS"}, auth, jwt=token())
        self.assertEqual(auth.store.grants, [("ana@example.com", "experiment", "1", "MANAGE")])

    def test_an_existing_user_is_not_created_again_but_gets_a_missing_personal_experiment(self):
        auth = FakeMlflowAuth(FakeStore(users=("ana@example.com",)))
        self.call(SERVER_ENV, auth, jwt=token())
        self.assertEqual(auth.store.created, [])
        self.assertEqual(auth.store.grants, [("ana@example.com", "experiment", "1", "MANAGE")])

    def test_a_personal_experiment_and_grant_that_exist_change_nothing(self):
        store = FakeStore(users=("ana@example.com",))
        store.grants.append(("ana@example.com", "experiment", "7", "MANAGE"))
        tracking = FakeTracking({"users/ana@example.com": "7"})
        result = self.call(SERVER_ENV, FakeMlflowAuth(store), jwt=token(), tracking=tracking)
        self.assertIsInstance(result, Authorization)
        self.assertEqual((tracking.created, store.grants), ([], [("ana@example.com", "experiment", "7", "MANAGE")]))

    def test_two_replicas_creating_the_same_personal_experiment_both_succeed(self):
        # The other replica's insert wins: this one's create fails with RESOURCE_ALREADY_EXISTS, and its
        # grant too (the winner granted first); both are done, the sign-in goes on.
        store = FakeStore(users=("ana@example.com",))
        store.grants.append(("ana@example.com", "experiment", "100", "MANAGE"))
        tracking = FakeTracking(raced=("users/ana@example.com",))
        result = self.call(SERVER_ENV, FakeMlflowAuth(store), jwt=token(), tracking=tracking)
        assert isinstance(result, Authorization)
        self.assertEqual(result.username, "ana@example.com")
        self.assertEqual(tracking.experiments, {"users/ana@example.com": "100"})
        self.assertEqual(store.grants, [("ana@example.com", "experiment", "100", "MANAGE")])

    def test_a_failing_tracking_store_does_not_refuse_the_sign_in_and_is_retried(self):
        class Broken(FakeTracking):
            def get_experiment_by_name(self, name: str) -> Any:
                raise RuntimeError("database unavailable")

        result = self.call(SERVER_ENV, FakeMlflowAuth(FakeStore()), jwt=token(), tracking=Broken())
        assert isinstance(result, Authorization)
        self.assertNotIn("ana@example.com", iap_auth._known_users)

    def test_the_personal_experiment_is_looked_up_once_per_process(self):
        class Counting(FakeTracking):
            lookups = 0

            def get_experiment_by_name(self, name: str) -> Any:
                Counting.lookups += 1
                return super().get_experiment_by_name(name)

        auth = FakeMlflowAuth(FakeStore())
        self.call(SERVER_ENV, auth, jwt=token(), tracking=Counting())
        iap_auth._known_users.clear()  # the 60-second cache of users runs out; the experiment is known
        with mock.patch.dict(os.environ, SERVER_ENV, clear=True), mock.patch.object(iap_auth, "_mlflow_auth", lambda: auth), mock.patch.object(iap_auth, "_tracking_store", lambda: self.tracking):
            iap_auth.ensure_user("ana@example.com", iap_auth.Settings(SERVER_ENV))
        self.assertEqual(Counting.lookups, 1)

    def test_two_workers_creating_the_same_user_both_succeed(self):
        auth = FakeMlflowAuth(FakeStore(create_fails=True))
        result = self.call(SERVER_ENV, auth, jwt=token())
        assert isinstance(result, Authorization)
        self.assertEqual(result.username, "ana@example.com")

    def test_an_experiment_name_in_another_persons_space_is_refused(self):
        for path, body in [
            ("/api/2.0/mlflow/experiments/create", {"name": "users/ana@example.com"}),
            ("/ajax-api/2.0/mlflow/experiments/create", {"name": "users/ana@example.com/sub"}),
            ("/api/2.0/mlflow/experiments/update", {"experiment_id": "3", "new_name": "users/ana@example.com"}),
        ]:
            result = self.call(SERVER_ENV, FakeMlflowAuth(FakeStore(), basic_user="bo@example.com"), path=path, method="POST", body=body)
            assert isinstance(result, Response), path
            self.assertEqual(result.status_code, 403, path)

    def test_ones_own_personal_experiment_and_other_names_may_be_created(self):
        for user, name in [("bo@example.com", "users/bo@example.com"), ("bo@example.com", "team/users/x"), ("mlflow-gke-admin", "users/ana@example.com")]:
            auth = FakeMlflowAuth(FakeStore(admins=("mlflow-gke-admin",)), basic_user=user)
            result = self.call(SERVER_ENV, auth, path="/api/2.0/mlflow/experiments/create", method="POST", body={"name": name})
            assert isinstance(result, Authorization), (user, name)

    def test_the_result_is_computed_once_per_request(self):
        auth = FakeMlflowAuth(FakeStore(), basic_user="bo@example.com")
        self.call(SERVER_ENV, auth, times=4)
        self.assertEqual(auth.basic_calls, 1)

    def test_a_token_from_a_pod_inside_the_cluster_is_ignored(self):
        # Not the load balancer: Basic credentials decide (here none: 401).
        auth = FakeMlflowAuth(FakeStore())
        result = self.call(SERVER_ENV, auth, jwt=token(), peer=POD_PEER)
        self.assertIsInstance(result, Response)
        assert isinstance(result, Response)
        self.assertEqual(result.status_code, 401)
        self.assertEqual((auth.basic_calls, auth.store.created), (1, []))

    def test_a_token_from_a_pod_falls_back_to_its_basic_credentials(self):
        auth = FakeMlflowAuth(FakeStore(), basic_user="bo@example.com")
        result = self.call(SERVER_ENV, auth, jwt=token(), peer=POD_PEER)
        assert isinstance(result, Authorization)
        self.assertEqual(result.username, "bo@example.com")

    def test_a_refused_token_falls_back_to_basic(self):
        auth = FakeMlflowAuth(FakeStore())
        result = self.call(SERVER_ENV, auth, jwt=token(key=OTHER_KEY))
        assert isinstance(result, Response)
        self.assertEqual(result.status_code, 401)
        self.assertEqual(auth.store.created, [])

    def test_the_fastapi_bridge_has_no_peer_and_trusts_a_token_only_with_the_pinned_audience(self):
        # mlflow/server/auth/__init__.py _authenticate_custom_for_fastapi builds
        # app.test_request_context(path=..., method=..., headers=..., query_string=...): werkzeug's
        # EnvironBuilder sets no REMOTE_ADDR, so the peer is unknown there.
        with app.test_request_context("/ajax-api/2.0/mlflow-artifacts/artifacts/1/x", method="GET", headers={iap_auth.HEADER: "t"}, query_string=""):
            from flask import request

            self.assertIsNone(request.remote_addr)
        prefix_only = FakeMlflowAuth(FakeStore())
        result = self.call(SERVER_ENV, prefix_only, jwt=token(), peer=None)
        assert isinstance(result, Response)
        self.assertEqual(result.status_code, 401)
        pinned = FakeMlflowAuth(FakeStore())
        result = self.call({**SERVER_ENV, "IAP_BACKEND_SERVICE_ID": BACKEND}, pinned, jwt=token(), peer=None)
        assert isinstance(result, Authorization)
        self.assertEqual(result.username, "ana@example.com")
        # Pinned, a token for another backend is refused even from the load balancer.
        other = FakeMlflowAuth(FakeStore())
        result = self.call({**SERVER_ENV, "IAP_BACKEND_SERVICE_ID": BACKEND}, other, jwt=token(aud="/projects/%s/global/backendServices/77" % PROJECT_NUMBER))
        assert isinstance(result, Response)
        self.assertEqual(result.status_code, 401)

    def test_a_program_through_iap_is_the_email_of_its_id_token(self):
        # A script or CI job sends an OIDC ID token (MLFLOW_TRACKING_TOKEN -> Authorization: Bearer);
        # IAP checks it and adds its own signed header for the same identity, which decides here.
        auth = FakeMlflowAuth(FakeStore(), basic_user="someone-else")
        result = self.call(SERVER_ENV, auth, jwt=token(email="ci-runner@proj.iam.gserviceaccount.com"), extra_headers={"Authorization": "Bearer eyJ.id.token"})
        assert isinstance(result, Authorization)
        self.assertEqual(result.username, "ci-runner@proj.iam.gserviceaccount.com")
        self.assertEqual(auth.basic_calls, 0)

    def test_a_bearer_token_without_iaps_header_is_not_an_identity(self):
        # Straight to the Service (not through IAP): MLflow's Basic check decides, and a Bearer is no Basic.
        auth = FakeMlflowAuth(FakeStore())
        result = self.call(SERVER_ENV, auth, peer=POD_PEER, extra_headers={"Authorization": "Bearer " + token()})
        assert isinstance(result, Response)
        self.assertEqual(result.status_code, 401)

    def test_without_the_edge_no_token_is_trusted(self):
        auth = FakeMlflowAuth(FakeStore())
        result = self.call({**SERVER_ENV, "IAP_ENABLED": "false", "IAP_BACKEND_SERVICE_ID": BACKEND}, auth, jwt=token())
        assert isinstance(result, Response)
        self.assertEqual(result.status_code, 401)

    def test_the_metrics_account_is_admitted_on_get_metrics_only(self):
        for path, method, allowed in [
            ("/metrics", "GET", True),
            ("/metrics", "POST", False),
            ("/metrics/x", "GET", False),
            ("/api/2.0/mlflow/experiments/search", "GET", False),
            ("/api/2.0/mlflow/users/create", "POST", False),
            ("/ajax-api/2.0/mlflow-artifacts/artifacts/1/x", "GET", False),
        ]:
            result = self.call(SERVER_ENV, FakeMlflowAuth(FakeStore(), basic_user="mlflow-gke-metrics"), path=path, method=method)
            if allowed:
                assert isinstance(result, Authorization)
                self.assertEqual(result.username, "mlflow-gke-metrics")
            else:
                assert isinstance(result, Response), (path, method)
                self.assertEqual(result.status_code, 403, (path, method))

    def test_other_users_are_not_limited_by_the_route_table(self):
        result = self.call(SERVER_ENV, FakeMlflowAuth(FakeStore(), basic_user="mlflow-gke-gc"), path="/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts", method="DELETE")
        assert isinstance(result, Authorization)
        self.assertEqual(result.username, "mlflow-gke-gc")


class ServerSettings(unittest.TestCase):
    def test_defaults_trust_nothing(self):
        settings = iap_auth.Settings({})
        self.assertFalse(settings.trusted(LB_PEER))
        self.assertFalse(settings.trusted(None))
        self.assertEqual(settings.keys_url, "https://www.gstatic.com/iap/verify/public_key")

    def test_load_balancer_ranges(self):
        self.assertTrue(PREFIX.trusted("130.211.3.255"))
        self.assertFalse(PREFIX.trusted("130.211.4.0"))
        self.assertFalse(PREFIX.trusted("not an address"))
        self.assertFalse(PREFIX.trusted(None))
        self.assertTrue(PINNED.trusted(None))


if __name__ == "__main__":
    unittest.main()


class RunRequirements(unittest.TestCase):
    """RunRequirementCache in front of MLflow's _run_requirement (the run's experiment, for the permission checks)."""

    def setUp(self):
        self.calls: list[tuple[str, str]] = []
        self.runs = {"r1": "7", "r2": "8"}

        def original(run_id: str, action: str) -> Any:
            self.calls.append((run_id, action))
            if run_id == "boom":
                raise RuntimeError("database down")
            if run_id not in self.runs:
                return None
            anchor = ("experiment", self.runs[run_id])
            return anchor, [("experiment", self.runs[run_id], "read"), ("run", "*", action, (anchor,))]

        self.original = original
        self.cache = iap_auth.RunRequirementCache(original)

    def test_a_run_is_looked_up_once_per_action_and_answers_as_the_original(self):
        first = self.cache("r1", "update")
        self.assertEqual(first, self.original("r1", "update"))
        self.calls.clear()
        self.assertEqual(self.cache("r1", "update"), first)
        self.assertEqual(self.calls, [])
        self.cache("r1", "read")
        self.assertEqual(self.calls, [("r1", "read")])

    def test_each_call_gets_a_list_of_its_own_so_appending_requirements_leaks_nothing(self):
        # mlflow/server/auth/__init__.py _validate_can_update_run_and_models appends the models' requirements.
        _, requirements = self.cache("r1", "update")
        requirements.append(("logged_model", "*", "update"))
        _, again = self.cache("r1", "update")
        self.assertEqual(len(again), 2)

    def test_a_missing_run_is_never_remembered(self):
        self.assertIsNone(self.cache("nope", "read"))
        self.runs["nope"] = "9"
        self.assertEqual(self.cache("nope", "read")[0], ("experiment", "9"))
        self.assertEqual(self.calls, [("nope", "read"), ("nope", "read")])

    def test_a_store_failure_propagates_and_is_not_remembered(self):
        with self.assertRaises(RuntimeError):
            self.cache("boom", "read")
        with self.assertRaises(RuntimeError):
            self.cache("boom", "read")
        self.assertEqual(len(self.calls), 2)

    def test_the_cache_is_bounded(self):
        small = iap_auth.RunRequirementCache(self.original, size=1)
        small("r1", "read")
        small("r2", "read")
        self.calls.clear()
        small("r1", "read")
        self.assertEqual(self.calls, [("r1", "read")])

    def test_installed_once_in_front_of_the_module_function_and_skipped_where_a_release_has_none(self):
        module = types.SimpleNamespace(_run_requirement=self.original)
        self.assertTrue(iap_auth.install_run_requirement_cache(module))
        installed = module._run_requirement
        self.assertIsInstance(installed, iap_auth.RunRequirementCache)
        self.assertTrue(iap_auth.install_run_requirement_cache(module))
        self.assertIs(module._run_requirement, installed)
        self.assertFalse(iap_auth.install_run_requirement_cache(types.SimpleNamespace()))

    def test_the_pinned_mlflow_has_the_function_it_wraps_with_that_signature(self):
        import inspect
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from mlflow.server import auth
        self.assertEqual(list(inspect.signature(getattr(auth, "_run_requirement")).parameters), ["run_id", "action"])


class WriteFences(unittest.TestCase):
    """WriteFence and is_write: writes refused while a migration is under way or the database is at another revision."""

    def setUp(self):
        self.now = 0.0
        self.readings: list[tuple[Optional[str], bool]] = []
        self.state: tuple[Optional[str], bool] = ("head0001", False)

    def read(self) -> tuple[Optional[str], bool]:
        self.readings.append(self.state)
        return self.state

    def fence(self) -> Any:
        return iap_auth.WriteFence("head0001", self.read, clock=lambda: self.now)

    def test_a_raised_fence_refuses_and_says_reads_are_served(self):
        self.state = ("head0001", True)
        self.assertIn("writes are stopped until the schema migration has run; reads are served", self.fence().refusal() or "")

    def test_a_database_at_another_revision_makes_this_server_read_only(self):
        self.state = ("next0002", False)
        self.assertIn("expects schema revision head0001 and the database is at next0002: it serves reads only", self.fence().refusal() or "")

    def test_the_database_is_asked_at_most_once_a_second(self):
        fence = self.fence()
        self.assertIsNone(fence.refusal())
        self.state = ("head0001", True)
        self.now = 0.9
        self.assertIsNone(fence.refusal())
        self.now = 1.0
        self.assertIsNotNone(fence.refusal())
        self.assertEqual(len(self.readings), 2)

    def test_an_unreadable_fence_lets_the_write_through(self):
        def broken() -> tuple[Optional[str], bool]:
            raise RuntimeError("connection refused")

        with self.assertLogs("mlflow_gke.iap_auth", logging.WARNING):
            self.assertIsNone(iap_auth.WriteFence("head0001", broken).refusal())

    def test_writes_are_state_changing_calls_of_the_rest_api_and_searches_are_reads(self):
        writes = [("POST", "/api/2.0/mlflow/runs/log-batch"), ("POST", "/ajax-api/2.0/mlflow/experiments/create"), ("DELETE", "/api/2.0/mlflow/registered-models/delete"), ("PATCH", "/api/2.0/mlflow/registered-models/update")]
        reads = [
            ("GET", "/api/2.0/mlflow/runs/get"),
            ("POST", "/api/2.0/mlflow/runs/search"),
            ("POST", "/api/2.0mlflow/experiments/search-datasets"),
            ("POST", "/api/3.0/mlflow/traces/search"),
            ("POST", "/api/2.0/mlflow/registered-models/get-latest-versions"),
            ("POST", "/api/3.0/mlflow/traces/calculate-filter-correlation"),
            ("POST", "/graphql"),
        ]
        self.assertEqual([iap_auth.is_write(m, p) for m, p in writes], [True] * len(writes))
        self.assertEqual([iap_auth.is_write(m, p) for m, p in reads], [False] * len(reads))


class CountingStore:
    """An auth store that counts its calls: reads of a user and their grants, and a change."""

    def __init__(self):
        self.calls: list[str] = []
        self.admin = False
        self.engine = "engine"

    def get_user(self, username: str) -> Any:
        self.calls.append("get_user")
        if username == "ghost":
            raise MlflowError("RESOURCE_DOES_NOT_EXIST")
        return types.SimpleNamespace(id=7, username=username, is_admin=self.admin)

    def list_grants(self, user_id: int, workspace: str, resource_types: set) -> list:
        self.calls.append("list_grants")
        return [("experiment", "*", "READ")]

    def has_user(self, username: str) -> bool:
        self.calls.append("has_user")
        return True

    def update_user(self, username: str, password: Optional[str] = None, is_admin: Optional[bool] = None) -> None:
        self.calls.append("update_user")
        if is_admin is not None:
            self.admin = is_admin


# How SQLAlchemy code of MLflow's auth store writes: a session opened for writing, ORM adds, merges,
# deletes and flushes, bulk deletes and updates (synchronize_session, .update({...})), inserts.
WRITE_MARKS = ("read_only=False", "session.add", "session.merge", "session.delete", "session.flush", "synchronize_session", ".update({", "insert(")


class RequestMemo(unittest.TestCase):
    """RequestMemoStore in front of MLflow's auth store: a user and their grants read once per request."""

    def setUp(self):
        self.store = CountingStore()
        self.memo = iap_auth.RequestMemoStore(self.store)

    def test_a_user_is_read_once_per_request_and_again_in_the_next(self):
        for _ in range(2):
            with app.test_request_context("/api/2.0/mlflow/runs/search", method="POST"):
                self.assertEqual([self.memo.get_user("alice").is_admin for _ in range(3)], [False] * 3)
        self.assertEqual(self.store.calls, ["get_user", "get_user"])

    def test_grants_are_remembered_per_argument_even_when_passed_as_a_set(self):
        with app.test_request_context("/"):
            first = self.memo.list_grants(7, "default", {"experiment", "run"})
            again = self.memo.list_grants(7, "default", {"run", "experiment"})
            self.memo.list_grants(7, "default", {"experiment"})
            self.memo.list_grants(8, "default", {"experiment", "run"})
        self.assertEqual(first, again)
        self.assertEqual(self.store.calls, ["list_grants"] * 3)

    def test_each_caller_gets_a_list_of_its_own(self):
        with app.test_request_context("/"):
            self.memo.list_grants(7, "default", {"run"}).append("leak")
            self.assertEqual(self.memo.list_grants(7, "default", {"run"}), [("experiment", "*", "READ")])

    def test_a_change_in_the_request_is_seen_by_the_reads_after_it(self):
        with app.test_request_context("/api/2.0/mlflow/users/update-admin", method="PATCH"):
            self.assertFalse(self.memo.get_user("alice").is_admin)
            self.memo.update_user("alice", is_admin=True)
            self.assertTrue(self.memo.get_user("alice").is_admin)
        self.assertEqual(self.store.calls, ["get_user", "update_user", "get_user"])

    def test_other_reads_go_to_the_store_and_keep_the_memo(self):
        with app.test_request_context("/"):
            self.memo.get_user("alice")
            self.memo.has_user("alice")
            self.memo.get_user("alice")
        self.assertEqual(self.store.calls, ["get_user", "has_user"])

    def test_a_failure_is_not_remembered(self):
        with app.test_request_context("/"):
            for _ in range(2):
                with self.assertRaises(MlflowError):
                    self.memo.get_user("ghost")
        self.assertEqual(self.store.calls, ["get_user", "get_user"])

    def test_outside_a_request_every_read_goes_to_the_store(self):
        self.memo.get_user("alice")
        self.memo.get_user("alice")
        self.assertEqual(self.store.calls, ["get_user", "get_user"])

    def test_attributes_read_and_written_are_the_stores(self):
        self.assertEqual(self.memo.engine, "engine")
        self.memo.engine = "other"
        self.assertEqual(self.store.engine, "other")

    def test_installed_once_in_front_of_the_module_store(self):
        module = types.SimpleNamespace(store=self.store)
        self.assertTrue(iap_auth.install_request_memo(module))
        installed = module.store
        self.assertIsInstance(installed, iap_auth.RequestMemoStore)
        self.assertTrue(iap_auth.install_request_memo(module))
        self.assertIs(module.store, installed)
        self.assertFalse(iap_auth.install_request_memo(types.SimpleNamespace()))

    def test_in_mlflows_own_auth_app_a_search_reads_the_user_once_and_parses_again_only_an_answer_with_a_model_link(self):
        # real_auth_app.py runs the pinned MLflow's auth app with this verifier, in a process of its own.
        import subprocess
        import sys

        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "real_auth_app.py")
        done = subprocess.run([sys.executable, script], capture_output=True, text=True, timeout=300)
        self.assertEqual(done.returncode, 0, done.stderr[-3000:])
        result = json.loads(done.stdout.strip().splitlines()[-1])
        for label in ("first", "second"):
            self.assertEqual(result[label], {"status": 200, "reads": 1, "redactions": 0, "model_id": 0})
        # The run's output model: MLflow's redaction decides (the owner may see it, so it stays).
        self.assertEqual(result["linked"], {"status": 200, "reads": 1, "redactions": 1, "model_id": 1})
        # A reader of the experiment denied every logged model: the link is withheld from the answer.
        self.assertEqual(result["denied"], {"status": 200, "reads": 1, "redactions": 1, "model_id": 0})
        # MLflow alone reads the user four times (sender_is_admin in _before_request, in
        # filter_experiment_ids, in the redaction; the read predicate's grants), and a fifth for the
        # model link's gate.
        self.assertEqual(result["without"], {"status": 200, "reads": 5, "redactions": 0, "model_id": 1})

    def test_the_pinned_mlflows_store_reads_change_nothing_and_the_memoized_ones_exist(self):
        # What the memo classifies as a read must not write: no session opened for writing, nothing
        # added, merged, deleted, updated or flushed (mlflow/server/auth/sqlalchemy_store.py of the pinned release).
        import inspect
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from mlflow.server.auth.sqlalchemy_store import SqlAlchemyStore  # pyright: ignore[reportMissingImports]
        reads = [name for name, _ in inspect.getmembers(SqlAlchemyStore, inspect.isfunction) if name.startswith(iap_auth._READ_PREFIXES)]
        self.assertTrue(set(iap_auth.REQUEST_MEMO_READS) <= set(reads))
        writing = [name for name in reads if any(mark in inspect.getsource(getattr(SqlAlchemyStore, name)) for mark in WRITE_MARKS)]
        self.assertEqual(writing, [])
        self.assertEqual(list(inspect.signature(SqlAlchemyStore.get_user).parameters), ["self", "username"])
        self.assertEqual(list(inspect.signature(SqlAlchemyStore.list_grants).parameters), ["self", "user_id", "workspace", "resource_types"])


class PinnedMlflowFacts(unittest.TestCase):
    """What the write fence relies on in the pinned MLflow (the Python environment of the tests is the image's release)."""

    @classmethod
    def setUpClass(cls):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from mlflow.server.handlers import get_endpoints  # pyright: ignore[reportMissingImports]

        cls.endpoints = get_endpoints()

    def test_every_state_changing_route_whose_handler_reads_is_classified_as_a_read(self):
        # A POST whose handler searches, gets or calculates: the fence must let it through. A new one
        # in a later MLflow fails here, so that READ_ONLY_POSTS is looked at again.
        read_like = sorted(
            {(method, path.rstrip("/").rsplit("/", 1)[-1], handler.__name__) for path, handler, methods in self.endpoints for method in methods if method in iap_auth.WRITE_METHODS and handler.__name__.startswith(("_search", "_get", "_calculate", "_list"))}
        )
        self.assertEqual(
            read_like,
            [
                ("POST", "calculate-filter-correlation", "_calculate_trace_filter_correlation"),
                ("POST", "get-latest-versions", "_get_latest_versions"),
                ("POST", "get-or-create-user", "_get_or_create_user_queue"),
                ("POST", "search", "_search_evaluation_datasets_handler"),
                ("POST", "search", "_search_experiments"),
                ("POST", "search", "_search_issues"),
                ("POST", "search", "_search_logged_models"),
                ("POST", "search", "_search_prompt_optimization_jobs"),
                ("POST", "search", "_search_runs"),
                ("POST", "search", "_search_traces_v3"),
            ],
        )
        routes = {handler.__name__: path for path, handler, _ in self.endpoints if path.startswith(("/api/", "/ajax-api/"))}
        writes = {name: iap_auth.is_write("POST", routes[name]) for _, _, name in read_like}
        # get-or-create-user creates a user: a write despite its name.
        self.assertEqual({name for name, write in writes.items() if write}, {"_get_or_create_user_queue"})

    def test_mlflows_client_retries_a_503_seven_times_and_honours_retry_after(self):
        # mlflow/utils/rest_utils.py http_request: retries from MLFLOW_HTTP_REQUEST_MAX_RETRIES on the
        # codes of request_utils._TRANSIENT_FAILURE_RESPONSE_CODES, honouring Retry-After unless
        # MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER says otherwise.
        import inspect

        from mlflow.environment_variables import MLFLOW_HTTP_REQUEST_MAX_RETRIES, MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER  # pyright: ignore[reportMissingImports]
        from mlflow.utils import request_utils, rest_utils  # pyright: ignore[reportMissingImports]

        self.assertIn(503, request_utils._TRANSIENT_FAILURE_RESPONSE_CODES)
        self.assertEqual(MLFLOW_HTTP_REQUEST_MAX_RETRIES.default, 7)
        self.assertIs(MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER.default, True)
        source = inspect.getsource(rest_utils.http_request)
        self.assertIn("MLFLOW_HTTP_REQUEST_MAX_RETRIES.get() if max_retries is None", source)
        self.assertIn("MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER.get()", source)


class ModelLinks(unittest.TestCase):
    """ModelLinkPrecheck in front of MLflow's redaction of run answers (the links to logged models)."""

    def setUp(self):
        self.calls: list[Any] = []
        self.precheck = iap_auth.ModelLinkPrecheck(self.calls.append)

    def answer(self, body: Any, **kwargs: Any) -> Response:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body, indent=2)
        return Response(data, mimetype=kwargs.pop("mimetype", "application/json"), **kwargs)

    def test_an_answer_without_model_links_is_not_handed_to_the_redaction(self):
        run = {"info": {"run_id": "r1"}, "data": {"metrics": [{"key": "loss", "value": 1.0}], "params": [{"key": "model", "value": "vit"}]}}
        self.precheck(self.answer({"runs": [run]}))
        self.assertEqual(self.calls, [])

    def test_every_field_that_links_a_model_hands_the_answer_to_the_redaction(self):
        for run in (
            {"inputs": {"model_inputs": [{"model_id": "m-1"}]}},
            {"outputs": {"model_outputs": [{"model_id": "m-1", "step": 0}]}},
            {"data": {"metrics": [{"key": "loss", "value": 1.0, "model_id": "m-1"}]}},
        ):
            self.precheck(self.answer({"run": run}))
        self.assertEqual(len(self.calls), 3)

    def test_a_key_named_in_a_value_is_not_a_link(self):
        # json escapes the quotes inside a string, so a value cannot spell a key in quotes.
        self.precheck(self.answer({"runs": [{"data": {"params": [{"key": "note", "value": 'see "model_id"'}]}}]}))
        self.assertEqual(self.calls, [])

    def test_an_answer_it_cannot_read_as_plain_json_goes_to_the_redaction(self):
        self.precheck(self.answer(b"\x1f\x8b compressed", headers={"Content-Encoding": "gzip"}))
        self.precheck(self.answer("<html/>", mimetype="text/html"))
        self.precheck(Response(iter([b"{}"]), mimetype="application/json"))
        self.assertEqual(len(self.calls), 3)

    def test_installed_once_in_front_of_the_run_redactions_only(self):
        def get_run(resp: Any) -> None: ...

        def search_runs(resp: Any) -> None: ...

        def other(resp: Any) -> None: ...

        handlers = {("/api/2.0/mlflow/runs/get", "GET"): get_run, ("/ajax-api/2.0/mlflow/runs/search", "POST"): search_runs, ("/api/2.0/mlflow/experiments/search", "GET"): other}
        module = types.SimpleNamespace(AFTER_REQUEST_HANDLERS=handlers, redact_get_run_model_links=get_run, redact_search_runs_model_links=search_runs)
        self.assertEqual(iap_auth.install_model_link_precheck(module), 2)
        installed = dict(handlers)
        self.assertEqual(iap_auth.install_model_link_precheck(module), 2)
        self.assertEqual(handlers, installed)
        self.assertIs(handlers[("/api/2.0/mlflow/experiments/search", "GET")], other)
        precheck: Any = handlers[("/api/2.0/mlflow/runs/get", "GET")]
        self.assertIs(precheck.original, get_run)
        self.assertEqual(iap_auth.install_model_link_precheck(types.SimpleNamespace()), 0)

    def test_the_pinned_mlflow_redacts_runs_only_through_those_fields(self):
        import inspect
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from mlflow.server import auth
            from mlflow.utils import proto_json_utils  # pyright: ignore[reportMissingImports]
        withhold = inspect.getsource(getattr(auth, "_withhold_denied_run_model_links"))
        self.assertIn("run.inputs.model_inputs or run.outputs.model_outputs", withhold)
        self.assertIn("metric.model_id", withhold)
        self.assertIn("if not linked and not metrics:\n        return False", withhold)
        self.assertIn("preserving_proto_field_name=True", inspect.getsource(proto_json_utils.message_to_json))
        for name in iap_auth.RUN_REDACTIONS:
            self.assertIn("_redact_run_response(", inspect.getsource(getattr(auth, name)))
        self.assertEqual(sum(1 for handler in getattr(auth, "AFTER_REQUEST_HANDLERS").values() if getattr(handler, "__name__", "") in iap_auth.RUN_REDACTIONS or isinstance(handler, iap_auth.ModelLinkPrecheck)), 4)


class CredentialChecks(unittest.TestCase):
    """CredentialCheckFlight: concurrent checks of one credential share one scrypt computation."""

    def setUp(self):
        import threading

        self.threading = threading
        self.checks: list[tuple[str, str]] = []
        self.release = threading.Event()

    def slow_check(self, username: str, password: str) -> bool:
        self.checks.append((username, password))
        self.release.wait(5)
        if password == "boom":
            raise RuntimeError("database down")
        return password == "right-password"

    def concurrently(self, flight: Any, calls: list[tuple[str, str]]) -> list[Any]:
        results: list[Any] = [None] * len(calls)

        def run(index: int, username: str, password: str) -> None:
            try:
                results[index] = flight(username, password)
            except Exception as error:
                results[index] = error

        threads = [self.threading.Thread(target=run, args=(i, u, p)) for i, (u, p) in enumerate(calls)]
        for thread in threads:
            thread.start()
        deadline = time.time() + 5
        while len(self.checks) < len(set(calls)) and time.time() < deadline:
            time.sleep(0.01)
        time.sleep(0.05)
        self.release.set()
        for thread in threads:
            thread.join(5)
        return results

    def test_eight_concurrent_checks_of_one_credential_cost_one(self):
        flight = iap_auth.CredentialCheckFlight(self.slow_check)
        self.assertEqual(self.concurrently(flight, [("alice", "right-password")] * 8), [True] * 8)
        self.assertEqual(self.checks, [("alice", "right-password")])

    def test_another_password_or_user_is_a_check_of_its_own(self):
        flight = iap_auth.CredentialCheckFlight(self.slow_check)
        results = self.concurrently(flight, [("alice", "right-password"), ("alice", "guess"), ("bob", "right-password"), ("alice", "guess")])
        self.assertEqual(results, [True, False, True, False])
        self.assertEqual(sorted(self.checks), [("alice", "guess"), ("alice", "right-password"), ("bob", "right-password")])

    def test_nothing_is_kept_after_the_check(self):
        self.release.set()
        flight = iap_auth.CredentialCheckFlight(self.slow_check)
        self.assertTrue(flight("alice", "right-password"))
        self.assertTrue(flight("alice", "right-password"))
        self.assertEqual(len(self.checks), 2)

    def test_a_failed_check_fails_every_caller_that_waited_for_it_and_the_next_one_checks_again(self):
        flight = iap_auth.CredentialCheckFlight(self.slow_check)
        results = self.concurrently(flight, [("alice", "boom")] * 3)
        self.assertTrue(all(isinstance(r, RuntimeError) for r in results))
        self.assertEqual(len(self.checks), 1)
        with self.assertRaises(RuntimeError):
            flight("alice", "boom")
        self.assertEqual(len(self.checks), 2)

    def test_the_request_memo_checks_passwords_through_one_flight(self):
        store = types.SimpleNamespace(authenticate_user=self.slow_check)
        memo = iap_auth.RequestMemoStore(store)
        first = memo.authenticate_user
        self.assertIsInstance(first, iap_auth.CredentialCheckFlight)
        self.assertIs(memo.authenticate_user, first)
        self.assertEqual(self.concurrently(memo.authenticate_user, [("alice", "right-password")] * 4), [True] * 4)
        self.assertEqual(len(self.checks), 1)

    def test_mlflow_checks_credentials_through_the_module_store(self):
        # mlflow/server/auth/__init__.py _authenticate_cached: `store.authenticate_user(username, password)`.
        import inspect
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from mlflow.server import auth
        self.assertIn("store.authenticate_user(username, password)", inspect.getsource(getattr(auth, "_authenticate_cached")))
