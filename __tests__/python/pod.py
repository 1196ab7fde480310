"""
Runs an MLflow pod's Python program the way the pod does (`python -c TEXT` with the pod's
environment), in this process, against the stand-ins for SQLAlchemy, Alembic, MLflow and google-auth in stubs/:
a fake clock (no test waits for real), fake `mlflow` commands and a fake tracking server /health.

program() composes the text exactly as charts/mlflow/programs.ts does at synth;
__tests__/mlflow-scripts.test.ts checks that both give the same text.
"""
from __future__ import annotations

import contextlib
import dataclasses
import email.message
import io
import json
import os
import ssl
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Optional
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PROGRAM_DIR = os.path.join(ROOT, "charts", "mlflow")
MARKER = "# ---- the pod runs what follows ----"
STUBS = os.path.join(HERE, "stubs")
STUBBED = ("sqlalchemy", "alembic", "mlflow", "google", "world")

if STUBS not in sys.path:
    sys.path.insert(0, STUBS)
import world  # noqa: E402  (found through STUBS)

URI = "postgresql+psycopg2://mlflow-server%40proj.iam@127.0.0.1:5432/mlflow"
TRACKING_URI = "https://mlflow.mlflow.svc.cluster.local:5000"
# The platform CA bundle the pods mount (charts/certificates/ca-bundle.ts, CA_BUNDLE_FILE).
CA_FILE = "/etc/platform-ca/ca.crt"


def _read(name: str) -> tuple[str, str]:
    with open(os.path.join(PROGRAM_DIR, name + ".py"), encoding="utf-8") as handle:
        text = handle.read()
    header, found, part = text.partition("\n" + MARKER + "\n")
    if not found:
        raise AssertionError("%s.py has no line %r" % (name, MARKER))
    return header, part


def program(name: str) -> str:
    """The text the pod runs: shared.py's part, then the program's own, where the header imports from shared."""
    header, own = _read(name)
    if any(line.startswith("from shared import ") for line in header.splitlines()):
        return _read("shared")[1] + "\n" + own
    return own


@dataclasses.dataclass
class Exit:
    code: int
    log: str
    world: world.World

    def lines(self, text: str) -> list[str]:
        return [line for line in self.log.splitlines() if text in line]


class _Response:
    def __init__(self, status: int):
        self.status = status

    def __enter__(self) -> _Response:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


class _Context:
    """What ssl.create_default_context returns here: it remembers the CA file it was made from."""

    def __init__(self, cafile: Optional[str]):
        self.cafile = cafile


def _create_default_context(purpose: Any = None, *, cafile: Optional[str] = None, **kwargs: Any) -> _Context:
    world.current.ca_files.append(cafile)
    return _Context(cafile)


class _ApiResponse(_Response):
    def __init__(self, status: int, body: bytes):
        super().__init__(status)
        self.body = body

    def read(self) -> bytes:
        return self.body


def _api(request: urllib.request.Request, context: Any) -> _Response:
    """A REST call to the tracking server: answered by world.api; an error status raises as urllib does."""
    w = world.current
    assert w.api is not None, "no REST API in this world: %s %s" % (request.get_method(), request.full_url)
    assert getattr(context, "cafile", None) == CA_FILE, "REST call without the platform CA"
    parsed = urllib.parse.urlsplit(request.full_url)
    assert parsed.scheme + "://" + parsed.netloc == TRACKING_URI, request.full_url
    data = request.data
    body = json.loads(data) if isinstance(data, bytes) else None
    w.api_requests.append((request.get_method(), parsed.path))
    status, answer = w.api(request.get_method(), parsed.path, urllib.parse.parse_qs(parsed.query), body, dict(request.header_items()))
    payload = json.dumps(answer).encode()
    if status >= 400:
        raise urllib.error.HTTPError(request.full_url, status, "error", email.message.Message(), io.BytesIO(payload))
    return _ApiResponse(status, payload)


def _urlopen(url: "str | urllib.request.Request", timeout: Optional[float] = None, context: Any = None, **kwargs: Any) -> _Response:
    if isinstance(url, urllib.request.Request):
        return _api(url, context)
    w = world.current
    w.health_requests.append(url)
    w.health_contexts.append(context)
    answer = w.health[min(len(w.health_requests), len(w.health)) - 1]
    if isinstance(answer, BaseException):
        raise answer
    assert isinstance(answer, int), answer
    if answer >= 400:
        # urllib raises for an HTTP error status.
        raise urllib.error.HTTPError(url, answer, "error", email.message.Message(), None)
    return _Response(answer)


def _call(args: list[str], **kwargs: Any) -> int:
    """subprocess.call for the `mlflow` commands the programs run."""
    w = world.current
    w.commands.append(list(args))
    if args[:3] == ["mlflow", "db", "upgrade"]:
        if w.upgrade_exit == 0 and w.upgrade_moves_schema:
            w.db.migrate_to_head()
            w.db.upgraded = True
        return w.upgrade_exit
    if args[:2] == ["mlflow", "gc"]:
        return w.gc_exit
    if args[:6] == ["python", "-m", "mlflow.server.auth", "db", "upgrade", "--url"]:
        if w.auth_upgrade_exit == 0:
            w.db.migrate_auth_to_head()
        return w.auth_upgrade_exit
    raise AssertionError("unexpected command: %r" % (args,))


def _time() -> float:
    return world.current.now


def _sleep(seconds: float) -> None:
    w = world.current
    w.now += seconds
    w.sleeps.append(seconds)
    if w.on_sleep:
        w.on_sleep(w)


def run(name: str, state: Optional[world.World] = None, env: Optional[dict[str, str]] = None) -> Exit:
    """Runs program `name` to its end in `state` (a fresh World by default); returns its exit status and log."""
    state = state or world.World()
    world.current = state
    for module in [m for m in sys.modules if m.split(".")[0] in STUBBED[:-1]]:
        del sys.modules[module]
    pod_env = {"MLFLOW_BACKEND_STORE_URI": URI, **(env or {})}
    out = io.StringIO()
    code = 0
    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.dict(os.environ, pod_env))
        stack.enter_context(mock.patch.object(time, "time", _time))
        stack.enter_context(mock.patch.object(time, "sleep", _sleep))
        stack.enter_context(mock.patch.object(subprocess, "call", _call))
        stack.enter_context(mock.patch.object(urllib.request, "urlopen", _urlopen))
        stack.enter_context(mock.patch.object(ssl, "create_default_context", _create_default_context))
        stack.enter_context(contextlib.redirect_stdout(out))
        stack.enter_context(contextlib.redirect_stderr(out))
        try:
            exec(compile(program(name), "<string>", "exec"), {"__name__": "__main__"})
        except SystemExit as end:
            # As the interpreter does: None is 0, a message goes to stderr and is 1.
            if end.code is None:
                code = 0
            elif isinstance(end.code, int):
                code = end.code
            else:
                print(end.code, file=sys.stderr)
                code = 1
        except Exception:
            traceback.print_exc()
            code = 1
    return Exit(code, out.getvalue(), state)
