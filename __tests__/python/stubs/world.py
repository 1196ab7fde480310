"""
The world the stand-ins share: one database, one clock and the processes and HTTP answers a program
meets. pod.py creates a fresh World for every run; tests set it up and read what happened.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Optional


class OperationalError(Exception):
    """What SQLAlchemy raises when the server cannot be reached (sqlalchemy.exc.OperationalError)."""


# The shape of SQLAlchemy's message for a refused connection: the driver's error, then a hint on
# more lines. The programs log only its first line.
REFUSED = OperationalError(
    '(psycopg2.OperationalError) connection to server at "127.0.0.1", port 5432 failed: Connection refused\n'
    "\tIs the server running on that host and accepting TCP/IP connections?\n\n"
    "(Background on this error at: https://sqlalche.me/e/20/e3q8)"
)


@dataclasses.dataclass
class Database:
    user: str = "mlflow-server@proj.iam"
    # The Alembic revision in alembic_version, or None where there is none.
    current: Optional[str] = None
    # The image's head revision and every revision its migration scripts know.
    head: str = "head0001"
    known: tuple[str, ...] = ("old00001", "head0001")
    # MLflow's own tables (alembic_version is not counted).
    tables: int = 0
    # The privilege query answers true from this check on (1: at once); None: never.
    granted_at_check: Optional[int] = 1
    privilege_checks: int = 0
    queries: list[str] = dataclasses.field(default_factory=list)
    # The first connection attempts that fail, and with what.
    refused_connections: int = 0
    connection_error: Exception = REFUSED
    connections: int = 0
    initialized: bool = False
    upgraded: bool = False
    # MLflow's auth tables (alembic_version_auth): their revision, the image's auth head and the
    # revisions its auth migration scripts know. At head unless a test says otherwise.
    auth_current: Optional[str] = "auth0001"
    auth_head: str = "auth0001"
    auth_known: tuple[str, ...] = ("auth0000", "auth0001")
    # cloudsql mode (charts/mlflow/cloudsql-grant.sql): the owner query answers true from this check on
    # (1: at once; None: never); how many relations the server's IAM user owns; whether it may act as
    # the owner role (the migration lends it); the statements run, each with the transaction it ran
    # in (a number per engine.begin()) and the PGOPTIONS of the process then.
    owner_granted_at_check: Optional[int] = 1
    owner_checks: int = 0
    server_owned: int = 0
    server_member: bool = False
    statements: list[tuple[int, str, Optional[str]]] = dataclasses.field(default_factory=list)
    # The write fence (shared.py FENCE_TABLE): whether it is up, and after each of its statements.
    fence: bool = False
    fence_history: list[bool] = dataclasses.field(default_factory=list)
    transactions: int = 0

    def connect(self) -> None:
        self.connections += 1
        if self.connections <= self.refused_connections:
            raise self.connection_error

    def migrate_to_head(self) -> None:
        self.current = self.head
        self.tables = max(self.tables, 30)

    def migrate_auth_to_head(self) -> None:
        self.auth_current = self.auth_head


@dataclasses.dataclass
class World:
    db: Database = dataclasses.field(default_factory=Database)
    # The fake clock: time.time() answers `now`; time.sleep() records the pause and moves it on.
    now: float = 0.0
    sleeps: list[float] = dataclasses.field(default_factory=list)
    # Called after every pause (e.g. the migration Job finishing while a server waits).
    on_sleep: Optional[Callable[[World], None]] = None
    # Commands run through subprocess.call, and the exit status each kind answers.
    commands: list[list[str]] = dataclasses.field(default_factory=list)
    upgrade_exit: int = 0
    # False: `mlflow db upgrade` exits 0 yet leaves the revision where it was.
    upgrade_moves_schema: bool = True
    gc_exit: int = 0
    # `python -m mlflow.server.auth db upgrade --url URI`: its exit status.
    auth_upgrade_exit: int = 0
    # The tracking server's /health: the answers, in order (an HTTP status or an exception to raise);
    # the last one repeats.
    health: list[object] = dataclasses.field(default_factory=lambda: [200])
    health_requests: list[str] = dataclasses.field(default_factory=list)
    # The CA file of every TLS context a program built (ssl.create_default_context(cafile=...)), and the
    # context each /health request went out with.
    ca_files: list[Optional[str]] = dataclasses.field(default_factory=list)
    health_contexts: list[object] = dataclasses.field(default_factory=list)
    # Tracking URIs given to the MLflow client (verify.py).
    tracking_uris: list[str] = dataclasses.field(default_factory=list)
    # The tracking server's REST API (urllib.request.Request objects, as provision.py sends them): a
    # function of (method, path, query, body, headers) that answers (HTTP status, JSON body).
    api: Optional[Callable[[str, str, dict[str, list[str]], Any, dict[str, str]], tuple[int, Any]]] = None
    api_requests: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    # The Cloud SQL Admin API (google.auth.transport.requests.AuthorizedSession, as migrate.py's cloudsql
    # backup gate calls it): a function of (method, URL, JSON body) that answers (HTTP status, JSON body
    # or text); the requests, each with the principal it went out as; the credentials made, in order;
    # what google.auth.default raises instead of answering, if anything.
    sqladmin: Optional[Callable[[str, str, Any], tuple[int, Any]]] = None
    sqladmin_requests: list[tuple[str, str, Any, Optional[str]]] = dataclasses.field(default_factory=list)
    google_credentials: list[tuple[Any, ...]] = dataclasses.field(default_factory=list)
    google_default_error: Optional[Exception] = None


current = World()
