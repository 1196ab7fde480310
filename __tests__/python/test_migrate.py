"""The migration Job (charts/mlflow/migrate.py): what it does with the database it finds, and how it
waits for the Cloud SQL grant."""
import os
import tempfile
import unittest

import pod
import sqladmin_fake
import world

# The object the backup gate's upload records (charts/postgres/storage.sh upload, BACKUP_RECORD_FILE).
DUMP_URL = "gs://backups/backups/mlflow-db/mlflow/20261207T220000Z-mlflow-migrate-abc.dump"


def gated(state: world.World, env: dict[str, str], dump_taken: bool = True) -> pod.Exit:
    """The statefulset migration pod: the plan, then (when planned) the dump and upload, then the migration."""
    with tempfile.TemporaryDirectory() as folder:
        env = {
            **env,
            "BACKUP_GATE": "statefulset",
            "BACKUP_PLAN_FILE": os.path.join(folder, "plan"),
            "BACKUP_RECORD_FILE": os.path.join(folder, "record"),
        }
        plan = pod.run("backup_plan", state, env)
        if plan.code != 0:
            return plan
        if dump_taken and os.path.exists(env["BACKUP_PLAN_FILE"]):
            with open(env["BACKUP_RECORD_FILE"], "w") as record:
                record.write(DUMP_URL + "\n")
        r = pod.run("migrate", state, env)
        return pod.Exit(r.code, plan.log + r.log, r.world)

# The auth tables' upgrade, after the tracking schema's: `python -m mlflow.server.auth db upgrade --url`
# (MLflow docs, basic-http-auth.mdx "Permissions Database"; mlflow/server/auth/db/cli.py).
AUTH = ["python", "-m", "mlflow.server.auth", "db", "upgrade", "--url", pod.URI]

GIVE_UP = (
    "[mlflow-gke] giving up after 300s: database user mlflow-server@proj.iam still lacks USAGE and CREATE on schema "
    "public; run the Cloud SQL grant (charts/mlflow/cloudsql-grant.sql, docs/mlflow.md), then delete this Job and apply again"
)


def run(state: world.World, env: dict[str, str]) -> pod.Exit:
    """The migration with its backup gate passing: cloudsql mode's, against an Admin API whose backups are done at once
    (test_migrate_backup.py tests the gate itself)."""
    state.sqladmin = state.sqladmin or sqladmin_fake.FakeSqlAdmin(done_at_poll=0)
    return pod.run("migrate", state, {**sqladmin_fake.ENV, **env})


def migrate(grant_wait_seconds: int = 2700, **db: object) -> pod.Exit:
    state = world.World(db=world.Database(**db))  # type: ignore[arg-type]
    return run(state, {"GRANT_WAIT_SECONDS": str(grant_wait_seconds)})


