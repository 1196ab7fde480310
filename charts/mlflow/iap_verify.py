"""
The check of IAP's signed header (x-goog-iap-jwt-assertion), shared by MLflow's authorization function
(iap_auth.py, which imports this file from the same ConfigMap folder) and the verifying proxy in front
of every workspace (charts/workspaces/iap_proxy.py, which runs as this file's part followed by its own,
one `python -c` text: charts/workspaces/iap-proxy.ts).

The signature, expiry and audience checks are google-auth's, the library Google's IAP samples use
(GoogleCloudPlatform/python-docs-samples@a1ec949:iap/validate_jwt.py: id_token.verify_token(iap_jwt,
requests.Request(), audience=..., certs_url="https://www.gstatic.com/iap/verify/public_key")). Read
at google-auth 2.63.1, the version python/requirements.lock pins (it comes with mlflow-skinny through
databricks-sdk, so the MLflow image has it):

- google/oauth2/id_token.py verify_token fetches the key document on every call (`certs =
  _fetch_certs(request, certs_url)`, no cache), so the keys are cached here (KeySet) and handed to it
  through its `request` argument;
- a JWK set ({"keys": [...]}, the public_key-jwk document) takes the pyjwt branch (`import jwt as
  jwt_lib`), and pyjwt is not installed with MLflow (it is not in the lock), and that branch ignores
  clock_skew_in_seconds; the PEM document (public_key, {kid: PEM}) takes google.auth.jwt.decode, which
  verifies ES256 with cryptography (google/auth/jwt.py: _ALGORITHM_TO_VERIFIER_CLASS["ES256"] =
  es.EsVerifier; google/auth/crypt/es.py EsVerifier.verify: the raw r||s signature, 64 bytes for
  P-256, checked with ECDSA over SHA-256), checks iat and exp with the given skew (_verify_iat_and_exp)
  and `aud` against the audience given. Both documents carry the same keys
  (https://cloud.google.com/iap/docs/signed-headers-howto: "available in two different formats").

On top, the rules of that page that google-auth leaves to its caller: header alg ES256 and a kid of
IAP's set (google-auth would take RS256, and every key when the token names none), issuer
https://cloud.google.com/iap, "Allow for 30 seconds of skew", "The maximum lifetime of a token is
10 minutes + 2 * skew", an `email`; and the audience, /projects/NUMBER/global/backendServices/ID,
pinned to one backend service once its id is known (Audience).
"""
# ---- the pod runs what follows ----
import json, logging, threading, time, urllib.request
from typing import Any, Callable, Mapping, Optional

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from google.auth import exceptions  # pyright: ignore[reportMissingImports]
from google.auth import jwt  # pyright: ignore[reportMissingImports]
from google.oauth2 import id_token  # pyright: ignore[reportMissingImports]

ISSUER = "https://cloud.google.com/iap"
# IAP's public keys, {key id: PEM public key} (the signed-headers page, "Verifying the JWT header").
KEYS_URL = "https://www.gstatic.com/iap/verify/public_key"
SKEW_SECONDS = 30
MAX_LIFETIME_SECONDS = 600 + 2 * SKEW_SECONDS
# A token naming an unknown key makes one fetch at most this often, so made-up key ids cannot turn
# every request into a download.
MIN_REFETCH_SECONDS = 30

_verify_log = logging.getLogger("mlflow_gke.iap_verify")


class Rejected(Exception):
    """Why a token was not accepted (logged, never shown to the caller)."""


def p256_keys(document: Any) -> dict[str, str]:
    """The entries of a {kid: PEM} document that are P-256 public keys, the only kind ES256 uses."""
    keys: dict[str, str] = {}
    for kid, pem in document.items() if isinstance(document, dict) else []:
        if not isinstance(kid, str) or not isinstance(pem, str):
            continue
        try:
            key = serialization.load_pem_public_key(pem.encode("ascii"))
        except (ValueError, TypeError, UnicodeEncodeError):
            continue
        if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
            keys[kid] = pem
    return keys


def fetch_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


