"""The workspaces' verifying proxy (charts/workspaces/iap_proxy.py): its per-request policy, the headers
it passes on, and real HTTP through it (h11, asyncio) to an upstream stand-in on loopback. The proxy in
front of a real JupyterLab, TLS and WebSocket included, is __tests__/live/iap-proxy.test.ts."""
from __future__ import annotations

import asyncio
import logging
import unittest
from typing import Any, Optional

from iap_tokens import BACKEND, KEYS, PROJECT_NUMBER, frozen_time, iap_verify, load, token

iap_proxy = load("iap_proxy", "charts/workspaces/iap_proxy.py")
logging.getLogger("mlflow_gke.iap_proxy").setLevel(logging.CRITICAL)
logging.getLogger("mlflow_gke.iap_verify").setLevel(logging.CRITICAL)

MLFLOW_AUDIENCE = "/projects/%s/global/backendServices/777" % PROJECT_NUMBER


def settings(**env: str) -> Any:
    base = {"UPSTREAM_PORT": "8888", "HEALTH_PATH": "/api", "IAP_PROJECT_NUMBER": PROJECT_NUMBER, "IAP_BACKEND_SERVICE_ID": BACKEND, "WORKSPACE_USER": "Ana@Example.com"}
    base.update(env)
    s = iap_proxy.ProxySettings({k: v for k, v in base.items() if v})
    s.keys = iap_verify.KeySet(fetch=lambda url: KEYS)
    return s


def decide(s: Any, target: str = "/api/status", tokens: Optional[list[str]] = None, method: str = "GET") -> int:
    with frozen_time():
        return iap_proxy.decide(s, method.encode(), target.encode(), [t.encode() for t in tokens or []])[0]


def chunked_bodies(data: bytes) -> list[bytes]:
    """The bodies of the chunked responses in `data`, in order."""
    bodies: list[bytes] = []
    at = 0
    while True:
        head = data.lower().find(b"transfer-encoding: chunked", at)
        if head < 0:
            return bodies
        at = data.index(b"\r\n\r\n", head) + 4
        body = b""
        while True:
            end = data.index(b"\r\n", at)
            size = int(data[at:end], 16)
            body += data[end + 2 : end + 2 + size]
            at = end + 2 + size + 2
            if size == 0:
                break
        bodies.append(body)


class Policy(unittest.TestCase):
    def test_the_workspace_users_token_for_this_backend_passes(self):
        self.assertEqual(decide(settings(), tokens=[token()]), 0)

    def test_no_token_forged_or_garbled_is_401(self):
        self.assertEqual(decide(settings()), 401)
        self.assertEqual(decide(settings(), tokens=["not.a.token"]), 401)
        self.assertEqual(decide(settings(), tokens=[token() + "x"]), 401)

    def test_two_tokens_are_refused_rather_than_one_picked(self):
        self.assertEqual(decide(settings(), tokens=[token(), token()]), 401)

    def test_a_token_for_mlflows_backend_is_refused_once_pinned(self):
        self.assertEqual(decide(settings(), tokens=[token(aud=MLFLOW_AUDIENCE)]), 401)

    def test_until_pinned_any_backend_of_the_project_passes_but_no_other_project(self):
        unpinned = settings(IAP_BACKEND_SERVICE_ID="")
        self.assertEqual(decide(unpinned, tokens=[token(aud=MLFLOW_AUDIENCE)]), 0)
        self.assertEqual(decide(unpinned, tokens=[token(aud="/projects/999999999999/global/backendServices/777")]), 401)
        self.assertEqual(decide(settings(IAP_BACKEND_SERVICE_ID="", IAP_PROJECT_NUMBER=""), tokens=[token()]), 401)

    def test_another_users_token_is_403_and_case_does_not_matter(self):
        self.assertEqual(decide(settings(), tokens=[token(email="bo@example.com")]), 403)
        self.assertEqual(decide(settings(WORKSPACE_USER="ana@example.com"), tokens=[token(email="ANA@example.com")]), 0)

    def test_the_shared_workspace_takes_any_member_iap_admitted(self):
        self.assertEqual(decide(settings(WORKSPACE_USER=""), tokens=[token(email="bo@example.com")]), 0)

    def test_only_get_on_the_exact_health_path_passes_without_a_token(self):
        self.assertEqual(decide(settings(), target="/api"), 0)
        for method, target in [("HEAD", "/api"), ("POST", "/api"), ("GET", "/api?x=1"), ("GET", "/api/"), ("GET", "/api/contents"), ("GET", "//api"), ("GET", "/API")]:
            self.assertEqual(decide(settings(), target=target, method=method), 401, (method, target))


