"""
Stand-in for mlflow.server.auth.db.utils (mlflow/mlflow 3.17.0, mlflow/server/auth/db/utils.py):
_get_alembic_config(url) gives an alembic Config whose script_location is the auth migrations folder.
"""
# A private helper of MLflow's, called from outside the module by the programs.
# pyright: reportUnusedFunction=false
from typing import Any

from alembic.script import AUTH_SCRIPTS


def _get_alembic_config(url: str) -> Any:
    return {"script_location": AUTH_SCRIPTS, "sqlalchemy.url": url}