class KeySet:
    """IAP's keys: fetched when first needed, again after `ttl` seconds, or for an unknown key id at most every MIN_REFETCH_SECONDS."""

    def __init__(self, url: str = KEYS_URL, ttl: float = 3600, fetch: Optional[Callable[[str], Any]] = None, clock: Callable[[], float] = time.time):
        self.url = url
        self.ttl = ttl
        self.fetch = fetch or fetch_json
        self.clock = clock
        self.keys: dict[str, str] = {}
        self.fetched_at: Optional[float] = None
        self.lock = threading.Lock()

    def _refresh(self) -> None:
        self.fetched_at = self.clock()
        try:
            self.keys = p256_keys(self.fetch(self.url))
        except Exception as error:  # an unreachable key server: no token is trusted until it answers
            _verify_log.warning("could not fetch the IAP keys from %s: %s", self.url, str(error) or type(error).__name__)

    def get(self, kid: str) -> Optional[str]:
        with self.lock:
            now = self.clock()
            stale = self.fetched_at is None or now - self.fetched_at >= self.ttl
            unknown = kid not in self.keys and (self.fetched_at is None or now - self.fetched_at >= MIN_REFETCH_SECONDS)
            if stale or unknown:
                self._refresh()
            return self.keys.get(kid)


class _KeyResponse:
    """What id_token.verify_token reads of its transport's answer (google.auth.transport.Response: status, data)."""

    def __init__(self, keys: Mapping[str, str]):
        self.status = 200
        self.headers: dict[str, str] = {"content-type": "application/json"}
        self.data = json.dumps(dict(keys)).encode("utf-8")


class _CachedKeys:
    """A google.auth.transport.Request that answers the key URL with the one cached key the token names."""

    def __init__(self, url: str, kid: str, pem: str):
        self.url, self.kid, self.pem = url, kid, pem

    def __call__(self, url: str, method: str = "GET", body: Any = None, headers: Any = None, timeout: Any = None, **kwargs: Any) -> _KeyResponse:
        if url != self.url or method != "GET":
            raise exceptions.TransportError("only the IAP key URL is served here, not %s %s" % (method, url))
        return _KeyResponse({self.kid: self.pem})


class Audience:
    """
    What `aud` must be: /projects/<project_number>/global/backendServices/<backend_service_id> once the
    id is pinned; before, any backend service of the project when `any_backend` allows it, else none.
    """

    def __init__(self, project_number: str, backend_service_id: str = "", any_backend: bool = True):
        self.prefix = "/projects/%s/global/backendServices/" % project_number
        self.project_number = project_number
        self.backend_service_id = backend_service_id
        self.any_backend = any_backend

    @property
    def exact(self) -> Optional[str]:
        return self.prefix + self.backend_service_id if self.backend_service_id else None

    def accepts(self, aud: Any) -> bool:
        if not isinstance(aud, str) or not self.project_number:
            return False
        if self.backend_service_id:
            return aud == self.exact
        return self.any_backend and aud.startswith(self.prefix) and aud[len(self.prefix) :].isdigit()


def verify(token: str, keys: KeySet, audience: Audience) -> dict[str, Any]:
    """The claims of an IAP token that passes every check; Rejected otherwise."""
    try:
        header = jwt.decode_header(token)
    except (exceptions.GoogleAuthError, ValueError, TypeError) as error:
        raise Rejected("undecodable token: %s" % error)
    if header.get("alg") != "ES256":
        raise Rejected("alg %r is not ES256" % header.get("alg"))
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise Rejected("no key id")
    pem = keys.get(kid)
    if pem is None:
        raise Rejected("key id %r is not one of IAP's keys" % kid)
    try:
        claims = dict(id_token.verify_token(token, _CachedKeys(keys.url, kid, pem), audience=audience.exact, certs_url=keys.url, clock_skew_in_seconds=SKEW_SECONDS))
    except (exceptions.GoogleAuthError, ValueError, TypeError) as error:
        # google-auth's words: "Could not verify token signature.", "Token expired, ...",
        # "Token used too early, ...", "Token has wrong audience ...", "... required claim ...".
        raise Rejected(str(error) or type(error).__name__)
    if claims.get("iss") != ISSUER:
        raise Rejected("issuer %r" % claims.get("iss"))
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, (int, float)) or not isinstance(iat, (int, float)):
        raise Rejected("no exp or iat")
    if not 0 < exp - iat <= MAX_LIFETIME_SECONDS:
        raise Rejected("lifetime %ss" % (exp - iat))
    if not audience.accepts(claims.get("aud")):
        raise Rejected("audience %r" % claims.get("aud"))
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise Rejected("no email")
    return claims
