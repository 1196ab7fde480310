"""The MLflow server container's command (charts/mlflow/serve.py) with real processes, real TLS and
real signals: it becomes the server command itself, and when the mounted certificate changes the
server ends up presenting the new one, by SIGHUP to the uvicorn supervisor with 2+ workers, by a
container restart with 1.

Stand-ins: `mlflow` is a small program that, like `mlflow server`, runs `python -m uvicorn ARGS` as
its child and forwards SIGTERM; `uvicorn` is a module that serves TLS on 127.0.0.1 and, like
uvicorn's supervisor restarting its workers, loads the certificate files again on SIGHUP. Certificates
come from openssl."""
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest
from typing import Optional

import pod

FAKE_UVICORN = textwrap.dedent(
    """
    import os, signal, socket, ssl, sys
    port = int(sys.argv[sys.argv.index("--port") + 1])
    state = {}
    def load(*_):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(os.environ["FAKE_CERT"], os.environ["FAKE_KEY"])
        state["context"] = context
        print("uvicorn stand-in: loaded the certificate", flush=True)
    load()
    signal.signal(signal.SIGHUP, load)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen()
    while True:
        connection, _ = listener.accept()
        try:
            state["context"].wrap_socket(connection, server_side=True).close()
        except (OSError, ssl.SSLError):
            connection.close()
    """
)

FAKE_MLFLOW = textwrap.dedent(
    """
    import os, signal, subprocess, sys
    child = subprocess.Popen([sys.executable, "-m", "uvicorn", *sys.argv[2:]])
    def stop(signum, frame):
        with open(os.environ["FAKE_STOPPED"], "w") as handle:
            handle.write(str(signum))
        child.terminate()
    signal.signal(signal.SIGTERM, stop)
    sys.exit(child.wait())
    """
)


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def served(port: int) -> Optional[bytes]:
    try:
        return ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate(("127.0.0.1", port), timeout=2))
    except OSError:
        return None


def der(path: str) -> bytes:
    with open(path) as handle:
        return ssl.PEM_cert_to_DER_cert(handle.read())


