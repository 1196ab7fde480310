"""
The verifying proxy in front of every workspace's app (Jupyter, code-server) while the edge is on: a
native sidecar of the workspace pod, on the MLflow image (Python, google-auth and h11, which comes
with uvicorn, are there), listening on the port the Service and the load balancer reach, with the app
moved to 127.0.0.1. It runs as charts/mlflow/iap_verify.py's part followed by its own, one file of
the app's shared ConfigMap (charts/workspaces/iap-proxy.ts); the import below is for readers, the
checker and the unit tests.

Every request is checked on its own: Google's front ends reuse a connection to a backend for requests
of different clients, so nothing is remembered per connection. A request reaches the app only with
IAP's signed header (x-goog-iap-jwt-assertion) that passes iap_verify.verify for this workspace's
audience (IAP_BACKEND_SERVICE_ID once pinned; until then any backend service of IAP_PROJECT_NUMBER)
and, for a per-user workspace, whose `email` is WORKSPACE_USER. The one exception is the health path
(HEALTH_PATH, GET, the exact target without a query): the load balancer's health checks and
the kubelet's probes carry no token ("Compute Engine and GKE health checks don't include JWT
headers", https://cloud.google.com/iap/docs/signed-headers-howto).

The assertion itself is not passed to the app. A WebSocket upgrade (Jupyter's kernels and terminals,
code-server's editor) is checked like any request; once the app has answered 101, bytes are passed both ways unchanged until either side closes.

TLS: the proxy serves HTTPS with the workspace's certificate (TLS_CERT_FILE, TLS_KEY_FILE, mounted from
cert-manager's Secret); it checks the files every TLS_CHECK_SECONDS and loads a renewed pair into the
same SSLContext, which every later handshake uses (the context is read when a connection's SSL
object is made). The app behind it speaks plain HTTP on loopback, which only the pod can reach.
"""
import logging  # the pod's text has it from iap_verify.py's part

from iap_verify import KEYS_URL, Audience, KeySet, Rejected, verify

# ---- the pod runs what follows ----
import asyncio, hashlib, os, signal, ssl, sys
from typing import Any, Optional

import h11  # pyright: ignore[reportMissingImports]

HEADER = b"x-goog-iap-jwt-assertion"
# Headers of one hop only (RFC 9110 section 7.6.1), not passed on; Connection and Upgrade are set again
# for a WebSocket upgrade. Transfer-Encoding and Content-Length are passed: h11 frames each side's
# message by them.
HOP_BY_HOP = {b"connection", b"keep-alive", b"proxy-connection", b"proxy-authenticate", b"proxy-authorization", b"te", b"trailer", b"upgrade"}
CHUNK = 65536
MAX_HEAD = 65536

_proxy_log = logging.getLogger("mlflow_gke.iap_proxy")


class ProxySettings:
    def __init__(self, env: "dict[str, str]"):
        self.port = int(env.get("PROXY_PORT", "8443"))
        self.listen = env.get("PROXY_ADDRESS", "0.0.0.0")
        self.upstream_port = int(env["UPSTREAM_PORT"])
        self.health_path = env["HEALTH_PATH"].encode("ascii")
        self.user = env.get("WORKSPACE_USER", "").strip().lower()
        self.audience = Audience(env.get("IAP_PROJECT_NUMBER", ""), env.get("IAP_BACKEND_SERVICE_ID", ""))
        self.keys = KeySet(env.get("IAP_KEYS_URL", KEYS_URL), float(env.get("IAP_KEYS_TTL_SECONDS", "3600")))
        self.cert_file = env.get("TLS_CERT_FILE", "")
        self.key_file = env.get("TLS_KEY_FILE", "")
        self.tls_check_seconds = float(env.get("TLS_CHECK_SECONDS", "60"))


