"""google.auth.default: the pod's own credentials (GKE Workload Identity), recorded with their scopes."""
from typing import Any, Optional, Sequence

import world


class SourceCredentials:
    def __init__(self, scopes: Optional[Sequence[str]]):
        self.scopes = list(scopes or [])


def default(scopes: Optional[Sequence[str]] = None, request: Any = None, quota_project_id: Any = None, default_scopes: Any = None) -> tuple[SourceCredentials, Optional[str]]:
    w = world.current
    if w.google_default_error is not None:
        raise w.google_default_error
    credentials = SourceCredentials(scopes)
    w.google_credentials.append(("default", credentials.scopes))
    return credentials, None
