"""
MLflow's authorization function on this platform (basic_auth.ini: authorization_function =
iap_auth:authenticate). The server's pods mount this file from the mlflow-auth ConfigMap and find it
through PYTHONPATH; MLflow imports it by name (mlflow/server/auth/__init__.py get_auth_func:
"module:function", importlib.import_module, getattr) and calls authenticate() with no arguments inside
a Flask request context: for Flask routes in _before_request, and for the FastAPI-native routes in a
synthetic context made by _authenticate_custom_for_fastapi (app.test_request_context with the
request's path, method, headers and query only). It must return a werkzeug Authorization, whose
`username` MLflow looks up, or a Flask Response, sent as it is.

Who the caller is, in this order:

1. A request through the load balancer carries IAP's signed header x-goog-iap-jwt-assertion
   (https://cloud.google.com/iap/docs/signed-headers-howto). It is trusted only where it can have
   come from IAP: on Flask routes when the peer address is one of the load balancer's ranges
   (IAP_TRUSTED_PEERS; IAP strips any x-goog-* header a client sends, but a pod inside the cluster
   reaches the server directly and could send one); in the synthetic context of a FastAPI-native
   route, which has no peer address, only when the audience is pinned to MLflow's own backend service
   (IAP_BACKEND_SERVICE_ID), so a token IAP made for another backend of the project (a workspace)
   cannot be replayed there. The token itself is checked by iap_verify.py (beside this file in the
   ConfigMap, shared with the workspaces' proxy; its cryptography is google-auth's): ES256-signed by a
   key of Google's published set (IAP_KEYS_URL, cached for IAP_KEYS_TTL_SECONDS and fetched again when
   a token names an unknown key id), issued by https://cloud.google.com/iap, current within 30 seconds
   of skew and no longer lived than 10 minutes plus twice the skew, for the audience
   /projects/<IAP_PROJECT_NUMBER>/global/backendServices/<id>. The caller is its `email` claim, in lower
   case; a user of that name is created on first sign-in with a random password nobody knows (and
   DEFAULT_EXPERIMENT_PERMISSION on the Default experiment, when it is READ), so a person signs in
   once, with Google. The person's experiment PERSONAL_EXPERIMENT_PREFIX + email is made then, and
   checked again whenever the user is not in this process's cache (ensure_personal_experiment).
2. Otherwise (no header, a header that is not trusted here, a token that fails any check): HTTP Basic
   credentials, checked by MLflow's own function (authenticate_request_basic_auth): the workspaces,
   gc, the verification Job and the metrics scraper.

Then the platform accounts named in MLFLOW_SERVICE_ROUTES (JSON: username -> allowed paths, an entry
ending in "/" a prefix) are refused with 403 anywhere else: the metrics scraper is an admin because
MLflow answers /metrics to admins only under MLFLOW_BASIC_AUTH_FAIL_CLOSED, and this keeps that admin
to GET /metrics.

Experiment names under PERSONAL_EXPERIMENT_PREFIX are reserved: creating or renaming an experiment to
"users/<someone>" is refused with 403 unless <someone> is the caller (reserved_name_refused), so nobody
can take another person's personal experiment before they first sign in and read what they log there.

The result is kept in flask.g for the rest of the request: MLflow calls this function several times
per request (validators, after-request handlers, sender_is_admin).

While a schema migration is under way, and on a server whose image expects another schema revision
than the database holds (the old version's pods during a rolling update, once the migration has run),
writes are refused with 503 and reads served (WriteFence): the migration stops every writer before
its backup and lets the new version's servers write once both schemas are at their head
(charts/mlflow/shared.py FENCE_TABLE).

A run's experiment, as the permission checks see it, is remembered (RunRequirementCache): MLflow's
check of every run-keyed request (_run_requirement: log-batch, log-metric, get-run, the run's
artifacts) loads the whole run (params, metrics, tags) only to read its experiment id, about a fifth
of a server's CPU under log-batch (py-spy, `npm run bench:server`). No MLflow API moves a run to
another experiment, so the answer cannot go stale; a run that does not exist is never remembered, and
the permission itself is still read from the auth store on every request.

The caller's user row and grants are read once per request (RequestMemoStore in front of MLflow's
auth store): MLflow asks for them several times in one request, a round trip each. Nothing is kept
beyond the request, and any call that may change users or grants empties what was kept.

A run answer that names no logged model is not parsed again by MLflow's redaction of model links
(ModelLinkPrecheck): there is nothing in it to withhold. Concurrent checks of one password share one
scrypt computation (CredentialCheckFlight) when MLflow's credential cache has forgotten it.
"""

