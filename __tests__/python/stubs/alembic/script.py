"""
Stand-in for Alembic's ScriptDirectory: the image's migration scripts know world.current.db.known.
Signatures from sqlalchemy/alembic at rel_1_19_1, alembic/script/base.py.
"""
from typing import Any

import world


class CommandError(Exception):
    """alembic.util.exc.CommandError"""


class Script:
    def __init__(self, revision: str):
        self.revision = revision


AUTH_SCRIPTS = "mlflow/server/auth/db/migrations"


class ScriptDirectory:
    def __init__(self, auth: bool = False):
        self.auth = auth

    # @classmethod def from_config(cls, config: Config) -> ScriptDirectory. The configs of the stand-in
    # utils modules are dicts; the auth scripts' location tells the two histories apart.
    @classmethod
    def from_config(cls, config: Any) -> "ScriptDirectory":
        return cls(auth=config.get("script_location") == AUTH_SCRIPTS)

    # def get_current_head(self) -> Optional[str]: the single head revision.
    def get_current_head(self) -> str:
        db = world.current.db
        return db.auth_head if self.auth else db.head

    # def get_revision(self, id_: str) -> Script: an unknown id raises CommandError("Can't locate
    # revision identified by '%s'") (_catch_revision_errors around RevisionMap.get_revision, whose
    # _revision_for_ident raises ResolutionError).
    def get_revision(self, id_: str) -> Script:
        db = world.current.db
        if id_ not in (db.auth_known if self.auth else db.known):
            raise CommandError("Can't locate revision identified by '%s'" % id_)
        return Script(id_)
