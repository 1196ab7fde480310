"""The token check shared by MLflow and the workspaces' proxy (charts/mlflow/iap_verify.py), on google-auth."""
from __future__ import annotations

import json
import unittest
from typing import Any, Optional

from iap_tokens import AUDIENCE, BACKEND, KEY, KEYS, KEYS_URL, NOW, OTHER_KEY, PROJECT_NUMBER, Clock, Fetches, b64url, claims, frozen_time, iap_verify, keyset, new_key, pem, token
from cryptography.hazmat.primitives.asymmetric import ec

PINNED = iap_verify.Audience(PROJECT_NUMBER, BACKEND)
UNPINNED = iap_verify.Audience(PROJECT_NUMBER)


def check(jwt: str, audience: Any = PINNED, keys: Optional[Any] = None, now: float = NOW) -> dict[str, Any]:
    with frozen_time(now):
        return iap_verify.verify(jwt, keys or keyset(), audience)


class TokenChecks(unittest.TestCase):
    def refused(self, jwt: str, why: str, **kwargs: Any) -> None:
        with self.assertRaises(iap_verify.Rejected) as raised:
            check(jwt, **kwargs)
        self.assertIn(why, str(raised.exception))

    def test_a_token_iap_signed_for_the_pinned_backend_is_accepted(self):
        self.assertEqual(check(token())["email"], "Ana@Example.com")

    def test_forged_signature_is_refused(self):
        # Signed with another key under a key id of the published set.
        self.refused(token(key=OTHER_KEY), "Could not verify token signature")

    def test_altered_payload_is_refused(self):
        header, _, signature = token().split(".")
        altered = b64url(json.dumps(claims(email="mallory@example.com")).encode())
        self.refused(header + "." + altered + "." + signature, "Could not verify token signature")

    def test_unknown_key_id_is_refused(self):
        self.refused(token(kid="not-a-google-key"), "not one of IAP's keys")

    def test_a_token_without_key_id_is_refused_rather_than_tried_on_every_key(self):
        # google-auth checks a token without kid against every key it is given (google/auth/jwt.py decode).
        self.refused(token(kid=None), "no key id")

    def test_only_es256_is_accepted(self):
        unsigned = b64url(json.dumps({"alg": "none", "kid": "key-1"}).encode()) + "." + b64url(json.dumps(claims()).encode()) + "."
        self.refused(unsigned, "is not ES256")
        # google-auth alone would take RS256 (its _ALGORITHM_TO_VERIFIER_CLASS).
        self.refused(token(alg="RS256"), "is not ES256")
        self.refused(token(alg="HS256"), "is not ES256")

    def test_expired_token_is_refused_after_the_30_s_skew(self):
        self.refused(token(exp=NOW - 31, iat=NOW - 600), "expired")
        self.assertEqual(check(token(exp=NOW - 29, iat=NOW - 600))["email"], "Ana@Example.com")

    def test_token_issued_in_the_future_is_refused_after_the_skew(self):
        self.refused(token(iat=NOW + 31, exp=NOW + 600), "too early")
        check(token(iat=NOW + 29, exp=NOW + 600))

    def test_lifetime_beyond_10_minutes_plus_twice_the_skew_is_refused(self):
        self.refused(token(iat=NOW - 10, exp=NOW - 10 + 661), "lifetime")
        check(token(iat=NOW - 10, exp=NOW - 10 + 660))

    def test_missing_times_are_refused(self):
        self.refused(token(exp=None), "exp")
        self.refused(token(iat=None), "iat")

    def test_wrong_issuer_is_refused(self):
        self.refused(token(iss="https://accounts.google.com"), "issuer")
        self.refused(token(iss=None), "issuer")

    def test_foreign_audience_is_refused(self):
        # Another backend of the same project (a workspace's, or MLflow's for a workspace), another project, App Engine's form.
        self.refused(token(aud="/projects/%s/global/backendServices/99" % PROJECT_NUMBER), "wrong audience")
        self.refused(token(aud="/projects/999999999999/global/backendServices/%s" % BACKEND), "wrong audience")
        self.refused(token(aud="/projects/%s/apps/mlflow-gke-example" % PROJECT_NUMBER), "wrong audience")

    def test_until_the_id_is_pinned_any_backend_of_the_project_passes(self):
        other_backend = token(aud="/projects/%s/global/backendServices/99" % PROJECT_NUMBER)
        self.assertEqual(check(other_backend, audience=UNPINNED)["email"], "Ana@Example.com")
        self.refused(other_backend, "audience", audience=iap_verify.Audience(PROJECT_NUMBER, any_backend=False))
        self.refused(token(aud="/projects/999999999999/global/backendServices/99"), "audience", audience=UNPINNED)
        self.refused(token(aud="/projects/%s/global/backendServices/" % PROJECT_NUMBER), "audience", audience=UNPINNED)
        self.refused(token(aud="/projects/%s/global/backendServices/1x" % PROJECT_NUMBER), "audience", audience=UNPINNED)
        self.refused(token(), "audience", audience=iap_verify.Audience(""))

    def test_a_token_without_email_is_refused(self):
        self.refused(token(email=None), "no email")
        self.refused(token(email="mlflow-gke-metrics"), "no email")

    def test_garbage_is_refused(self):
        self.refused("a.b", "undecodable")
        self.refused("!!!.###.$$$", "undecodable")
        self.refused("", "undecodable")

    def test_the_audience_helper_matches_the_pinned_id_exactly(self):
        self.assertEqual(PINNED.exact, AUDIENCE)
        self.assertIsNone(UNPINNED.exact)
        self.assertFalse(PINNED.accepts(AUDIENCE + "0"))
        self.assertFalse(PINNED.accepts(None))


