"""The migration's backup gate in cloudsql mode (charts/mlflow/migrate.py, BACKUP_GATE=cloudsql): an
on-demand Cloud SQL backup through the Admin API, as the backup account, waited for and verified
before anything changes; every failure is one refusal line and a failed Job."""
import unittest

import pod
import world
from sqladmin_fake import API, BACKUP_ACCOUNT, ENV, INSTANCE, INSTANCE_PATH, POD, PROJECT, FakeSqlAdmin

AUTH = ["python", "-m", "mlflow.server.auth", "db", "upgrade", "--url", pod.URI]
UPGRADE = ["mlflow", "db", "upgrade", pod.URI]
CHANGE = "tracking old00001 -> head0001, auth auth0001 -> auth0001"
REFUSAL = "[mlflow-gke] refusing to migrate without a verified backup: the schema is to change (%s) and " % CHANGE


def migrate(api: FakeSqlAdmin, env: "dict[str, str] | None" = None, **db: object) -> pod.Exit:
    state = world.World(db=world.Database(**{"current": "old00001", "tables": 30, **db}))
    state.sqladmin = api
    return pod.run("migrate", state, {"GRANT_WAIT_SECONDS": "60", **ENV, **(env or {})})


class CloudSqlBackupGate(unittest.TestCase):
    def test_backup_is_taken_polled_and_verified_before_the_upgrade(self):
        api = FakeSqlAdmin(done_at_poll=3)
        r = migrate(api)
        self.assertEqual(r.code, 0, r.log)
        run = API + INSTANCE_PATH + "/backupRuns"
        self.assertEqual(
            [(m, u) for m, u, _, _ in r.world.sqladmin_requests],
            [("POST", run)] + [("GET", API + "/projects/%s/operations/op-42" % PROJECT)] * 3 + [("GET", run + "/1733612345678")],
        )
        # The description names the pod and the change, so the backup says why it exists.
        self.assertEqual(r.world.sqladmin_requests[0][2], {"description": "mlflow-gke pre-migration backup, pod %s: %s" % (POD, CHANGE)})
        # Growing pauses, then the upgrade only after the verified backup.
        # The write fence's settling time (shared.py FENCE_SETTLE_SECONDS), then the growing pauses.
        self.assertEqual(r.world.sleeps, [5, 5, 10, 20])
        self.assertEqual(r.world.commands, [UPGRADE, AUTH])
        self.assertIn(
            "[mlflow-gke] backup taken and verified before the migration: backup 1733612345678 of Cloud SQL instance %s (%s)" % (INSTANCE, CHANGE), r.log
        )

    def test_every_call_goes_out_as_the_backup_account_impersonated_through_the_pods_own_identity(self):
        r = migrate(FakeSqlAdmin())
        self.assertEqual(r.code, 0, r.log)
        self.assertEqual({p for _, _, _, p in r.world.sqladmin_requests}, {BACKUP_ACCOUNT})
        # The Admin API's scope for the backup account (backupRuns.insert, "Authorization Scopes"); the
        # pod's own credentials ask cloud-platform, which the IAM Credentials API accepts.
        self.assertEqual(
            r.world.google_credentials,
            [
                ("default", ["https://www.googleapis.com/auth/cloud-platform"]),
                ("impersonated", BACKUP_ACCOUNT, ["https://www.googleapis.com/auth/sqlservice.admin"], ["https://www.googleapis.com/auth/cloud-platform"]),
            ],
        )

    def test_without_a_backup_context_the_run_is_found_by_its_description(self):
        r = migrate(FakeSqlAdmin(backup_context=False))
        self.assertEqual(r.code, 0, r.log)
        self.assertEqual([m + " " + u for m, u, _, _ in r.world.sqladmin_requests][-2:], ["GET " + API + INSTANCE_PATH + "/backupRuns", "GET " + API + INSTANCE_PATH + "/backupRuns/1733612345678"])
        self.assertIn("backup taken and verified before the migration: backup 1733612345678", r.log)

    def test_a_failed_operation_refuses_with_googles_errors(self):
        r = migrate(FakeSqlAdmin(operation_error={"kind": "sql#operationErrors", "errors": [{"code": "INTERNAL_ERROR", "message": "disk full"}]}))
        self.assertEqual(r.code, 1)
        self.assertEqual(r.lines("refusing"), [REFUSAL + "the backup (operation op-42) failed: INTERNAL_ERROR: disk full"])
        self.assertEqual(r.world.commands, [])

    def test_an_operation_never_done_refuses_within_the_wait(self):
        r = migrate(FakeSqlAdmin(done_at_poll=None), env={"BACKUP_WAIT_SECONDS": "120"})
        self.assertEqual(r.code, 1)
        self.assertEqual(r.world.sleeps, [5, 5, 10, 20, 30, 30])
        self.assertLessEqual(r.world.now, 120)
        self.assertEqual(r.lines("refusing"), [REFUSAL + "the backup (operation op-42) was still RUNNING after 120s"])
        self.assertEqual(r.world.commands, [])

    def test_a_backup_run_that_is_not_successful_refuses(self):
        for status in ["FAILED", "RUNNING", "DELETED"]:
            r = migrate(FakeSqlAdmin(run_status=status))
            self.assertEqual(r.code, 1, status)
            self.assertEqual(r.lines("refusing"), [REFUSAL + "backup run 1733612345678 of instance %s is %s, not SUCCESSFUL" % (INSTANCE, status)])
            self.assertEqual(r.world.commands, [])

    def test_a_denied_backup_refuses_with_the_http_status_and_googles_message(self):
        message = "The client is not authorized to make this request."
        r = migrate(FakeSqlAdmin(insert_status=403, insert_message=message))
        self.assertEqual(r.code, 1)
        self.assertEqual(r.lines("refusing"), [REFUSAL + "POST %s%s/backupRuns answered HTTP 403: %s" % (API, INSTANCE_PATH, message)])
        # Only the write fence's settling time; it comes down again, as nothing changed.
        self.assertEqual((r.world.commands, r.world.sleeps, r.world.db.fence_history), ([], [5], [True, True, False]))

    def test_credentials_that_cannot_be_had_refuse_in_one_line(self):
        state = world.World(db=world.Database(current="old00001", tables=30), google_default_error=RuntimeError("no metadata server\nmore"))
        state.sqladmin = FakeSqlAdmin()
        r = pod.run("migrate", state, {"GRANT_WAIT_SECONDS": "60", **ENV})
        self.assertEqual(r.code, 1)
        self.assertEqual(r.lines("refusing"), [REFUSAL + "the backup failed: no metadata server"])
        self.assertEqual(r.world.sqladmin_requests, [])

    def test_the_auth_tables_alone_behind_also_need_the_backup(self):
        r = migrate(FakeSqlAdmin(), current="head0001", auth_current="auth0000")
        self.assertEqual(r.code, 0, r.log)
        self.assertIn("(tracking head0001 -> head0001, auth auth0000 -> auth0001)", r.log)
        self.assertEqual(r.world.sqladmin_requests[0][0], "POST")

    def test_no_backup_and_no_request_when_nothing_changes_or_nothing_is_there(self):
        for db in [dict(current="head0001"), dict(current=None, tables=0), dict(current="future01")]:
            r = migrate(FakeSqlAdmin(), **db)
            self.assertEqual(r.world.sqladmin_requests, [], db)
            self.assertEqual(r.world.google_credentials, [], db)
            self.assertNotIn("backup", r.log, db)

    def test_the_api_url_seam_replaces_the_base_url(self):
        seam = "http://127.0.0.1:8089/sql/v1"
        r = migrate(FakeSqlAdmin(base=seam), env={"SQLADMIN_API_URL": seam})
        self.assertEqual(r.code, 0, r.log)
        self.assertTrue(all(u.startswith(seam + "/projects/") for _, u, _, _ in r.world.sqladmin_requests))


class UnknownGate(unittest.TestCase):
    def test_a_schema_change_without_a_known_gate_refuses(self):
        for gate in [None, "", "cloud-sql"]:
            state = world.World(db=world.Database(current="old00001", tables=30))
            env = {"GRANT_WAIT_SECONDS": "60", **({"BACKUP_GATE": gate} if gate is not None else {})}
            r = pod.run("migrate", state, env)
            self.assertEqual(r.code, 1)
            self.assertEqual(r.lines("refusing"), [REFUSAL + "BACKUP_GATE is %r" % gate])
            self.assertEqual(r.world.commands, [])


if __name__ == "__main__":
    unittest.main()
