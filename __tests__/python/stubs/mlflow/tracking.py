"""Stand-in for MlflowClient: only its creation, which verify.py reaches once /health answers 200."""
from typing import Optional

import world


class MlflowClient:
    # mlflow/tracking/client.py: MlflowClient.__init__(self, tracking_uri: Optional[str] = None,
    # registry_uri: Optional[str] = None)
    def __init__(self, tracking_uri: Optional[str] = None, registry_uri: Optional[str] = None):
        world.current.tracking_uris.append(tracking_uri or "")
