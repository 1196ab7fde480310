"""
The cluster's DNS for a pod's Python processes run locally (local/pod-runner.ts puts this folder on
PYTHONPATH; Python imports `sitecustomize` at start-up): MLFLOW_GKE_LOCAL_HOSTS, a JSON object of
"host:port" (as the pod names it) to "127.0.0.1:port" (where the local process listens), makes
socket.getaddrinfo answer the local address for those names. Everything above the socket (TLS with
the server name the pod uses, HTTP Host headers, MLflow's client) stays exactly as in the pod.
"""
import json
import os
import socket

_HOSTS = {}
for _name, _target in json.loads(os.environ.get("MLFLOW_GKE_LOCAL_HOSTS") or "{}").items():
    _host, _, _port = _name.rpartition(":")
    _to_host, _, _to_port = _target.rpartition(":")
    _HOSTS[(_host.lower(), int(_port))] = (_to_host, int(_to_port))

if _HOSTS:
    _getaddrinfo = socket.getaddrinfo

    def _local_getaddrinfo(host, port, *args, **kwargs):
        key = (host.decode() if isinstance(host, bytes) else str(host or "")).lower().rstrip(".")
        try:
            target = _HOSTS.get((key, int(port)))
        except (TypeError, ValueError):
            target = None
        if target is not None:
            return _getaddrinfo(target[0], target[1], *args, **kwargs)
        return _getaddrinfo(host, port, *args, **kwargs)

    socket.getaddrinfo = _local_getaddrinfo