import hmac
import ipaddress
import json
import logging
import os
import secrets
import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Mapping, Optional, Union

from flask import Response, g, has_app_context, make_response, request
from iap_verify import KEYS_URL, Audience, KeySet, Rejected, verify
from werkzeug.datastructures import Authorization

HEADER = "x-goog-iap-jwt-assertion"

_log = logging.getLogger("mlflow_gke.iap_auth")


class Settings:
    """What the server's environment says (charts/mlflow/auth.ts renders it)."""

    def __init__(self, env: Mapping[str, str]):
        self.enabled = env.get("IAP_ENABLED", "false") == "true"
        self.project_number = env.get("IAP_PROJECT_NUMBER", "")
        self.backend_service_id = env.get("IAP_BACKEND_SERVICE_ID", "")
        self.trusted_peers = [ipaddress.ip_network(c.strip()) for c in env.get("IAP_TRUSTED_PEERS", "").split(",") if c.strip()]
        self.keys_url = env.get("IAP_KEYS_URL", KEYS_URL)
        self.keys_ttl = float(env.get("IAP_KEYS_TTL_SECONDS", "3600"))
        self.service_routes: dict[str, list[str]] = json.loads(env.get("MLFLOW_SERVICE_ROUTES", "{}"))
        self.default_experiment_permission = env.get("DEFAULT_EXPERIMENT_PERMISSION", "")
        self.personal_experiment_prefix = env.get("PERSONAL_EXPERIMENT_PREFIX", "")

    def audience(self, peer_known: bool) -> Audience:
        """What `aud` must be: the pinned backend service, or (peer from the load balancer only) any of the project."""
        return Audience(self.project_number, self.backend_service_id, any_backend=peer_known)

    def trusted(self, peer: Optional[str]) -> bool:
        """Whether a request from `peer` may carry a token: the load balancer's ranges, or no peer (FastAPI bridge) with a pinned audience."""
        if not self.enabled or not self.project_number:
            return False
        if peer is None:
            return bool(self.backend_service_id)
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in network for network in self.trusted_peers)

    def allowed(self, username: str, path: str, method: str) -> bool:
        """Whether a platform account may use this route (other users are not limited here)."""
        routes = self.service_routes.get(username)
        if routes is None:
            return True
        return method in ("GET", "HEAD") and any(path.startswith(r) if r.endswith("/") else path == r for r in routes)


_settings: Optional[Settings] = None
_keys: Optional[KeySet] = None
_known_users: dict[str, float] = {}
# Users whose personal experiment and grant this process has seen in place: not looked up again.
_personal_ready: set[str] = set()
KNOWN_USER_SECONDS = 60


RUN_REQUIREMENT_CACHE_SIZE = 20000


class RunRequirementCache:
    """
    MLflow's _run_requirement(run_id, action), remembered per run and action: it returns the run's
    experiment as the anchor and the requirements built from it, or None for a run that does not exist
    (mlflow/server/auth/__init__.py at 3.17.0). The experiment of a run never changes, so neither does
    the answer. Callers append to the requirement list (_validate_can_update_run_and_models), so each
    call gets a list of its own.
    """

    def __init__(self, original: Callable[[str, str], Any], size: int = RUN_REQUIREMENT_CACHE_SIZE):
        self.original = original
        self.size = size
        # Least recently used first; Flask handlers run on a thread pool, hence the lock.
        self._cache: "OrderedDict[tuple[str, str], tuple[Any, tuple[Any, ...]]]" = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, run_id: str, action: str) -> Any:
        key = (run_id, action)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
        if hit is None:
            resolved = self.original(run_id, action)
            if resolved is None:
                return None
            anchor, requirements = resolved
            hit = (anchor, tuple(requirements))
            with self._lock:
                self._cache[key] = hit
                while len(self._cache) > self.size:
                    self._cache.popitem(last=False)
        return hit[0], list(hit[1])


def install_run_requirement_cache(auth: Any) -> bool:
    """Puts RunRequirementCache in front of auth._run_requirement once; False where the release has none."""
    original = getattr(auth, "_run_requirement", None)
    if original is None:
        return False
    if not isinstance(original, RunRequirementCache):
        auth._run_requirement = RunRequirementCache(original)
        _log.info("run requirement cache installed (%d runs)", RUN_REQUIREMENT_CACHE_SIZE)
    return True


