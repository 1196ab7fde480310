"""
Records the SQLAlchemy engines a process opens (__tests__/live/connection-budget.test.ts puts this
folder on PYTHONPATH before local/site). Python imports one `sitecustomize` at start-up, so this one
first runs the next one on PYTHONPATH (local/site/sitecustomize.py: the cluster's names), then wraps
sqlalchemy.create_engine: every engine appends one JSON line to POOL_TRACE_FILE with the process, its
parent, the pool class with its size and overflow, the command line, and who asked for it (the
innermost caller outside SQLAlchemy and MLflow's engine helpers, as "module.py:function"). MLflow calls it by attribute
(mlflow@v3.17.0 mlflow/store/db/utils.py create_sqlalchemy_engine: `sqlalchemy.create_engine(...)`),
as do the pods' programs and `python -m mlflow.server.auth db upgrade`, so every engine passes here.
"""
import importlib.util
import json
import os
import sys
import traceback

_HERE = os.path.dirname(os.path.abspath(__file__))
for _entry in os.environ.get("PYTHONPATH", "").split(os.pathsep):
    _candidate = os.path.join(_entry, "sitecustomize.py")
    if _entry and os.path.abspath(_entry) != _HERE and os.path.exists(_candidate):
        _spec = importlib.util.spec_from_file_location("_next_sitecustomize", _candidate)
        if _spec is not None and _spec.loader is not None:
            _spec.loader.exec_module(importlib.util.module_from_spec(_spec))
        break


def _trace(trace_file):
    try:
        import sqlalchemy  # pyright: ignore[reportMissingImports]
    except ImportError:
        return
    create_engine = sqlalchemy.create_engine

    def traced_create_engine(*args, **kwargs):
        engine = create_engine(*args, **kwargs)
        pool = engine.pool
        caller = ""
        for frame in reversed(traceback.extract_stack()[:-1]):
            where = frame.filename.replace(os.sep, "/")
            if "/sqlalchemy/" not in where and not where.endswith("mlflow/store/db/utils.py"):
                caller = "%s:%s" % ("/".join(where.split("/")[-3:]), frame.name)
                break
        record = {
            "pid": os.getpid(),
            "ppid": os.getppid(),
            "pool": type(pool).__name__,
            "size": pool.size() if hasattr(pool, "size") else None,
            "overflow": getattr(pool, "_max_overflow", None),
            "argv": " ".join(sys.argv)[:200],
            "caller": caller,
        }
        with open(trace_file, "a") as out:
            out.write(json.dumps(record) + "\n")
        return engine

    sqlalchemy.create_engine = traced_create_engine


if os.environ.get("POOL_TRACE_FILE"):
    _trace(os.environ["POOL_TRACE_FILE"])