class KeyCache(unittest.TestCase):
    def test_keys_are_fetched_once_and_reused(self):
        fetches = Fetches()
        keys = iap_verify.KeySet(KEYS_URL, 3600, fetch=fetches, clock=Clock())
        for _ in range(5):
            check(token(), keys=keys)
        self.assertEqual(fetches.urls, [KEYS_URL])

    def test_keys_are_fetched_again_after_their_lifetime(self):
        clock = Clock()
        fetches = Fetches()
        keys = iap_verify.KeySet("u", 3600, fetch=fetches, clock=clock)
        keys.get("key-1")
        clock.now += 3599
        keys.get("key-1")
        clock.now += 1
        keys.get("key-1")
        self.assertEqual(len(fetches.urls), 2)

    def test_a_rotated_key_is_fetched_when_a_token_names_it(self):
        # IAP rotates its keys: a token signed with a key published after the last fetch.
        new = new_key()
        clock = Clock()
        fetches = Fetches(KEYS, {**KEYS, "key-3": pem(new)})
        keys = iap_verify.KeySet(KEYS_URL, 3600, fetch=fetches, clock=clock)
        check(token(), keys=keys)
        clock.now += 60
        self.assertEqual(check(token(key=new, kid="key-3", iat=NOW, exp=NOW + 600), keys=keys, now=NOW + 60)["email"], "Ana@Example.com")
        self.assertEqual(len(fetches.urls), 2)

    def test_unknown_key_ids_fetch_at_most_every_30_s(self):
        clock = Clock()
        fetches = Fetches()
        keys = iap_verify.KeySet("u", 3600, fetch=fetches, clock=clock)
        for i in range(20):
            with self.assertRaises(iap_verify.Rejected):
                check(token(kid="made-up-%d" % i), keys=keys)
            clock.now += 1
        self.assertEqual(len(fetches.urls), 1)
        clock.now += 30
        keys.get("made-up")
        self.assertEqual(len(fetches.urls), 2)

    def test_an_unreachable_key_server_trusts_no_token(self):
        keys = keyset(OSError("connection refused"))
        with self.assertRaises(iap_verify.Rejected):
            check(token(), keys=keys)

    def test_only_p256_keys_of_the_set_count(self):
        document = {"key-1": pem(KEY), "p384": pem(new_key(ec.SECP384R1())), "broken": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "number": 7}
        self.assertEqual(sorted(iap_verify.p256_keys(document)), ["key-1"])
        self.assertEqual(iap_verify.p256_keys(["not", "a", "set"]), {})
        self.assertEqual(iap_verify.p256_keys({"keys": [{"kty": "EC"}]}), {})

    def test_the_default_key_source_is_googles_pem_set(self):
        self.assertEqual(iap_verify.KeySet().url, "https://www.gstatic.com/iap/verify/public_key")


if __name__ == "__main__":
    unittest.main()