class MigrationDecision(unittest.TestCase):
    def test_empty_database_gets_the_schema_created(self):
        r = migrate()
        self.assertEqual(r.code, 0, r.log)
        self.assertTrue(r.world.db.initialized)
        self.assertEqual(r.world.db.current, "head0001")
        self.assertEqual(r.world.commands, [AUTH])
        self.assertIn("[mlflow-gke] empty database: creating the MLflow schema", r.log)
        self.assertIn("[mlflow-gke] schema migrated to head0001", r.log)

    def test_older_revision_is_upgraded_with_mlflow_db_upgrade(self):
        r = migrate(current="old00001", tables=30)
        self.assertEqual(r.code, 0, r.log)
        # mlflow/db.py: `mlflow db upgrade URL` (click argument "url").
        self.assertEqual(r.world.commands, [["mlflow", "db", "upgrade", pod.URI], AUTH])
        self.assertFalse(r.world.db.initialized)
        self.assertIn("[mlflow-gke] running mlflow db upgrade", r.log)

    def test_tables_without_a_revision_are_upgraded_not_created(self):
        # Only a database without MLflow tables is created from scratch.
        r = migrate(current=None, tables=5)
        self.assertEqual(r.code, 0, r.log)
        self.assertEqual(r.world.commands, [["mlflow", "db", "upgrade", pod.URI], AUTH])
        self.assertFalse(r.world.db.initialized)

    def test_schema_at_head_needs_nothing_but_the_auth_upgrade_not_even_the_privilege_check(self):
        # A database from before authentication was turned on gets its auth tables on the next run.
        r = migrate(current="head0001", tables=30, granted_at_check=None)
        self.assertEqual(r.code, 0, r.log)
        self.assertEqual(r.world.db.privilege_checks, 0)
        self.assertEqual(r.world.commands, [AUTH])
        self.assertIn("[mlflow-gke] nothing to migrate", r.log)
        self.assertIn("[mlflow-gke] auth tables at their head", r.log)

    def test_failed_auth_upgrade_fails_the_job(self):
        for current in ["head0001", "old00001", None]:
            state = world.World(db=world.Database(current=current, tables=30 if current else 0), auth_upgrade_exit=4)
            r = run(state, {"GRANT_WAIT_SECONDS": "60"})
            self.assertEqual(r.code, 4, current)
            self.assertIn("[mlflow-gke] the auth database upgrade failed with exit code 4", r.log)

    def test_failed_tracking_upgrade_leaves_the_auth_tables_alone(self):
        state = world.World(db=world.Database(current="old00001", tables=30), upgrade_exit=3)
        r = run(state, {"GRANT_WAIT_SECONDS": "60"})
        self.assertEqual(r.world.commands, [["mlflow", "db", "upgrade", pod.URI]])

    def test_unknown_revision_is_refused_without_waiting(self):
        r = migrate(current="future01", tables=30, granted_at_check=None)
        self.assertEqual(r.code, 1)
        self.assertEqual((r.world.db.privilege_checks, r.world.commands, r.world.sleeps), (0, [], []))
        self.assertIn("database revision future01 is unknown to this MLflow image: refusing to touch it", r.log)

    def test_failed_upgrade_fails_the_job_with_its_exit_status(self):
        state = world.World(db=world.Database(current="old00001", tables=30), upgrade_exit=3)
        r = run(state, {"GRANT_WAIT_SECONDS": "60"})
        self.assertEqual(r.code, 3)
        self.assertIn("[mlflow-gke] mlflow db upgrade failed with exit code 3", r.log)

    def test_upgrade_that_stops_short_of_head_fails_the_job(self):
        state = world.World(db=world.Database(current="old00001", tables=30), upgrade_moves_schema=False)
        r = run(state, {"GRANT_WAIT_SECONDS": "60"})
        self.assertEqual(r.code, 1)
        self.assertIn("[mlflow-gke] after the migration the schema is at old00001, not head0001", r.log)

    def test_unreachable_database_is_retried_before_deciding(self):
        r = migrate(refused_connections=2)
        self.assertEqual(r.code, 0, r.log)
        self.assertEqual(r.world.sleeps, [5, 5])
        self.assertTrue(r.world.db.initialized)


