"""Stand-in for the top of the mlflow package: what verify.py calls before it talks to the server."""
import world


# mlflow/tracking/_tracking_service/utils.py: def set_tracking_uri(uri: str | Path) -> None,
# exported as mlflow.set_tracking_uri.
def set_tracking_uri(uri: str) -> None:
    world.current.tracking_uris.append(uri)
