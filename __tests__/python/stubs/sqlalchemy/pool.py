# lib/sqlalchemy/pool/__init__.py: from .impl import NullPool (a pool that keeps no connection).
class NullPool:
    pass