# The auth store's reads that MLflow repeats within one request: a search-runs reads the caller's
# user four times (sender_is_admin in _before_request, in filter_experiment_ids and in the after-request
# redaction, and for the read predicate's list_grants), each a database round trip
# (mlflow/server/auth/__init__.py at 3.17.0).
REQUEST_MEMO_READS = frozenset({"get_user", "list_grants"})
# Methods that only read (mlflow/server/auth/sqlalchemy_store.py at 3.17.0: get_*, list_*, has_*,
# is_*, user_has_*, authenticate_user); any other call may change users or grants and empties the memo.
_READ_PREFIXES = ("get_", "list_", "has_", "is_", "user_has_", "authenticate_")
_MEMO_KEY = "mlflow_gke_store_memo"


class _Flight:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: Any = None
        self.error: Optional[BaseException] = None


class CredentialCheckFlight:
    """
    MLflow's password check (store.authenticate_user: werkzeug's scrypt, about 100 ms of CPU), shared by
    the calls that ask about the same credential while a check of it is under way. MLflow's credential
    cache (auth_cache_ttl_seconds) forgets a credential after its time, and then every request of that
    caller in flight at that moment checks the hash on its own: eight concurrent callers of one account
    cost a worker 0.8 s of CPU at each expiry. Here the first call checks and the others wait for its
    answer. Nothing is kept once the check is done, so this answers no call that did not arrive while
    the check was running; a different password or user is a different check (keyed by an HMAC of the
    password with a per-process key, as MLflow's own cache is).
    """

    def __init__(self, check: Callable[..., Any]):
        self.check = check
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._flights: dict = {}

    def __call__(self, username: str, password: str, **kwargs: Any) -> Any:
        digest = hmac.new(self._key, password.encode("utf-8"), "sha256").digest()
        key = (username, digest, tuple(sorted(kwargs.items())))
        with self._lock:
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            return flight.result
        try:
            flight.result = self.check(username, password, **kwargs)
        except BaseException as error:
            flight.error = error
            raise
        finally:
            with self._lock:
                self._flights.pop(key, None)
            flight.done.set()
        return flight.result


def _frozen(value: Any) -> Any:
    return frozenset(value) if isinstance(value, (set, frozenset)) else value


