"""
google.auth.transport.requests.AuthorizedSession: a requests.Session whose requests carry the
credentials' token. Here world.current.sqladmin answers them: a function of (method, URL, JSON body)
that gives (HTTP status, JSON body); every request is recorded with the principal it went out as.
"""
import json as jsonlib
from typing import Any, Optional

import world


class Response:
    """The parts of requests.Response the program reads."""

    def __init__(self, status_code: int, body: Any):
        self.status_code = status_code
        self.text = body if isinstance(body, str) else jsonlib.dumps(body)

    def json(self) -> Any:
        return jsonlib.loads(self.text)


class AuthorizedSession:
    def __init__(self, credentials: Any, **kwargs: Any):
        self.credentials = credentials

    def request(self, method: str, url: str, data: Any = None, headers: Any = None, json: Any = None, timeout: Optional[float] = None, **kwargs: Any) -> Response:
        w = world.current
        assert w.sqladmin is not None, "no Cloud SQL Admin API in this world: %s %s" % (method, url)
        assert timeout, "a request without a timeout: %s %s" % (method, url)
        w.sqladmin_requests.append((method, url, json, getattr(self.credentials, "target_principal", None)))
        status, body = w.sqladmin(method, url, json)
        return Response(status, body)
