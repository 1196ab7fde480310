"""
Keys and tokens as IAP makes them, for the tests of the token check (charts/mlflow/iap_verify.py) and
of its users (iap_auth.py, the workspaces' proxy).

Made here with `cryptography` (ECDSA P-256, as IAP signs: ES256). What IAP's tokens look like, per
https://cloud.google.com/iap/docs/signed-headers-howto: header alg ES256 and a kid of the key set at
https://www.gstatic.com/iap/verify/public_key ({kid: PEM}); payload iss
"https://cloud.google.com/iap", aud "/projects/PROJECT_NUMBER/global/backendServices/SERVICE_ID" for
GKE, exp in the future and iat in the past each with 30 seconds of skew, a lifetime of at most
10 minutes + 2 * skew, and the user's email. The clock google-auth reads (google.auth._helpers.utcnow,
which google/auth/jwt.py _verify_iat_and_exp calls) is set to NOW by `frozen_time`.
"""
from __future__ import annotations

import base64
import contextlib
import datetime
import importlib.util
import json
import os
import sys
from typing import Any, Iterator, Optional
from unittest import mock

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))


def load(module: str, path: str) -> Any:
    """A module of the charts loaded from its file under its own name, as the pods' PYTHONPATH finds it."""
    if module not in sys.modules:
        spec = importlib.util.spec_from_file_location(module, os.path.join(ROOT, path))
        assert spec and spec.loader
        sys.modules[module] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[module])
    return sys.modules[module]


iap_verify = load("iap_verify", "charts/mlflow/iap_verify.py")

PROJECT_NUMBER = "123456789012"
BACKEND = "4242424242424242424"
AUDIENCE = "/projects/%s/global/backendServices/%s" % (PROJECT_NUMBER, BACKEND)
NOW = 1_800_000_000.0
KEYS_URL = "https://www.gstatic.com/iap/verify/public_key"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_key(curve: ec.EllipticCurve = ec.SECP256R1()) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(curve)


def pem(key: ec.EllipticCurvePrivateKey) -> str:
    """A public key the way Google's PEM set lists it."""
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def sign(key: ec.EllipticCurvePrivateKey, header: dict[str, Any], claims: dict[str, Any]) -> str:
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    r, s = decode_dss_signature(key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256())))
    return signing_input + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def claims(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "aud": AUDIENCE,
        "email": "Ana@Example.com",
        "exp": NOW + 540,
        "iat": NOW - 60,
        "iss": "https://cloud.google.com/iap",
        "sub": "accounts.google.com:1234567890",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


KEY = new_key()
OTHER_KEY = new_key()
KEYS = {"key-1": pem(KEY), "key-2": pem(new_key())}


def token(key: ec.EllipticCurvePrivateKey = KEY, kid: Optional[str] = "key-1", alg: str = "ES256", **overrides: Any) -> str:
    header = {"alg": alg, "typ": "JWT", **({"kid": kid} if kid is not None else {})}
    return sign(key, header, claims(**overrides))


class Fetches:
    """The key server: answers with `documents` in turn (the last repeats) and counts the requests."""

    def __init__(self, *documents: Any):
        self.documents = list(documents) or [KEYS]
        self.urls: list[str] = []

    def __call__(self, url: str) -> Any:
        self.urls.append(url)
        answer = self.documents[min(len(self.urls), len(self.documents)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer


class Clock:
    def __init__(self, now: float = NOW):
        self.now = now

    def __call__(self) -> float:
        return self.now


def keyset(*documents: Any, clock: Optional[Clock] = None) -> Any:
    return iap_verify.KeySet(KEYS_URL, 3600, fetch=Fetches(*documents), clock=clock or Clock())


@contextlib.contextmanager
def frozen_time(now: float = NOW) -> Iterator[None]:
    """google-auth's clock at `now`."""
    moment = datetime.datetime.fromtimestamp(now, tz=datetime.timezone.utc).replace(tzinfo=None)
    with mock.patch("google.auth._helpers.utcnow", lambda: moment):
        yield
