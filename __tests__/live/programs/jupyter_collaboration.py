"""
Two people edit one notebook of the shared Jupyter at the same time, as JupyterLab's collaborative
front end does: a notebook is made through the Contents API, a collaboration session is asked for
(PUT /api/collaboration/session/<path>), and two clients join the document's room
(/api/collaboration/room/json:notebook:<file id>?sessionId=...) speaking the Yjs sync protocol over a
WebSocket (jupyterlab/jupyter-collaboration projects/jupyter-server-ydoc/jupyter_server_ydoc/app.py
and handlers.py at v4.1.2; the protocol's messages from pycrdt). Each adds a cell; each must see the
other's. Every connection checks the server's certificate against the CA file given, by the Service
name in the URL.

argv: base URL (https://<service name>:<port>), CA file, notebook path. Prints one JSON line.
"""
import json
import sys
import time

import websocket
from jupyter_ydoc import YNotebook
from pycrdt import Doc, YMessageType, YSyncMessageType, create_sync_message, create_update_message, handle_sync_message

from jupyter_http import iap_header, lab_session

base, ca, name = sys.argv[1:4]
DEADLINE_SECONDS = 30

http, headers = lab_session(base, ca)
empty = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
created = http.put(f"{base}/api/contents/{name}", json={"type": "notebook", "content": empty}, headers=headers, timeout=10)
created.raise_for_status()
session = http.put(f"{base}/api/collaboration/session/{name}", json={"format": "json", "type": "notebook"}, headers=headers, timeout=10)
session.raise_for_status()
room = f"json:notebook:{session.json()['fileId']}"
url = f"{base.replace('https://', 'wss://')}/api/collaboration/room/{room}?sessionId={session.json()['sessionId']}"
cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())


class Person:
    def __init__(self) -> None:
        self.doc = Doc()
        self.notebook = YNotebook(self.doc)
        self.synced = False
        self.ws = websocket.create_connection(url, sslopt={"ca_certs": ca}, cookie=cookie, header=iap_header(), timeout=1)
        self.ws.send_binary(create_sync_message(self.doc))

    def sources(self) -> list[str]:
        return [self.notebook.get_cell(i)["source"] for i in range(self.notebook.cell_number)]

    def pump(self, done) -> None:
        """Handles the room's messages until `done()`."""
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not done():
            if time.monotonic() > deadline:
                raise SystemExit(f"no agreement in {DEADLINE_SECONDS}s: this client has {self.sources()}")
            try:
                message = self.ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            if isinstance(message, bytes) and message and message[0] == YMessageType.SYNC:
                self.synced = self.synced or message[1] == YSyncMessageType.SYNC_STEP2
                reply = handle_sync_message(message[1:], self.doc)
                if reply is not None:
                    self.ws.send_binary(reply)

    def add_cell(self, source: str) -> None:
        before = self.doc.get_state()
        self.notebook.append_cell({"cell_type": "markdown", "source": source, "metadata": {}})
        self.ws.send_binary(create_update_message(self.doc.get_update(before)))


ana, ben = Person(), Person()
ana.pump(lambda: ana.synced)
ben.pump(lambda: ben.synced)
ana.add_cell("typed by ana")
ben.pump(lambda: "typed by ana" in ben.sources())
ben.add_cell("typed by ben")
ana.pump(lambda: "typed by ben" in ana.sources())

print(
    json.dumps(
        {
            "session_status": session.status_code,
            "room": room,
            "ana_sees": ana.sources(),
            "ben_sees": ben.sources(),
        }
    )
)