class CloudSqlGrantWait(unittest.TestCase):
    # A Cloud SQL IAM user may not create tables in schema public until charts/mlflow/cloudsql-grant.sql
    # has run ("permission denied for schema public"; __tests__/live/cloudsql-grant.test.ts).

    def test_asks_for_both_privileges_of_the_connected_user(self):
        r = migrate()
        self.assertEqual(
            r.world.db.queries,
            [
                "SELECT current_user, has_schema_privilege('public', 'USAGE') AND has_schema_privilege('public', 'CREATE')",
                # After the first install: whether an earlier Job left the write fence up.
                "SELECT count(*) FROM pg_class WHERE relname = 'mlflow_gke_migration' AND relnamespace = 'public'::regnamespace",
            ],
        )

    def test_no_privilege_then_granted_migrates_after_growing_pauses(self):
        r = migrate(granted_at_check=4)
        self.assertEqual(r.code, 0, r.log)
        self.assertEqual(r.world.sleeps, [5, 10, 20])
        self.assertEqual(r.world.db.privilege_checks, 4)
        self.assertTrue(r.world.db.initialized)
        waiting = r.lines("lacks USAGE and CREATE on schema public")
        self.assertEqual(len(waiting), 3)
        self.assertEqual(
            waiting[0],
            '[mlflow-gke] database user mlflow-server@proj.iam lacks USAGE and CREATE on schema public (a migration would '
            'fail with "permission denied for schema public"): waiting for the Cloud SQL grant, next check in 5s',
        )

    def test_upgrade_waits_for_the_grant_too(self):
        r = migrate(current="old00001", tables=30, granted_at_check=2)
        self.assertEqual(r.code, 0, r.log)
        # The write fence's settling time (shared.py FENCE_SETTLE_SECONDS), then the grant's pause.
        self.assertEqual(r.world.sleeps, [5, 5])
        self.assertTrue(r.world.db.upgraded)

    def test_pause_doubles_up_to_one_minute(self):
        r = migrate(granted_at_check=10)
        self.assertEqual(r.code, 0, r.log)
        self.assertEqual(r.world.sleeps, [5, 10, 20, 40, 60, 60, 60, 60, 60])

    def test_gives_up_within_grant_wait_seconds_and_says_what_to_do(self):
        r = migrate(grant_wait_seconds=300, granted_at_check=None)
        self.assertEqual(r.code, 1)
        self.assertEqual(r.world.sleeps, [5, 10, 20, 40, 60, 60, 60])
        self.assertLessEqual(r.world.now, 300)
        self.assertIn(GIVE_UP, r.log)
        # The database was never touched.
        self.assertEqual((r.world.db.initialized, r.world.db.upgraded, r.world.db.current, r.world.commands), (False, False, None, []))


if __name__ == "__main__":
    unittest.main()


# cloudsql mode: the Job's own IAM user acts as the owner role of charts/mlflow/cloudsql-grant.sql.
CLOUDSQL = {"DB_OWNER_ROLE": "mlflow_owner", "DB_WRITER_ROLE": "mlflow_writer", "DB_HANDOVER_FROM": "mlflow-server@proj.iam"}
OWNER_GRANTS = [
    'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "mlflow_writer"',
    'GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO "mlflow_writer"',
    'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "mlflow_writer"',
    'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO "mlflow_writer"',
]
REVOKE = 'REVOKE "mlflow_owner" FROM "mlflow-server@proj.iam"'


def cloudsql(state: world.World, wait: str = "2700") -> pod.Exit:
    return run(state, {"GRANT_WAIT_SECONDS": wait, **CLOUDSQL})


class CloudSqlOwnership(unittest.TestCase):
    def test_first_install_waits_for_the_grant_then_creates_the_schema_as_the_owner_role(self):
        state = world.World(db=world.Database(user="mlflow-migrate@proj.iam", owner_granted_at_check=3))
        r = cloudsql(state)
        self.assertEqual(r.code, 0, r.log)
        self.assertEqual(r.world.sleeps, [5, 10])
        self.assertEqual(
            len(r.lines("database user mlflow-migrate@proj.iam lacks membership in mlflow_owner, with USAGE and CREATE on schema public")), 2
        )
        # Nothing to take over: only the REVOKE that clears a membership an interrupted run lent, as
        # itself; then, as the owner role, the writer's DML on what exists and on what comes.
        self.assertEqual([(s, o) for _, s, o in r.world.db.statements], [(REVOKE, None)] + [(g, "-c role=mlflow_owner") for g in OWNER_GRANTS])
        self.assertTrue(r.world.db.initialized)
        self.assertIn("[mlflow-gke] acting as mlflow_owner; mlflow_writer may read and write every table", r.log)
        self.assertNotIn("lending", r.log)

    def test_upgrade_lends_the_server_the_owner_role_until_its_pod_handed_its_tables_over(self):
        state = world.World(db=world.Database(current="head0001", tables=30, server_owned=42))

        def server_pod_hands_over(w: world.World) -> None:
            if len(w.sleeps) == 2:
                w.db.server_owned = 0

        state.on_sleep = server_pod_hands_over
        r = cloudsql(state)
        self.assertEqual(r.code, 0, r.log)
        self.assertEqual([s for _, s, _ in r.world.db.statements][:2], ['GRANT "mlflow_owner" TO "mlflow-server@proj.iam"', REVOKE])
        self.assertIn("[mlflow-gke] mlflow-server@proj.iam still owns 42 relations: lending it mlflow_owner so that its pod hands them over", r.log)
        self.assertEqual(len(r.lines("waiting for the server's pod to hand 42 relations of mlflow-server@proj.iam over to mlflow_owner")), 2)
        self.assertIn("[mlflow-gke] mlflow_owner owns the tables now", r.log)
        # The schema was at its head: the auth upgrade only, as the owner role.
        self.assertIn("[mlflow-gke] nothing to migrate", r.log)
        self.assertEqual(r.world.commands, [AUTH])

    def test_a_hand_over_that_never_comes_fails_the_job_and_says_where_to_look(self):
        state = world.World(db=world.Database(current="old00001", tables=30, server_owned=7))
        r = cloudsql(state, wait="60")
        self.assertEqual(r.code, 1)
        self.assertIn("giving up after 60s: mlflow-server@proj.iam still owns 7 relations", r.log)
        # Nothing migrated, and the membership stays lent only until the next run's REVOKE.
        self.assertEqual(r.world.commands, [])
        self.assertEqual([s for _, s, _ in r.world.db.statements], ['GRANT "mlflow_owner" TO "mlflow-server@proj.iam"'])


