"""
Stand-in for Alembic's MigrationContext, for the auth tables' version table only (alembic/runtime/
migration.py at rel_1_19_1: MigrationContext.configure(connection=None, url=None, dialect_name=None,
dialect=None, environment_context=None, dialect_opts=None, opts=None); get_current_revision() is None
when the version table is missing or empty).
"""
from typing import Any, Optional

import world


class MigrationContext:
    def __init__(self, version_table: str):
        self.version_table = version_table

    @classmethod
    def configure(cls, connection: Any = None, url: Any = None, dialect_name: Any = None, dialect: Any = None, environment_context: Any = None, dialect_opts: Any = None, opts: Optional[dict[str, Any]] = None) -> "MigrationContext":
        table = (opts or {}).get("version_table", "alembic_version")
        if table != "alembic_version_auth":
            raise AssertionError("only the auth version table is read through MigrationContext here, not %r" % table)
        return cls(table)

    def get_current_revision(self) -> Optional[str]:
        return world.current.db.auth_current