def decide(settings: ProxySettings, method: bytes, target: bytes, tokens: "list[bytes]") -> "tuple[int, str]":
    """(0, who) when the request may pass, else (HTTP status, why): the whole policy, per request."""
    if target == settings.health_path and method == b"GET":
        return 0, "health check"
    if len(tokens) != 1:
        return 401, "%d IAP headers" % len(tokens)
    try:
        claims = verify(tokens[0].decode("ascii"), settings.keys, settings.audience)
    except (Rejected, UnicodeDecodeError) as why:
        return 401, "IAP token refused: %s" % why
    email = str(claims["email"]).lower()
    if settings.user and email != settings.user:
        return 403, "%s is not this workspace's user" % email
    return 0, email


def _forwarded_headers(headers: "list[tuple[bytes, bytes]]", upgrade: bool) -> "list[tuple[bytes, bytes]]":
    named = {n.strip().lower() for name, value in headers if name == b"connection" for n in value.split(b",")}
    # IAP's assertion stops here: the app has no use for it, and code in a shared workspace would
    # otherwise see every member's token.
    kept = [(n, v) for n, v in headers if n not in HOP_BY_HOP and n not in named and n not in (b"expect", HEADER)]
    if upgrade:
        kept += [(b"connection", b"Upgrade")] + [(n, v) for n, v in headers if n == b"upgrade"]
    else:
        kept.append((b"connection", b"close"))
    return kept


def _is_upgrade(headers: "list[tuple[bytes, bytes]]") -> bool:
    connection = {n.strip().lower() for name, value in headers if name == b"connection" for n in value.split(b",")}
    return b"upgrade" in connection and any(name == b"upgrade" for name, _ in headers)


async def _next(conn, reader: asyncio.StreamReader):
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(await reader.read(CHUNK))
            continue
        return event


async def _send(conn, writer: asyncio.StreamWriter, event) -> None:
    data = conn.send(event)
    if data:
        writer.write(data)
        await writer.drain()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            data = await reader.read(CHUNK)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            if writer.can_write_eof():
                writer.write_eof()
        except (ConnectionError, OSError, RuntimeError):
            pass


async def _refuse(conn, writer: asyncio.StreamWriter, status: int) -> None:
    """An answer of the proxy's own (401, 403, 502), after which the connection closes."""
    reason = {401: b"Unauthorized", 403: b"Forbidden"}.get(status, b"Bad Gateway")
    body = reason + b"\n"
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
    await _send(conn, writer, h11.Response(status_code=status, headers=headers, reason=reason))
    await _send(conn, writer, h11.Data(data=body))
    await _send(conn, writer, h11.EndOfMessage())


async def _forward(settings: ProxySettings, conn, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request) -> bool:
    """Passes one request to the app and its answer back; True when the client connection may carry another."""
    upgrade = _is_upgrade(request.headers)
    try:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", settings.upstream_port)
    except OSError as error:  # the app is not listening (yet, or any more)
        _proxy_log.warning("the app on 127.0.0.1:%d does not answer: %s", settings.upstream_port, error)
        await _refuse(conn, writer, 502)
        return False
    try:
        up = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD)
        await _send(up, up_writer, h11.Request(method=request.method, target=request.target, headers=_forwarded_headers(list(request.headers), upgrade)))
        if conn.client_is_waiting_for_100_continue:
            await _send(conn, writer, h11.InformationalResponse(status_code=100, headers=[]))
        while True:
            event = await _next(conn, reader)
            if isinstance(event, h11.Data):
                await _send(up, up_writer, event)
            elif isinstance(event, h11.EndOfMessage):
                await _send(up, up_writer, h11.EndOfMessage())
                break
            else:
                return False
        while True:
            event = await _next(up, up_reader)
            if isinstance(event, h11.InformationalResponse):
                if event.status_code == 101 and upgrade:
                    await _send(conn, writer, h11.InformationalResponse(status_code=101, headers=list(event.headers), reason=event.reason))
                    await _switched(conn, reader, writer, up, up_reader, up_writer)
                    return False
                continue
            if isinstance(event, h11.Response):
                headers = [(n, v) for n, v in event.headers if n not in HOP_BY_HOP]
                await _send(conn, writer, h11.Response(status_code=event.status_code, headers=headers, reason=event.reason))
            elif isinstance(event, h11.Data):
                await _send(conn, writer, event)
            elif isinstance(event, h11.EndOfMessage):
                await _send(conn, writer, h11.EndOfMessage())
                return True
            else:
                return False
    finally:
        up_writer.close()