class Headers(unittest.TestCase):
    def test_hop_by_hop_headers_and_iaps_assertion_stay_and_the_upstream_connection_closes(self):
        headers = [(b"host", b"jupyter-ana.ml.example.com"), (b"x-goog-iap-jwt-assertion", b"t"), (b"connection", b"keep-alive, x-private"), (b"keep-alive", b"timeout=5"), (b"x-private", b"1"), (b"te", b"trailers"), (b"expect", b"100-continue"), (b"content-length", b"3")]
        self.assertEqual(iap_proxy._forwarded_headers(headers, False), [(b"host", b"jupyter-ana.ml.example.com"), (b"content-length", b"3"), (b"connection", b"close")])

    def test_an_upgrade_keeps_connection_upgrade_and_its_upgrade_header(self):
        headers = [(b"host", b"h"), (b"connection", b"Upgrade"), (b"upgrade", b"websocket"), (b"sec-websocket-key", b"k")]
        self.assertTrue(iap_proxy._is_upgrade(headers))
        self.assertEqual(iap_proxy._forwarded_headers(headers, True), [(b"host", b"h"), (b"sec-websocket-key", b"k"), (b"connection", b"Upgrade"), (b"upgrade", b"websocket")])
        self.assertFalse(iap_proxy._is_upgrade([(b"upgrade", b"websocket")]))


async def upstream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """The app's stand-in: reads one request (Content-Length or chunked) and answers chunked with what it got."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    body = b""
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
    answer = ("%s %s saw %d bytes, token %s" % (lines[0].split(" ")[0], lines[0].split(" ")[1], len(body), "x-goog-iap-jwt-assertion" in headers)).encode()
    writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n")
    for i in range(0, len(answer), 7):
        part = answer[i : i + 7]
        writer.write(b"%x\r\n%s\r\n" % (len(part), part))
    writer.write(b"0\r\n\r\n")
    await writer.drain()
    writer.close()


class ThroughTheProxy(unittest.TestCase):
    def exchange(self, *requests: bytes) -> bytes:
        async def run() -> bytes:
            app = await asyncio.start_server(upstream, "127.0.0.1", 0)
            s = settings(UPSTREAM_PORT=str(app.sockets[0].getsockname()[1]))
            proxy = await asyncio.start_server(lambda r, w: iap_proxy.serve_connection(s, r, w), "127.0.0.1", 0)
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.sockets[0].getsockname()[1])
            for r in requests:
                writer.write(r)
            await writer.drain()
            data = await asyncio.wait_for(reader.read(-1), 10)
            writer.close()
            proxy.close()
            app.close()
            return data

        with frozen_time():
            return asyncio.run(run())

    def test_a_body_passes_both_ways_and_each_request_on_the_connection_is_checked(self):
        jwt = token().encode()
        body = b"x" * 200_000
        post = b"POST /api/contents HTTP/1.1\r\nhost: h\r\nx-goog-iap-jwt-assertion: " + jwt + b"\r\ncontent-length: %d\r\n\r\n" % len(body) + body
        chunked = b"PUT /api/contents/a HTTP/1.1\r\nhost: h\r\nx-goog-iap-jwt-assertion: " + jwt + b"\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
        anonymous = b"GET /api/contents HTTP/1.1\r\nhost: h\r\n\r\n"
        answer = self.exchange(post, chunked, anonymous)
        self.assertEqual(answer.count(b"HTTP/1.1 200 "), 2)
        self.assertEqual(chunked_bodies(answer), [b"POST /api/contents saw 200000 bytes, token False", b"PUT /api/contents/a saw 5 bytes, token False"])
        self.assertIn(b"HTTP/1.1 401 Unauthorized\r\n", answer)
        # Refused, and the connection is closed: nothing after the refusal reaches the app.
        self.assertTrue(answer.rstrip().endswith(b"Unauthorized"))

    def test_a_client_waiting_for_100_continue_gets_it_from_the_proxy(self):
        jwt = token().encode()
        answer = self.exchange(b"POST /x HTTP/1.1\r\nhost: h\r\nexpect: 100-continue\r\nx-goog-iap-jwt-assertion: " + jwt + b"\r\ncontent-length: 2\r\nconnection: close\r\n\r\nab")
        self.assertTrue(answer.startswith(b"HTTP/1.1 100 "))
        self.assertIn(b"HTTP/1.1 200 ", answer)

    def test_an_app_that_does_not_listen_is_a_502(self):
        async def run() -> bytes:
            s = settings(UPSTREAM_PORT="1")
            proxy = await asyncio.start_server(lambda r, w: iap_proxy.serve_connection(s, r, w), "127.0.0.1", 0)
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.sockets[0].getsockname()[1])
            writer.write(b"GET /api HTTP/1.1\r\nhost: h\r\n\r\n")
            data = await asyncio.wait_for(reader.read(-1), 10)
            proxy.close()
            return data

        self.assertTrue(asyncio.run(run()).startswith(b"HTTP/1.1 502 Bad Gateway\r\n"))

    def test_the_health_path_passes_without_a_token(self):
        answer = self.exchange(b"GET /api HTTP/1.1\r\nhost: h\r\nconnection: close\r\n\r\n")
        self.assertTrue(answer.startswith(b"HTTP/1.1 200 "))


if __name__ == "__main__":
    unittest.main()