class BackupGate(unittest.TestCase):
    """statefulset mode: nothing changes before a verified backup of the database as it is (migrate.py backup_gate)."""

    def test_an_upgrade_runs_only_after_the_planned_backup_was_recorded(self):
        r = gated(world.World(db=world.Database(current="old00001", tables=30)), {"GRANT_WAIT_SECONDS": "60"})
        self.assertEqual(r.code, 0, r.log)
        change = "tracking old00001 -> head0001, auth auth0001 -> auth0001"
        self.assertIn("[mlflow-gke] the migration will change the schema (%s): a backup comes first" % change, r.log)
        self.assertIn("[mlflow-gke] backup taken and verified before the migration: %s (%s)" % (DUMP_URL, change), r.log)
        self.assertEqual(r.world.commands[0], ["mlflow", "db", "upgrade", pod.URI])

    def test_no_recorded_backup_refuses_before_touching_anything(self):
        r = gated(world.World(db=world.Database(current="old00001", tables=30)), {"GRANT_WAIT_SECONDS": "60"}, dump_taken=False)
        self.assertEqual(r.code, 1)
        self.assertEqual((r.world.commands, r.world.db.current, r.world.db.privilege_checks), ([], "old00001", 0))
        self.assertIn(
            "[mlflow-gke] refusing to migrate without a verified backup: the schema is to change "
            "(tracking old00001 -> head0001, auth auth0001 -> auth0001) and no backup was recorded",
            r.log,
        )

    def test_auth_tables_behind_alone_need_a_backup_too(self):
        for auth_current in ["auth0000", None]:
            state = world.World(db=world.Database(current="head0001", tables=30, auth_current=auth_current))
            r = gated(state, {"GRANT_WAIT_SECONDS": "60"}, dump_taken=False)
            self.assertEqual((r.code, r.world.commands), (1, []), auth_current)
            self.assertIn("auth %s -> auth0001) and no backup was recorded" % auth_current, r.log)

    def test_a_current_schema_or_an_empty_database_plans_no_backup_and_waits_for_none(self):
        for db in [world.Database(current="head0001", tables=30), world.Database(current=None, tables=0)]:
            r = gated(world.World(db=db), {"GRANT_WAIT_SECONDS": "60"}, dump_taken=False)
            self.assertEqual(r.code, 0, r.log)
            self.assertIn("[mlflow-gke] schema current (or database empty): no backup needed", r.log)
            self.assertNotIn("backup taken", r.log)
            self.assertEqual(r.world.sleeps, [])

    def test_an_unknown_revision_plans_no_backup_and_is_refused(self):
        r = gated(world.World(db=world.Database(current="future01", tables=30)), {"GRANT_WAIT_SECONDS": "60"})
        self.assertEqual((r.code, r.world.commands), (1, []))
        self.assertIn("[mlflow-gke] schema current (or database empty): no backup needed", r.log)
        self.assertIn("database revision future01 is unknown to this MLflow image: refusing to touch it", r.log)

    def test_a_backup_of_other_revisions_vouches_for_nothing(self):
        # The plan was made at old00000; the database has moved on since (another migration).
        with tempfile.TemporaryDirectory() as folder:
            env = {
                "GRANT_WAIT_SECONDS": "60",
                "BACKUP_GATE": "statefulset",
                "BACKUP_PLAN_FILE": os.path.join(folder, "plan"),
                "BACKUP_RECORD_FILE": os.path.join(folder, "record"),
            }
            for name, line in [("plan", "tracking old00000 -> head0001, auth auth0001 -> auth0001"), ("record", DUMP_URL)]:
                with open(os.path.join(folder, name), "w") as handle:
                    handle.write(line + "\n")
            r = pod.run("migrate", world.World(db=world.Database(current="old00001", tables=30)), env)
        self.assertEqual((r.code, r.world.commands), (1, []))
        self.assertIn(
            "refusing to migrate without a verified backup: the schema is to change (tracking old00001 -> head0001, auth auth0001 -> auth0001), "
            "but the backup gate planned (tracking old00000 -> head0001, auth auth0001 -> auth0001)",
            r.log,
        )

    def test_without_a_gate_a_change_is_refused(self):
        r = pod.run("migrate", world.World(db=world.Database(current="old00001", tables=30)), {"GRANT_WAIT_SECONDS": "60"})
        self.assertEqual((r.code, r.world.commands), (1, []))
        self.assertIn("refusing to migrate without a verified backup: the schema is to change", r.log)
        self.assertIn("and BACKUP_GATE is None", r.log)


