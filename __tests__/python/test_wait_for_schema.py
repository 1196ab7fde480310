"""The server's init container (charts/mlflow/wait_for_schema.py): it lets the server start only on
the schema revision its image expects."""
import unittest

import pod
import world


def waiting(**db: object) -> world.World:
    return world.World(db=world.Database(**db))  # type: ignore[arg-type]


class SchemaWait(unittest.TestCase):
    def test_current_schema_starts_the_server_at_once(self):
        r = pod.run("wait_for_schema", waiting(current="head0001", tables=30))
        self.assertEqual(r.code, 0, r.log)
        self.assertEqual(r.world.sleeps, [])
        self.assertIn("[mlflow-gke] database schema at head0001 and auth tables at auth0001, as this MLflow expects; the server may start", r.log)

    def test_schema_behind_waits_for_the_migration_job_every_10_s(self):
        state = waiting(current="old00001", tables=30)

        def migration_job_finishes(w: world.World) -> None:
            if len(w.sleeps) == 3:
                w.db.migrate_to_head()

        state.on_sleep = migration_job_finishes
        r = pod.run("wait_for_schema", state)
        self.assertEqual(r.code, 0, r.log)
        self.assertEqual(r.world.sleeps, [10, 10, 10])
        self.assertEqual(len(r.lines("waiting for the migration Job: database schema at old00001, this MLflow needs head0001")), 3)
        self.assertIn("the server may start", r.log)

    def test_empty_database_waits_for_the_migration_job(self):
        state = waiting(current=None, tables=0)
        state.on_sleep = lambda w: w.db.migrate_to_head()
        r = pod.run("wait_for_schema", state)
        self.assertEqual(r.code, 0, r.log)
        self.assertEqual(r.world.sleeps, [10])
        self.assertEqual(len(r.lines("waiting for the migration Job")), 1)

    def test_unknown_revision_fails_without_waiting(self):
        # A newer MLflow migrated the database: this image must never serve it.
        r = pod.run("wait_for_schema", waiting(current="future01", tables=30))
        self.assertEqual(r.code, 1)
        self.assertEqual(r.world.sleeps, [])
        self.assertIn(
            "database schema revision future01 is unknown to this MLflow image (a newer MLflow migrated it); "
            "MLflow schema downgrades are not supported: deploy that newer image again",
            r.log,
        )

    def test_unreachable_database_is_retried_every_5_s(self):
        r = pod.run("wait_for_schema", waiting(current="head0001", tables=30, refused_connections=4))
        self.assertEqual(r.code, 0, r.log)
        self.assertEqual(r.world.sleeps, [5, 5, 5, 5])
        retries = r.lines("database not reachable yet")
        self.assertEqual(len(retries), 4)
        # The first line of SQLAlchemy's message, not its hint lines.
        self.assertEqual(
            retries[0],
            '[mlflow-gke] database not reachable yet ((psycopg2.OperationalError) connection to server at "127.0.0.1", '
            "port 5432 failed: Connection refused); retrying",
        )

    def test_unreachable_database_fails_after_600_s(self):
        r = pod.run("wait_for_schema", waiting(refused_connections=10**6))
        self.assertEqual(r.code, 1)
        self.assertGreater(r.world.now, 600)
        self.assertLessEqual(r.world.now, 605)
        self.assertIn("OperationalError", r.log)

    def test_an_error_without_a_message_is_retried_too(self):
        # str(error) is "" for many exceptions (TimeoutError(), ConnectionResetError()).
        r = pod.run("wait_for_schema", waiting(current="head0001", refused_connections=1, connection_error=TimeoutError()))
        self.assertEqual(r.code, 0, r.log)
        self.assertEqual(r.lines("database not reachable yet"), ["[mlflow-gke] database not reachable yet (TimeoutError); retrying"])


if __name__ == "__main__":
    unittest.main()


