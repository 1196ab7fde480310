#!/usr/bin/env bash
# The code-server container's command: `bash -c <this> code-server-tls.sh ENTRYPOINT ARGS...`. It starts
# a watcher of the server certificate, then becomes ENTRYPOINT ARGS (exec), the image's own entrypoint,
# which becomes dumb-init and code-server: the container's first process stays the one the kubelet
# signals.
#
# code-server reads --cert and --cert-key once, when it creates its server (coder/code-server v4.104.0,
# src/node/app.ts createApp: fs.readFile of both into httpolyglot.createServer). cert-manager renews
# the certificate into its Secret and the kubelet swaps the mounted files (TLS_CERT_FILE and its key);
# only a new process reads them. So when the certificate changes, the watcher ends the container with
# SIGTERM to its first process: dumb-init "proxies all received signals to a session rooted at that
# child process" and "if your process dies, dumb-init will also die" (Yelp/dumb-init README.md at
# v1.2.5). The kubelet then starts the container again, with the new files.
#
# A restart ends what runs in the terminals, so the watcher waits for a quiet moment: code-server
# touches its heartbeat file (CODE_SERVER_HEARTBEAT) when a request other than /healthz arrives, and
# every minute while a connection is open (src/node/heart.ts, src/node/routes/index.ts). The restart
# comes once that file is TLS_IDLE_SECONDS old (or missing), and at the latest TLS_RESTART_DEADLINE_SECONDS
# after the change: the old certificate stays valid until renewBefore has passed.
set -euo pipefail

server_pid=$$

log() { echo "[mlflow-gke tls] $*"; }

fingerprint() { sha256sum <"$TLS_CERT_FILE" 2>/dev/null || true; }

# Seconds since code-server last showed activity; empty when it never did since the volume exists.
idle_seconds() {
  local beat
  beat="$(stat -c %Y "$CODE_SERVER_HEARTBEAT" 2>/dev/null)" || return 0
  echo $(($(date +%s) - beat))
}

watch_certificate() {
  local seen current changed_at="" idle
  seen="$(fingerprint)"
  while sleep "${TLS_CHECK_SECONDS:-60}"; do
    # Nothing left to restart (outside a container nothing else ends this loop).
    kill -0 "$server_pid" 2>/dev/null || return 0
    if [ -z "$changed_at" ]; then
      current="$(fingerprint)"
      if [ -z "$current" ] || [ "$current" = "$seen" ]; then
        continue
      fi
      changed_at="$(date +%s)"
      log "the certificate in $TLS_CERT_FILE changed: code-server restarts once nobody has used it for ${TLS_IDLE_SECONDS}s, at the latest in ${TLS_RESTART_DEADLINE_SECONDS}s"
    fi
    idle="$(idle_seconds)"
    if [ -n "$idle" ] && [ "$idle" -lt "$TLS_IDLE_SECONDS" ] && [ $(($(date +%s) - changed_at)) -lt "$TLS_RESTART_DEADLINE_SECONDS" ]; then
      continue
    fi
    log "restarting code-server to serve the new certificate (${idle:-no} seconds since its last use)"
    kill -TERM "$server_pid"
    return 0
  done
}

watch_certificate &
exec "$@"
