"""
An HTTP session with a running Jupyter server, as its web page opens one: the platform CA only, and
the XSRF token the lab page sets, which every API call but GET must echo (jupyter_server
base/handlers.py, JupyterHandler.check_xsrf_cookie, at v2.21.1). Shared by the programs beside it.
Behind the workspace's verifying proxy (the edge on), every request, WebSocket upgrades included,
carries IAP's token as IAP adds it: IAP_JWT, when the test gives one.
"""
import os
import sys

import requests


def iap_header() -> "list[str]":
    """IAP's header for a WebSocket handshake (websocket-client's `header`), or none."""
    token = os.environ.get("IAP_JWT")
    return ["x-goog-iap-jwt-assertion: " + token] if token else []


def lab_session(base: str, ca: str) -> "tuple[requests.Session, dict[str, str]]":
    http = requests.Session()
    token = os.environ.get("IAP_JWT")
    if token:
        http.headers["x-goog-iap-jwt-assertion"] = token
    http.verify = ca
    # Only the CA given: no CA bundle or proxy from the environment takes its place.
    http.trust_env = False
    http.get(f"{base}/lab", timeout=10).raise_for_status()
    xsrf = http.cookies.get("_xsrf")
    if not xsrf:
        sys.exit("the lab page set no _xsrf cookie")
    return http, {"X-XSRFToken": xsrf}
