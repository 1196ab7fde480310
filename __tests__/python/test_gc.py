"""The garbage-collection CronJob (charts/mlflow/gc.py): the `mlflow gc` command it builds, and when
it does not run it."""
import unittest
import urllib.error

import pod
import world

GC_ENV = {"GC_OLDER_THAN": "30d", "MLFLOW_TRACKING_URI": pod.TRACKING_URI, "MLFLOW_TRACKING_SERVER_CERT_PATH": pod.CA_FILE}


def gc(state: world.World) -> pod.Exit:
    return pod.run("gc", state, GC_ENV)


def at_head(**kwargs: object) -> world.World:
    return world.World(db=world.Database(current="head0001", tables=30), **kwargs)  # type: ignore[arg-type]


class GcCommand(unittest.TestCase):
    def test_arguments(self):
        r = gc(at_head())
        self.assertEqual(r.code, 0, r.log)
        # mlflow/cli/__init__.py gc(): --older-than "#d#h#m#s", --backend-store-uri the database; the
        # tracking URI comes from MLFLOW_TRACKING_URI (the --tracking-uri default), and
        # --artifacts-destination does not apply to proxied mlflow-artifacts: URIs.
        self.assertEqual(r.world.commands, [["mlflow", "gc", "--older-than", "30d", "--backend-store-uri", pod.URI]])
        self.assertIn("[mlflow-gke] running mlflow gc --older-than 30d through " + pod.TRACKING_URI, r.log)

    def test_exit_status_is_gcs(self):
        r = gc(at_head(gc_exit=2))
        self.assertEqual(r.code, 2)

    def test_waits_for_the_tracking_server_health(self):
        refused = urllib.error.URLError("Connection refused")
        r = gc(at_head(health=[refused, 503, refused, 200]))
        self.assertEqual(r.code, 0, r.log)
        self.assertEqual(r.world.health_requests, [pod.TRACKING_URI + "/health"] * 4)
        self.assertEqual(r.world.sleeps, [5, 5, 5])
        self.assertEqual(len(r.world.commands), 1)

    def test_health_is_asked_over_tls_checked_against_the_platform_ca(self):
        # The server serves HTTPS with a certificate of the platform CA; urllib verifies it against the
        # mounted CA bundle, never against the system store or not at all.
        r = gc(at_head())
        self.assertEqual(r.code, 0, r.log)
        self.assertEqual(r.world.ca_files, [pod.CA_FILE])
        self.assertTrue(pod.TRACKING_URI.startswith("https://"))
        self.assertEqual([getattr(c, "cafile", None) for c in r.world.health_contexts], [pod.CA_FILE])

    def test_no_healthy_server_no_gc(self):
        r = gc(at_head(health=[urllib.error.URLError("Connection refused")]))
        self.assertEqual(r.code, 1)
        self.assertEqual(r.world.commands, [])
        self.assertLessEqual(r.world.now, 605)
        self.assertIn("[mlflow-gke] tracking server %s/health not healthy after 600s" % pod.TRACKING_URI, r.log)

    def test_a_server_that_answers_but_not_200_is_not_healthy(self):
        # 204 raises nothing in urllib, yet is not the 200 that /health answers.
        r = gc(at_head(health=[204]))
        self.assertEqual(r.code, 1)
        self.assertEqual(r.world.commands, [])
        self.assertIn("[mlflow-gke] tracking server %s/health not healthy after 600s: status 204" % pod.TRACKING_URI, r.log)

    def test_schema_not_at_head_skips_gc(self):
        r = gc(world.World(db=world.Database(current="old00001", tables=30)))
        self.assertEqual(r.code, 1)
        self.assertEqual((r.world.commands, r.world.health_requests), ([], []))
        self.assertIn("database schema at old00001 but this MLflow expects head0001: skipping gc until the migration has run", r.log)


if __name__ == "__main__":
    unittest.main()


class GcDuringAMigration(unittest.TestCase):
    def test_a_raised_write_fence_skips_the_run(self):
        state = at_head()
        state.db.fence = True
        r = gc(state)
        self.assertEqual((r.code, r.world.commands), (1, []))
        self.assertIn("[mlflow-gke] a schema migration is under way (writes stopped): skipping this gc run", r.log)