class AuthTablesWait(unittest.TestCase):
    """The migration Job is the auth tables' one migrator: the server starts only once they are at head."""

    def test_auth_tables_behind_wait_for_the_migration_job(self):
        state = waiting(current="head0001", tables=30, auth_current="auth0000")

        def migration_job_upgrades_auth(w: world.World) -> None:
            if len(w.sleeps) == 2:
                w.db.migrate_auth_to_head()

        state.on_sleep = migration_job_upgrades_auth
        r = pod.run("wait_for_schema", state)
        self.assertEqual(r.code, 0, r.log)
        self.assertEqual(r.world.sleeps, [10, 10])
        self.assertEqual(len(r.lines("waiting for the migration Job: auth tables at auth0000, this MLflow needs auth0001")), 2)
        self.assertIn("the server may start", r.log)

    def test_auth_tables_missing_wait_like_an_empty_database(self):
        state = waiting(current="head0001", tables=30, auth_current=None)
        state.on_sleep = lambda w: w.db.migrate_auth_to_head()
        r = pod.run("wait_for_schema", state)
        self.assertEqual(r.code, 0, r.log)
        self.assertEqual(r.world.sleeps, [10])
        self.assertEqual(len(r.lines("waiting for the migration Job: auth tables at None")), 1)

    def test_unknown_auth_revision_fails_without_waiting(self):
        r = pod.run("wait_for_schema", waiting(current="head0001", tables=30, auth_current="authnext"))
        self.assertEqual(r.code, 1)
        self.assertEqual(r.world.sleeps, [])
        self.assertIn("auth tables revision authnext is unknown to this MLflow image", r.log)



# cloudsql mode: the server's IAM user hands what it still owns to the owner role before the server starts.
OWNERSHIP = {"DB_OWNER_ROLE": "mlflow_owner", "DB_WRITER_ROLE": "mlflow_writer"}


class TablesHandOver(unittest.TestCase):
    def test_nothing_owned_starts_the_server_at_once(self):
        r = pod.run("wait_for_schema", waiting(current="head0001", tables=30), OWNERSHIP)
        self.assertEqual(r.code, 0, r.log)
        self.assertEqual((r.world.sleeps, r.world.db.statements), ([], []))

    def test_owned_tables_keep_the_server_waiting_even_at_head_until_the_migration_lends_the_role(self):
        state = waiting(current="head0001", tables=30, server_owned=42)

        def migration_lends_the_role(w: world.World) -> None:
            if len(w.sleeps) == 2:
                w.db.server_member = True

        state.on_sleep = migration_lends_the_role
        r = pod.run("wait_for_schema", state, OWNERSHIP)
        self.assertEqual(r.code, 0, r.log)
        self.assertEqual(r.world.sleeps, [10, 10])
        self.assertEqual(len(r.lines("this IAM user still owns 42 relations: waiting for the migration Job to let it hand them over to mlflow_owner")), 2)
        # One transaction: the hand-over and the writer's DML, so the running pods never lose access.
        self.assertEqual(
            [(t, s) for t, s, _ in r.world.db.statements],
            [
                (3, 'REASSIGN OWNED BY CURRENT_USER TO "mlflow_owner"'),
                (3, 'SET LOCAL ROLE "mlflow_owner"'),
                (3, 'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "mlflow_writer"'),
                (3, 'GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO "mlflow_writer"'),
            ],
        )
        self.assertIn("[mlflow-gke] handed 42 relations over to mlflow_owner; mlflow_writer reads and writes them", r.log)
        self.assertIn("the server may start", r.log)

    def test_a_failed_hand_over_is_retried(self):
        state = waiting(current="head0001", tables=30, server_owned=3, refused_connections=1)
        state.on_sleep = lambda w: setattr(w.db, "server_member", True)
        r = pod.run("wait_for_schema", state, OWNERSHIP)
        self.assertEqual(r.code, 0, r.log)
        self.assertIn("[mlflow-gke] the hand-over of the tables failed (", r.log)
        self.assertEqual(r.world.db.server_owned, 0)