class RequestMemoStore:
    """
    MLflow's auth store, with get_user and list_grants remembered for the rest of the request that
    made them (in flask.g, which each request and each FastAPI bridge context has of its own). Nothing
    outlives the request, so a change made by another request is seen by the next one, as without the
    memo; a change made in this request (a call to any method that is not a read) empties the memo at
    once. Failures are not remembered; outside a request every call goes straight to the store. Its
    password checks go through one CredentialCheckFlight per process.
    """

    def __init__(self, store: Any):
        object.__setattr__(self, "_store", store)
        # Looks the store's method up at each check, so the flight follows the store it stands for.
        object.__setattr__(self, "_credential_flight", CredentialCheckFlight(lambda *args, **kwargs: store.authenticate_user(*args, **kwargs)))

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._store, name)
        if not callable(attribute):
            return attribute
        if name == "authenticate_user":
            return self._credential_flight
        if name in REQUEST_MEMO_READS:
            return lambda *args, **kwargs: self._remembered(name, attribute, args, kwargs)
        if name.startswith(_READ_PREFIXES):
            return attribute

        def changing(*args: Any, **kwargs: Any) -> Any:
            # The store's own methods call each other, not this proxy: only the reads after the change matter.
            try:
                return attribute(*args, **kwargs)
            finally:
                self._forget()

        return changing

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._store, name, value)

    @staticmethod
    def _memo() -> Optional[dict]:
        if not has_app_context():
            return None
        memo = g.get(_MEMO_KEY)
        if memo is None:
            memo = {}
            setattr(g, _MEMO_KEY, memo)
        return memo

    @staticmethod
    def _forget() -> None:
        if has_app_context():
            g.pop(_MEMO_KEY, None)

    def _remembered(self, name: str, method: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
        memo = self._memo()
        key = (name, tuple(_frozen(a) for a in args), tuple(sorted((k, _frozen(v)) for k, v in kwargs.items())))
        try:
            hash(key)
        except TypeError:
            memo = None
        if memo is None:
            return method(*args, **kwargs)
        if key not in memo:
            memo[key] = method(*args, **kwargs)
        found = memo[key]
        # Callers get a list of their own, as from the store.
        return list(found) if isinstance(found, list) else found


def install_request_memo(auth: Any) -> bool:
    """Puts RequestMemoStore in front of auth.store once (MLflow's functions read the module's `store` at each call)."""
    store = getattr(auth, "store", None)
    if store is None:
        return False
    if not isinstance(store, RequestMemoStore):
        auth.store = RequestMemoStore(store)
    return True


# The fields through which a run's answer names a logged model (mlflow/protos/service.proto at 3.17.0:
# RunInputs.model_inputs, RunOutputs.model_outputs, Metric.model_id), as keys of MLflow's JSON answers:
# message_to_json keeps the proto field names (mlflow/utils/proto_json_utils.py, MessageToDict with
# preserving_proto_field_name=True) and json writes a key as its plain text in quotes.
MODEL_LINK_KEYS = (b'"model_inputs"', b'"model_outputs"', b'"model_id"')


class ModelLinkPrecheck:
    """
    MLflow's after-request redaction of a run answer (get-run, search-runs: _redact_run_response), run
    only when the answer can hold a link to a logged model. For a caller who is not an admin, MLflow
    parses every such answer into protobuf again (about a tenth of a search-runs' CPU) to clear the links
    of models the caller may not see, and changes nothing when no run has model inputs or outputs and no
    metric a model id (_withhold_denied_run_model_links). A JSON answer in which none of those keys
    appears is therefore left as it is without parsing; any other answer (another media type, an encoded
    or streamed body) goes to MLflow's function, which decides as before.
    """

    def __init__(self, original: Callable[[Any], Any]):
        self.original = original

    def __call__(self, resp: Any) -> Any:
        if resp.mimetype == "application/json" and not resp.is_streamed and "Content-Encoding" not in resp.headers:
            body = resp.get_data()
            if not any(key in body for key in MODEL_LINK_KEYS):
                return None
        return self.original(resp)


# MLflow's after-request handlers of run answers that ModelLinkPrecheck goes in front of.
RUN_REDACTIONS = ("redact_get_run_model_links", "redact_search_runs_model_links")


def install_model_link_precheck(auth: Any) -> int:
    """Puts ModelLinkPrecheck in front of RUN_REDACTIONS in auth.AFTER_REQUEST_HANDLERS once; the routes it covers."""
    handlers = getattr(auth, "AFTER_REQUEST_HANDLERS", None)
    if not isinstance(handlers, dict):
        return 0
    wrapped = {}
    for name in RUN_REDACTIONS:
        original = getattr(auth, name, None)
        if original is not None:
            wrapped[original] = ModelLinkPrecheck(original)
    covered = 0
    for route, handler in list(handlers.items()):
        if isinstance(handler, ModelLinkPrecheck):
            covered += 1
        elif handler in wrapped:
            handlers[route] = wrapped[handler]
            covered += 1
    return covered


# The write fence (charts/mlflow/shared.py FENCE_TABLE, FENCE_QUERY) and the database's revision, in one query.
FENCE_QUERY = (
    "SELECT (SELECT version_num FROM alembic_version), "
    "EXISTS (SELECT 1 FROM pg_class WHERE relname = 'mlflow_gke_migration' AND relnamespace = 'public'::regnamespace)"
)
# How long a process trusts its last reading: the migration waits FENCE_SETTLE_SECONDS (5) before its backup.
FENCE_CHECK_SECONDS = 1.0
WRITE_METHODS = frozenset(["POST", "PUT", "PATCH", "DELETE"])
# MLflow's POST routes that only read (mlflow@v3.17.0 mlflow/server/handlers.py get_endpoints): the
# searches, and these two.
READ_ONLY_POSTS = frozenset(["get-latest-versions", "calculate-filter-correlation"])


def is_write(method: str, path: str) -> bool:
    """Whether a request may change the metadata database: a state-changing method on MLflow's REST API."""
    if method not in WRITE_METHODS or not path.startswith(("/api/", "/ajax-api/")):
        return False
    last = path.rstrip("/").rsplit("/", 1)[-1]
    return not (last.startswith("search") or last in READ_ONLY_POSTS)


class WriteFence:
    """
    Whether this process may write now: not while the fence table exists, and not when the database's
    tracking revision is not the one this image expects (`head`). `read` answers (revision, fenced);
    a reading is trusted for FENCE_CHECK_SECONDS, so a busy worker asks the database once a second.
    A reading that fails lets the request through: the request then meets the same database.
    """

    def __init__(self, head: str, read: Callable[[], "tuple[Optional[str], bool]"], clock: Callable[[], float] = time.monotonic):
        self._head = head
        self._read = read
        self._clock = clock
        self._lock = threading.Lock()
        self._at: Optional[float] = None
        self._state: "tuple[Optional[str], bool]" = (head, False)

    def refusal(self) -> Optional[str]:
        with self._lock:
            now = self._clock()
            if self._at is None or now - self._at >= FENCE_CHECK_SECONDS:
                try:
                    self._state = self._read()
                except Exception as error:
                    _log.warning("write fence not readable (%s): writes let through", error)
                    self._state = (self._head, False)
                self._at = now
            revision, fenced = self._state
        if fenced:
            return "MLflow is being upgraded: writes are stopped until the schema migration has run; reads are served. Retry in a minute."
        if revision != self._head:
            return (
                "this MLflow server expects schema revision %s and the database is at %s: it serves reads only; "
                "the servers of the new version take writes once they are ready. Retry in a minute." % (self._head, revision)
            )
        return None


_fence: Optional[WriteFence] = None


def _read_fence() -> "tuple[Optional[str], bool]":
    import sqlalchemy  # pyright: ignore[reportMissingImports]

    with _tracking_store().engine.connect() as connection:
        revision, fenced = connection.execute(sqlalchemy.text(FENCE_QUERY)).one()
    return revision, bool(fenced)


def _write_fence() -> WriteFence:
    global _fence
    if _fence is None:
        from mlflow.store.db.utils import _get_latest_schema_revision  # pyright: ignore[reportMissingImports]

        _fence = WriteFence(_get_latest_schema_revision(), _read_fence)
    return _fence


def _state() -> "tuple[Settings, KeySet]":
    global _settings, _keys
    if _settings is None or _keys is None:
        _settings = Settings(os.environ)
        _keys = KeySet(_settings.keys_url, _settings.keys_ttl)
        # Here, at the first request, and not at import: MLflow imports this module while its own
        # auth module is still loading.
        if not install_run_requirement_cache(_mlflow_auth()):
            _log.warning("this MLflow has no _run_requirement: run permission checks load the whole run")
        install_request_memo(_mlflow_auth())
        if not install_model_link_precheck(_mlflow_auth()):
            _log.warning("this MLflow has no run redaction to put the model link precheck in front of")
    return _settings, _keys


def _mlflow_auth() -> Any:
    """mlflow.server.auth, imported when first needed: it imports this module's caller."""
    from mlflow.server import auth  # pyright: ignore[reportMissingImports]

    return auth


def _tracking_store() -> Any:
    """The server's tracking store (mlflow/server/handlers.py _get_tracking_store), imported when first needed."""
    from mlflow.server.handlers import _get_tracking_store  # pyright: ignore[reportMissingImports]

    return _get_tracking_store()


def _error_code(error: Exception) -> str:
    return str(getattr(error, "error_code", ""))


def ensure_personal_experiment(username: str, settings: Settings, tracking: Any, auth_store: Any) -> Optional[str]:
    """
    The person's experiment PERSONAL_EXPERIMENT_PREFIX + username, made if missing, with MANAGE for
    them; its id. Race-safe across workers and replicas: experiment names are unique in the tracking
    database, so a concurrent create fails with RESOURCE_ALREADY_EXISTS
    (mlflow@v3.17.0:mlflow/store/tracking/sqlalchemy_store.py create_experiment), and so does a
    concurrent grant (mlflow@v3.17.0:mlflow/server/auth/sqlalchemy_store.py
    grant_user_resource_permission): both mean done.
    """
    if not settings.personal_experiment_prefix:
        return None
    name = settings.personal_experiment_prefix + username
    experiment = tracking.get_experiment_by_name(name)
    if experiment is None:
        try:
            experiment_id = str(tracking.create_experiment(name))
            _log.info("created the experiment %s of %s", name, username)
        except Exception as error:
            if _error_code(error) != "RESOURCE_ALREADY_EXISTS":
                raise
            experiment = tracking.get_experiment_by_name(name)
            if experiment is None:
                raise
            experiment_id = str(experiment.experiment_id)
    else:
        experiment_id = str(experiment.experiment_id)
    try:
        auth_store.grant_user_resource_permission(username, "experiment", experiment_id, "MANAGE")
    except Exception as error:
        # Granted already: by an earlier sign-in, another worker, or the provisioning Job.
        if _error_code(error) != "RESOURCE_ALREADY_EXISTS":
            raise
    return experiment_id


def ensure_user(username: str, settings: Settings) -> None:
    """Create the MLflow user of a Google identity on its first sign-in (the FastAPI bridge and sender_is_admin need it to exist), and its experiment."""
    seen = _known_users.get(username)
    if seen is not None and time.time() - seen < KNOWN_USER_SECONDS:
        return
    store = _mlflow_auth().store
    if not store.has_user(username):
        try:
            # A password nobody knows: this user signs in through IAP; an admin may set one for Basic use.
            store.create_user(username, secrets.token_urlsafe(32))
        except Exception:
            # Another worker created it at the same moment (the admin bootstrap handles the same race).
            if not store.has_user(username):
                raise
        else:
            _log.info("created MLflow user %s at its first sign-in through IAP", username)
            # NO_PERMISSIONS is no grant (permissions.py RESOURCE_GRANTABLE_PERMISSIONS excludes it).
            if settings.default_experiment_permission not in ("", "NO_PERMISSIONS"):
                try:
                    store.grant_user_resource_permission(username, "experiment", "0", settings.default_experiment_permission)
                except Exception as error:
                    _log.warning("could not grant %s on the Default experiment to %s: %s", settings.default_experiment_permission, username, error)
    try:
        if username not in _personal_ready:
            ensure_personal_experiment(username, settings, _tracking_store(), store)
            _personal_ready.add(username)
    except Exception as error:
        # The sign-in still works; the next request out of the cache tries again.
        _log.warning("could not make the personal experiment of %s: %s", username, error)
        return
    _known_users[username] = time.time()


_EXPERIMENT_NAMING_ROUTES = {
    # route suffix -> the body field that names the experiment (mlflow/protos/service.proto
    # CreateExperiment.name, UpdateExperiment.new_name), under /api/2.0/ and /ajax-api/2.0/.
    "/mlflow/experiments/create": "name",
    "/mlflow/experiments/update": "new_name",
}


def reserved_name_refused(username: str, settings: Settings) -> bool:
    """Whether this request names an experiment in another person's reserved space (users/<other>)."""
    prefix = settings.personal_experiment_prefix
    if not prefix or request.method != "POST":
        return False
    field = next((f for suffix, f in _EXPERIMENT_NAMING_ROUTES.items() if request.path.endswith(suffix)), None)
    if field is None:
        return False
    body = request.get_json(force=True, silent=True)
    name = body.get(field) if isinstance(body, dict) else None
    if not isinstance(name, str):
        return False
    # MLflow keeps the name as sent (no stripping or case folding), so the comparison is exact.
    if not name.startswith(prefix) or name == prefix + username:
        return False
    # Admins (the provisioning Job) make anyone's.
    return not _mlflow_auth().store.get_user(username).is_admin


def _iap_user(settings: Settings, keys: KeySet) -> Optional[str]:
    token = request.headers.get(HEADER)
    if not token or not settings.trusted(request.remote_addr):
        return None
    try:
        claims = verify(token, keys, settings.audience(request.remote_addr is not None))
    except Rejected as why:
        _log.warning("IAP token refused (%s) for %s %s from %s", why, request.method, request.path, request.remote_addr)
        return None
    return str(claims["email"]).lower()


def authenticate() -> Union[Authorization, Response]:
    cached = g.get("mlflow_gke_auth")
    if cached is not None:
        return cached
    settings, keys = _state()
    email = _iap_user(settings, keys)
    result: Union[Authorization, Response]
    if email is not None:
        ensure_user(email, settings)
        result = Authorization("basic", {"username": email})
    else:
        result = _mlflow_auth().authenticate_request_basic_auth()
    if isinstance(result, Authorization) and not settings.allowed(result.username or "", request.path, request.method):
        result = make_response("Permission denied", 403)
    elif isinstance(result, Authorization) and reserved_name_refused(result.username or "", settings):
        result = make_response("Permission denied: experiment names under %s are the personal experiments of their users" % settings.personal_experiment_prefix, 403)
    if isinstance(result, Authorization) and is_write(request.method, request.path):
        refusal = _write_fence().refusal()
        if refusal is not None:
            result = make_response(refusal, 503)
            result.headers["Retry-After"] = "30"
    g.mlflow_gke_auth = result
    return result
