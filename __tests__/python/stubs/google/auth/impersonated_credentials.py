"""google.auth.impersonated_credentials.Credentials: records who is impersonated, from what, for which scopes."""
from typing import Any, Sequence

import world


class Credentials:
    def __init__(self, source_credentials: Any, target_principal: str, target_scopes: Sequence[str], delegates: Any = None, lifetime: int = 3600, **kwargs: Any):
        self.source_credentials = source_credentials
        self.target_principal = target_principal
        self.target_scopes = list(target_scopes)
        world.current.google_credentials.append(("impersonated", target_principal, self.target_scopes, list(source_credentials.scopes)))
