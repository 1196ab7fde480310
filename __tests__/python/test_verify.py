"""The post-deploy verification Job (charts/mlflow/verify.py): it talks to the tracking server only
once /health answers 200, and fails within its deadline when it never does."""
import unittest
import urllib.error

import pod
import world

ENV = {"MLFLOW_TRACKING_URI": pod.TRACKING_URI, "MLFLOW_TRACKING_SERVER_CERT_PATH": pod.CA_FILE}


class HealthWait(unittest.TestCase):
    def test_a_server_that_answers_but_not_200_fails_the_job_after_300_s(self):
        # 204 raises nothing in urllib, yet is not the 200 that /health answers.
        r = pod.run("verify", world.World(health=[204]), ENV)
        self.assertEqual(r.code, 1)
        self.assertGreater(r.world.now, 300)
        self.assertLessEqual(r.world.now, 303)
        self.assertIn("tracking server at %s not healthy after 300s: status 204" % pod.TRACKING_URI, r.log)
        self.assertEqual(r.world.tracking_uris, [])

    def test_health_is_asked_over_tls_checked_against_the_platform_ca(self):
        r = pod.run("verify", world.World(health=[204]), ENV)
        self.assertEqual(r.world.ca_files, [pod.CA_FILE])
        self.assertEqual({getattr(c, "cafile", None) for c in r.world.health_contexts}, {pod.CA_FILE})

    def test_an_unreachable_server_fails_the_job_with_the_last_error(self):
        r = pod.run("verify", world.World(health=[urllib.error.URLError("Connection refused")]), ENV)
        self.assertEqual(r.code, 1)
        self.assertIn("not healthy after 300s: <urlopen error Connection refused>", r.log)
        self.assertEqual(len(r.world.health_requests), len(r.world.sleeps) + 1)
        self.assertEqual(set(r.world.sleeps), {3})


class AuthenticationIsOn(unittest.TestCase):
    def test_a_request_without_credentials_must_be_refused_with_401(self):
        r = pod.run("verify", world.World(health=[200, 401]), ENV)
        self.assertIn("[mlflow-verify] PASS anonymous request refused: status 401", r.log)
        self.assertEqual(r.world.health_requests[1], pod.TRACKING_URI + "/api/2.0/mlflow/experiments/search?max_results=1")

    def test_a_server_that_answers_without_credentials_fails_the_check(self):
        for answer, detail in [(200, "answered 200 without credentials"), (403, "status 403")]:
            r = pod.run("verify", world.World(health=[200, answer]), ENV)
            self.assertEqual(r.code, 1)
            self.assertIn("[mlflow-verify] FAIL anonymous request refused: " + detail, r.log)


if __name__ == "__main__":
    unittest.main()
