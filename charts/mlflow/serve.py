"""
The MLflow server container's command: `python -c <this> mlflow server ARGS`. It starts a watcher of
the server certificate, then becomes `mlflow server ARGS` (exec), so the MLflow CLI stays the
container's main process and gets the kubelet's SIGTERM as before.

uvicorn reads its certificate once, when a worker process loads its config (encode/uvicorn 0.35.0,
uvicorn/config.py Config.load -> create_ssl_context; server.py _serve loads only an unloaded config).
cert-manager renews the certificate into the Secret, and the kubelet swaps the mounted files. The
watcher compares the first certificate of TLS_CERT_FILE with the one it saw, every TLS_CHECK_SECONDS,
and on a change makes the server present the new one:

- with 2 or more workers, SIGHUP to the uvicorn supervisor (`python -m uvicorn`, the MLflow CLI's
  child and so this watcher's sibling): it restarts its workers one after another
  (uvicorn/supervisors/multiprocess.py handle_hup -> restart_all, from uvicorn 0.30.0 on), each new
  worker loading the files again, while the others keep serving;
- then it asks the server on 127.0.0.1 for its certificate until three answers in a row are the new
  one. When that does not happen within TLS_RELOAD_WAIT_SECONDS (one worker has no supervisor to
  restart it; an older uvicorn dies of SIGHUP), it waits a random part of TLS_RESTART_SPREAD_SECONDS,
  so that replicas do not all restart at once, and sends SIGTERM to the MLflow CLI: it stops uvicorn
  gracefully and exits, and the kubelet starts the container again with the new files.

The old certificate stays valid until renewBefore has passed, so none of this is urgent.
"""
# ---- the pod runs what follows ----
import os, random, signal, ssl, sys, time

CERT = os.environ["TLS_CERT_FILE"]
CHECK_SECONDS = float(os.environ.get("TLS_CHECK_SECONDS", "60"))
RELOAD_WAIT_SECONDS = float(os.environ.get("TLS_RELOAD_WAIT_SECONDS", "180"))
RESTART_SPREAD_SECONDS = float(os.environ.get("TLS_RESTART_SPREAD_SECONDS", "600"))
PEM_END = "-----END CERTIFICATE-----"


def log(message):
    print("[mlflow-gke tls] " + message, flush=True)


def leaf(path):
    """The first certificate of a PEM file (DER), or None while the file cannot be read."""
    try:
        with open(path) as handle:
            text = handle.read()
        return ssl.PEM_cert_to_DER_cert(text[: text.index(PEM_END) + len(PEM_END)].strip())
    except (OSError, ValueError):
        return None


def served(port):
    """The certificate the server presents on 127.0.0.1 (DER), or None when it does not answer."""
    try:
        return ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate(("127.0.0.1", port), timeout=5))
    except (OSError, ValueError):
        return None


def uvicorn_supervisor():
    """PID of `python -m uvicorn` among this watcher's siblings, or None."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/" + entry + "/cmdline", "rb") as handle:
                argv = handle.read().split(b"\0")
            with open("/proc/" + entry + "/stat") as handle:
                parent = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent == os.getppid() and any(argv[i] == b"-m" and argv[i + 1] == b"uvicorn" for i in range(len(argv) - 1)):
            return int(entry)
    return None


def serves(port, certificate, timeout):
    """Whether the server presents `certificate` three times in a row within `timeout` seconds."""
    deadline = time.time() + timeout
    streak = 0
    while True:
        streak = streak + 1 if served(port) == certificate else 0
        if streak == 3:
            return True
        if time.time() > deadline:
            return False
        time.sleep(1)


def watch(port, workers, server_pid):
    last = leaf(CERT)
    while True:
        time.sleep(CHECK_SECONDS)
        current = leaf(CERT)
        if current is None or current == last:
            continue
        last = current
        log("the certificate in %s changed" % CERT)
        supervisor = uvicorn_supervisor() if workers > 1 else None
        if supervisor is not None:
            log("SIGHUP to uvicorn [%d]: its %d workers restart one after another and load the new certificate" % (supervisor, workers))
            os.kill(supervisor, signal.SIGHUP)
        if serves(port, current, RELOAD_WAIT_SECONDS if supervisor is not None else 0):
            log("the server presents the new certificate")
            continue
        pause = random.uniform(0, RESTART_SPREAD_SECONDS)
        log("the server still presents the old certificate: restarting the container in %ds" % pause)
        time.sleep(pause)
        os.kill(server_pid, signal.SIGTERM)
        return


def option(argv, name, default):
    return argv[argv.index(name) + 1] if name in argv[:-1] else default


def main(argv):
    port = int(option(argv, "--port", "5000"))
    workers = int(option(argv, "--workers", "1"))
    server_pid = os.getpid()
    if os.fork() == 0:
        try:
            watch(port, workers, server_pid)
        except Exception as error:
            log("certificate watcher stopped: %s" % (str(error) or type(error).__name__))
        os._exit(0)
    os.execvp(argv[0], argv)


main(sys.argv[1:])