class WriteFence(unittest.TestCase):
    """Writers stop before the backup and resume once both schemas are at their head (shared.py raise_fence, lower_fence)."""

    def test_the_plan_raises_the_fence_before_the_dump_and_the_migration_lowers_it_at_head(self):
        r = gated(world.World(db=world.Database(current="old00001", tables=30)), {"GRANT_WAIT_SECONDS": "60"})
        self.assertEqual(r.code, 0, r.log)
        self.assertEqual(r.world.db.fence_history, [True, True, False])
        self.assertFalse(r.world.db.fence)
        self.assertEqual(r.world.sleeps[0], 5)  # every server sees the fence before the dump
        raised = r.log.index("[mlflow-gke] writes stopped for the migration (tracking old00001 -> head0001")
        self.assertLess(raised, r.log.index("backup taken and verified"))
        self.assertLess(r.log.index("schema migrated to head0001"), r.log.index("[mlflow-gke] writes allowed again: both schemas are at their head"))

    def test_a_failed_migration_keeps_writes_stopped(self):
        state = world.World(db=world.Database(current="old00001", tables=30), upgrade_exit=3)
        r = gated(state, {"GRANT_WAIT_SECONDS": "60"})
        self.assertEqual(r.code, 3)
        self.assertTrue(r.world.db.fence)
        self.assertIn("writes stay stopped until a migration succeeds", r.log)

    def test_a_refused_migration_changed_nothing_and_lowers_the_fence_again(self):
        r = gated(world.World(db=world.Database(current="old00001", tables=30)), {"GRANT_WAIT_SECONDS": "60"}, dump_taken=False)
        self.assertEqual(r.code, 1)
        self.assertEqual(r.world.db.fence_history, [True, True, False])
        self.assertIn("writes allowed again: the migration did not start, and nothing changed", r.log)

    def test_a_current_schema_never_stops_writes(self):
        r = gated(world.World(db=world.Database(current="head0001", tables=30)), {"GRANT_WAIT_SECONDS": "60"})
        self.assertEqual((r.code, r.world.db.fence_history, r.world.sleeps), (0, [], []))

    def test_a_fence_left_by_an_earlier_job_comes_down_once_the_schema_is_at_head(self):
        r = gated(world.World(db=world.Database(current="head0001", tables=30, fence=True)), {"GRANT_WAIT_SECONDS": "60"})
        self.assertEqual((r.code, r.world.db.fence), (0, False), r.log)
