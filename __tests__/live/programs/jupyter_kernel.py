"""
Runs a program of this folder in a notebook kernel of the running Jupyter server, as a notebook cell
would: the server starts the kernel (POST /api/kernels), so the kernel has the server's environment
(the MLflow tracking URI, its account, the CA bundle); the cell's code goes over the kernel's
WebSocket (/api/kernels/<id>/channels, Jupyter messaging protocol 5.3, JSON messages with their
channel: jupyter_server services/kernels/connection/channels.py), its output comes back on the iopub
channel. Every connection checks the server's certificate against the CA file given, by the Service
name in the URL. KERNEL_ENV (JSON) is set in the kernel's os.environ first.

argv: base URL, CA file, program path, the program's arguments. Prints the program's last output
line (its JSON), or exits non-zero with the kernel's error.
"""
import json
import os
import sys
import time
import uuid

import websocket

from jupyter_http import iap_header, lab_session

base, ca, program, *program_args = sys.argv[1:]
DEADLINE_SECONDS = 240

http, headers = lab_session(base, ca)
kernel = http.post(f"{base}/api/kernels", json={"name": "python3"}, headers=headers, timeout=60)
kernel.raise_for_status()
kernel_id = kernel.json()["id"]
session = uuid.uuid4().hex
cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
ws = websocket.create_connection(
    f"{base.replace('https://', 'wss://')}/api/kernels/{kernel_id}/channels?session_id={session}", sslopt={"ca_certs": ca}, cookie=cookie, header=iap_header(), timeout=5
)

code = "\n".join(
    [
        "import json, os, sys",
        f"os.environ.update(json.loads({os.environ.get('KERNEL_ENV', '{}')!r}))",
        f"sys.argv = {[program, *program_args]!r}",
        f"exec(compile(open({program!r}).read(), {program!r}, 'exec'))",
    ]
)
msg_id = uuid.uuid4().hex
ws.send(
    json.dumps(
        {
            "header": {"msg_id": msg_id, "session": session, "username": "", "msg_type": "execute_request", "version": "5.3", "date": ""},
            "parent_header": {},
            "metadata": {},
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
            "channel": "shell",
            "buffers": [],
        }
    )
)

stdout, stderr, reply, idle = "", "", None, False
deadline = time.monotonic() + DEADLINE_SECONDS
while reply is None or not idle:
    if time.monotonic() > deadline:
        sys.exit(f"the kernel did not finish in {DEADLINE_SECONDS}s; output so far:\n{stdout}{stderr}")
    try:
        message = json.loads(ws.recv())
    except websocket.WebSocketTimeoutException:
        continue
    if message.get("parent_header", {}).get("msg_id") != msg_id:
        continue
    kind, content = message["header"]["msg_type"], message["content"]
    if kind == "stream":
        if content["name"] == "stdout":
            stdout += content["text"]
        else:
            stderr += content["text"]
    elif kind == "error":
        stderr += "\n".join(content["traceback"])
    elif kind == "status" and content["execution_state"] == "idle":
        idle = True
    elif kind == "execute_reply":
        reply = content
ws.close()
http.delete(f"{base}/api/kernels/{kernel_id}", headers=headers, timeout=30)
if reply["status"] != "ok":
    sys.exit(f"the cell failed ({reply.get('ename')}: {reply.get('evalue')}):\n{stdout}{stderr}")
print(stdout.strip().split("\n")[-1])