async def _switched(conn, reader, writer, up, up_reader, up_writer) -> None:
    """After 101: what either side sent beyond the handshake first, then bytes both ways until one side closes."""
    early, _ = conn.trailing_data
    late, _ = up.trailing_data
    if early:
        up_writer.write(early)
    if late:
        writer.write(late)
    await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


async def serve_connection(settings: ProxySettings, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    # Room for IAP's token beside the apps' cookies in one request head (h11's default is 16 KiB).
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
    loop = asyncio.get_running_loop()
    try:
        while True:
            event = await _next(conn, reader)
            if not isinstance(event, h11.Request):
                return
            tokens = [value for name, value in event.headers if name == HEADER]
            status, why = await loop.run_in_executor(None, decide, settings, event.method, event.target, tokens)
            if status:
                _proxy_log.warning("refused %s %s: %s", event.method.decode("ascii", "replace"), event.target[:200].decode("ascii", "replace"), why)
                await _refuse(conn, writer, status)
                return
            if not await _forward(settings, conn, reader, writer, event):
                return
            if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                return
            conn.start_next_cycle()
    except (h11.RemoteProtocolError, h11.LocalProtocolError) as error:
        _proxy_log.info("closing a connection: %s", error)
    except (ConnectionError, OSError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


def _fingerprint(*files: str) -> Optional[str]:
    digest = hashlib.sha256()
    try:
        for name in files:
            with open(name, "rb") as handle:
                digest.update(handle.read())
    except OSError:
        return None
    return digest.hexdigest()


async def _reload_certificate(settings: ProxySettings, context: ssl.SSLContext, seen: Optional[str]) -> None:
    while True:
        await asyncio.sleep(settings.tls_check_seconds)
        current = _fingerprint(settings.cert_file, settings.key_file)
        if current is None or current == seen:
            continue
        try:
            context.load_cert_chain(settings.cert_file, settings.key_file)
        except (ssl.SSLError, OSError) as error:  # caught between the two files' swap: the next check loads the pair
            _proxy_log.warning("could not load the renewed certificate yet: %s", error)
            continue
        seen = current
        _proxy_log.info("serving the renewed certificate of %s", settings.cert_file)


async def main(settings: ProxySettings) -> None:
    context = None
    if settings.cert_file:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(settings.cert_file, settings.key_file)
    server = await asyncio.start_server(lambda r, w: serve_connection(settings, r, w), settings.listen, settings.port, ssl=context)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    tasks: "list[asyncio.Future[Any]]" = [asyncio.ensure_future(stop.wait())]
    if context is not None:
        tasks.append(asyncio.ensure_future(_reload_certificate(settings, context, _fingerprint(settings.cert_file, settings.key_file))))
    pinned = "audience pinned to backend service " + settings.audience.backend_service_id if settings.audience.backend_service_id else "audience not pinned: any backend service of project " + settings.audience.project_number
    _proxy_log.info("verifying IAP tokens on %s:%d for 127.0.0.1:%d (%s; user %s)", settings.listen, settings.port, settings.upstream_port, pinned, settings.user or "any IAP member")
    async with server:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in tasks:
        task.cancel()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="[mlflow-gke iap-proxy] %(levelname)s %(message)s", stream=sys.stdout)
    asyncio.run(main(ProxySettings(dict(os.environ))))
