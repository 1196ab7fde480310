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


class ScriptDirectory:
    # @classmethod def from_config(cls, config: Config) -> ScriptDirectory
    @classmethod
    def from_config(cls, config: Any) -> "ScriptDirectory":
        return cls()

    # def get_revision(self, id_: str) -> Script: an unknown id raises CommandError("Can't locate
    # revision identified by '%s'") (_catch_revision_errors around RevisionMap.get_revision, whose
    # _revision_for_ident raises ResolutionError).
    def get_revision(self, id_: str) -> Script:
        if id_ not in world.current.db.known:
            raise CommandError("Can't locate revision identified by '%s'" % id_)
        return Script(id_)
