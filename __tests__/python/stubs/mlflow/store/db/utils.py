"""
Stand-in for the helpers of mlflow.store.db.utils the programs call (mlflow/mlflow,
mlflow/store/db/utils.py at commit 008412495a072a1cce2d6aace1297cc40c7d0b59; the repository is too
large to mirror, so the signatures were read at that stored commit).
"""
# These are MLflow's private helpers, called from outside the module by the programs.
# pyright: reportUnusedFunction=false
from typing import Any, Optional

import sqlalchemy
import world


# def _get_schema_version(engine): connects and answers MigrationContext.get_current_revision(),
# None when there is no alembic_version row.
def _get_schema_version(engine: sqlalchemy.Engine) -> Optional[str]:
    with engine.connect():
        return world.current.db.current


# def _get_latest_schema_revision(): the single head of the image's migration scripts.
def _get_latest_schema_revision() -> str:
    return world.current.db.head


# def _get_alembic_config(db_url, alembic_dir=None): an alembic Config for the image's scripts.
def _get_alembic_config(db_url: str, alembic_dir: Optional[str] = None) -> Any:
    return {"script_location": "mlflow/store/db_migrations", "sqlalchemy.url": db_url}


# def create_sqlalchemy_engine_with_retry(db_uri): create_sqlalchemy_engine(db_uri), then
# sqlalchemy.inspect(engine) to prove it connects (with up to MAX_RETRY_COUNT tries, not modelled).
def create_sqlalchemy_engine_with_retry(db_uri: str) -> sqlalchemy.Engine:
    engine = sqlalchemy.create_engine(db_uri)
    sqlalchemy.inspect(engine)
    return engine


# def _initialize_tables(engine): creates the initial tables, then _upgrade_db(engine) to head.
def _initialize_tables(engine: sqlalchemy.Engine) -> None:
    engine.connect()
    db = world.current.db
    db.migrate_to_head()
    db.initialized = True
