"""
Stand-in for the SQLAlchemy calls the programs make, against world.current.db. Signatures from
sqlalchemy/sqlalchemy at rel_2_0_52 (the 2.0 line the MLflow image installs).
"""
import os
from typing import Any, Optional

import world
from sqlalchemy import pool as pool  # the programs use sqlalchemy.pool.NullPool

PRIVILEGE_CALLS = "has_schema_privilege('public', 'USAGE') AND has_schema_privilege('public', 'CREATE')"
# cloudsql mode: migrate.py's OWNER_QUERY and OWNED_QUERY, wait_for_schema.py's HANDOVER_QUERY.
OWNER_CALLS = "pg_has_role(current_user, r.oid, 'MEMBER') AND has_schema_privilege(r.oid, 'public', 'USAGE')"
OWNED_CALLS = "WHERE r.rolname = :role AND c.relpersistence <> 't'"
HANDOVER_CALLS = "WHERE u.rolname = current_user AND c.relpersistence <> 't'), COALESCE((SELECT pg_has_role(current_user, r.oid, 'MEMBER')"
# What the programs run beside their queries (recorded, in order).
STATEMENTS = ("GRANT ", "REVOKE ", "ALTER DEFAULT PRIVILEGES ", "REASSIGN OWNED ", "SET LOCAL ROLE ")
# The write fence (shared.py): raised, noted and dropped; FENCE_QUERY asks whether it is up.
FENCE_STATEMENTS = ("CREATE TABLE IF NOT EXISTS mlflow_gke_migration ", "INSERT INTO mlflow_gke_migration ", "DROP TABLE IF EXISTS mlflow_gke_migration")
FENCE_CALLS = "FROM pg_class WHERE relname = 'mlflow_gke_migration'"


# lib/sqlalchemy/sql/_elements_constructors.py: def text(text: str) -> TextClause
def text(text: str) -> str:
    return text


class Row(tuple):
    pass


class Result:
    def __init__(self, rows: list[Row]):
        self._rows = rows

    # lib/sqlalchemy/engine/result.py: Result.one(self) -> Row: exactly one row, else it raises.
    def one(self) -> Row:
        if len(self._rows) != 1:
            raise AssertionError("one() on %d rows" % len(self._rows))
        return self._rows[0]


class Connection:
    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def close(self) -> None:
        pass

    # lib/sqlalchemy/engine/base.py: Connection.execute(self, statement, parameters=None, *,
    # execution_options=None) -> CursorResult. Only the migration Job's privilege query is known here.
    def __init__(self, transaction: int = 0):
        self.transaction = transaction

    def execute(self, statement: str, parameters: Optional[Any] = None, *, execution_options: Optional[Any] = None) -> Result:
        db = world.current.db
        db.queries.append(statement)
        if statement.startswith(STATEMENTS):
            db.statements.append((self.transaction, statement, os.environ.get("PGOPTIONS")))
            if statement.startswith("REASSIGN OWNED BY CURRENT_USER"):
                if not db.server_member:
                    raise world.OperationalError("permission denied to reassign objects")
                db.server_owned = 0
            return Result([])
        if statement.startswith(FENCE_STATEMENTS):
            db.statements.append((self.transaction, statement, os.environ.get("PGOPTIONS")))
            if statement.startswith("CREATE"):
                db.fence = True
            elif statement.startswith("DROP"):
                db.fence = False
            db.fence_history.append(db.fence)
            return Result([])
        if FENCE_CALLS in statement:
            return Result([Row((1 if db.fence else 0,))])
        if OWNER_CALLS in statement:
            db.owner_checks += 1
            granted = db.owner_granted_at_check is not None and db.owner_checks >= db.owner_granted_at_check
            return Result([Row((db.user, granted))])
        if OWNED_CALLS in statement:
            return Result([Row((db.server_owned,))])
        if HANDOVER_CALLS in statement:
            return Result([Row((db.server_owned, db.server_member))])
        if PRIVILEGE_CALLS not in statement or not statement.startswith("SELECT current_user, "):
            raise AssertionError("unexpected query: " + statement)
        db.privilege_checks += 1
        granted = db.granted_at_check is not None and db.privilege_checks >= db.granted_at_check
        return Result([Row((db.user, granted))])


class Engine:
    def __init__(self, url: str):
        self.url = url

    # lib/sqlalchemy/engine/base.py: Engine.connect(self) -> Connection; it fails when the server
    # cannot be reached.
    def connect(self) -> Connection:
        world.current.db.connect()
        return Connection()

    # lib/sqlalchemy/engine/base.py: Engine.begin(self) -> Iterator[Connection]: a connection in a
    # transaction, committed at the end of the block.
    def begin(self) -> Connection:
        db = world.current.db
        db.connect()
        db.transactions += 1
        return Connection(db.transactions)

    # lib/sqlalchemy/engine/base.py: Engine.dispose(self, close: bool = True) -> None
    def dispose(self, close: bool = True) -> None:
        pass


# lib/sqlalchemy/engine/create.py: def create_engine(url: Union[str, URL], **kwargs: Any) -> Engine.
# It does not connect.
def create_engine(url: str, **kwargs: Any) -> Engine:
    return Engine(url)


class Inspector:
    # lib/sqlalchemy/engine/reflection.py: Inspector.get_table_names(self, schema=None, **kw) -> List[str]
    def get_table_names(self, schema: Optional[str] = None, **kw: Any) -> list[str]:
        return ["alembic_version"] + ["table_%d" % i for i in range(world.current.db.tables)]


# lib/sqlalchemy/inspection.py: def inspect(subject, raiseerr=True). For an Engine it builds an
# Inspector, which connects at once (reflection.py, Inspector._init_engine: engine.connect().close()).
def inspect(subject: Engine, raiseerr: bool = True) -> Inspector:
    subject.connect().close()
    return Inspector()