class CertificateRenewal(unittest.TestCase):
    dir = ""

    @classmethod
    def setUpClass(cls) -> None:
        cls.dir = tempfile.mkdtemp(prefix="mlflow-gke-serve-")
        d = cls.dir
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.crt", "-subj", "/CN=test CA", "-days", "1")
        for name in ("old", "new"):
            openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{d}/{name}.key", "-out", f"{d}/{name}.csr", "-subj", "/CN=mlflow")
            openssl("x509", "-req", "-in", f"{d}/{name}.csr", "-CA", f"{d}/ca.crt", "-CAkey", f"{d}/ca.key", "-out", f"{d}/{name}.crt", "-days", "1")
        os.makedirs(f"{d}/uvicorn")
        with open(f"{d}/uvicorn/__main__.py", "w") as handle:
            handle.write(FAKE_UVICORN)
        with open(f"{d}/mlflow", "w") as handle:
            handle.write("#!" + sys.executable + "\n" + FAKE_MLFLOW)
        os.chmod(f"{d}/mlflow", 0o755)

    @classmethod
    def tearDownClass(cls) -> None:
        subprocess.run(["rm", "-rf", cls.dir], check=False)

    def install(self, tls: str, name: str) -> None:
        """Puts a key pair in place as the kubelet updates a Secret volume: whole files, swapped atomically."""
        for ext in ("crt", "key"):
            # cert-manager's tls.crt holds the server's certificate first, then its chain.
            parts = [f"{self.dir}/{name}.{ext}", *([f"{self.dir}/ca.crt"] if ext == "crt" else [])]
            with open(f"{tls}/tls.{ext}.tmp", "w") as target:
                for part in parts:
                    with open(part) as source:
                        target.write(source.read())
            os.replace(f"{tls}/tls.{ext}.tmp", f"{tls}/tls.{ext}")

    def start(self, workers: int) -> tuple[subprocess.Popen[str], int, str]:
        tls = tempfile.mkdtemp(dir=self.dir)
        self.install(tls, "old")
        port = free_port()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": self.dir,
            "TLS_CERT_FILE": f"{tls}/tls.crt",
            "TLS_CHECK_SECONDS": "0.2",
            "TLS_RELOAD_WAIT_SECONDS": "10",
            "TLS_RESTART_SPREAD_SECONDS": "0",
            "FAKE_CERT": f"{tls}/tls.crt",
            "FAKE_KEY": f"{tls}/tls.key",
            "FAKE_STOPPED": f"{tls}/stopped",
        }
        argv = [f"{self.dir}/mlflow", "server", "--host", "0.0.0.0", "--port", str(port), "--workers", str(workers)]
        process = subprocess.Popen([sys.executable, "-c", pod.program("serve"), *argv], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.addCleanup(self.stop, process)
        self.assertTrue(self.wait_for(lambda: served(port) == der(f"{self.dir}/old.crt")), "the server never presented the first certificate")
        return process, port, tls

    def stop(self, process: subprocess.Popen[str]) -> None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
        if process.stdout:
            process.stdout.close()

    def wait_for(self, condition, timeout: float = 20) -> bool:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if condition():
                return True
            time.sleep(0.2)
        return False

    def output(self, process: subprocess.Popen[str]) -> str:
        os.killpg(process.pid, signal.SIGKILL)
        return process.communicate()[0]

    def test_it_becomes_the_server_command(self):
        process, _, tls = self.start(workers=2)
        # exec: the PID the kubelet started is now the server command, whose SIGTERM stops the server.
        with open(f"/proc/{process.pid}/cmdline", "rb") as handle:
            self.assertEqual(handle.read().split(b"\0")[1:3], [f"{self.dir}/mlflow".encode(), b"server"])
        os.kill(process.pid, signal.SIGTERM)
        self.assertTrue(self.wait_for(lambda: os.path.exists(f"{tls}/stopped")))
        process.wait(timeout=10)

    def test_with_two_workers_a_renewed_certificate_is_served_without_a_restart(self):
        process, port, tls = self.start(workers=2)
        self.install(tls, "new")
        self.assertTrue(self.wait_for(lambda: served(port) == der(f"{self.dir}/new.crt")), "the server kept presenting the old certificate")
        # The watcher wants three answers in a row, a second apart, before it says so.
        time.sleep(3.5)
        self.assertIsNone(process.poll(), "the server command ended")
        self.assertFalse(os.path.exists(f"{tls}/stopped"))
        log = self.output(process)
        self.assertRegex(log, r"SIGHUP to uvicorn \[\d+\]: its 2 workers restart one after another")
        self.assertIn("the server presents the new certificate", log)
        self.assertEqual(log.count("uvicorn stand-in: loaded the certificate"), 2)

    def test_with_one_worker_the_container_restarts(self):
        process, _, tls = self.start(workers=1)
        self.install(tls, "new")
        # One uvicorn process has no supervisor to restart workers: SIGTERM to the server command,
        # which stops uvicorn and exits; the kubelet then starts the container on the new files.
        self.assertTrue(self.wait_for(lambda: process.poll() is not None), "the server command was not stopped")
        with open(f"{tls}/stopped") as handle:
            self.assertEqual(handle.read(), str(int(signal.SIGTERM)))
        log = self.output(process)
        self.assertNotIn("SIGHUP", log)
        self.assertIn("the server still presents the old certificate: restarting the container in 0s", log)

    def test_an_unchanged_certificate_changes_nothing(self):
        process, port, tls = self.start(workers=2)
        self.install(tls, "old")
        time.sleep(1.5)
        self.assertEqual(served(port), der(f"{self.dir}/old.crt"))
        log = self.output(process)
        self.assertNotIn("changed", log)
        self.assertEqual(log.count("uvicorn stand-in: loaded the certificate"), 1)


if __name__ == "__main__":
    unittest.main()
