#!/usr/bin/env bash
# Sidecar of the PostgreSQL pod: makes the server load a renewed certificate. cert-manager renews the
# certificate into its Secret and the kubelet swaps the mounted files (TLS_CERT_FILE and its key);
# PostgreSQL reads them only at start and on a configuration reload, when "SSL configuration is
# reloaded as well" (postgres src/backend/postmaster/postmaster.c, SIGHUP handler; a failed reload
# keeps the old context and logs "SSL configuration was not reloaded"). Every TLS_CHECK_SECONDS this
# compares the certificate with the one it saw and, on a change, asks for the reload over the pod's
# Unix socket as the superuser (libpq variables PGHOST, PGUSER, PGPASSWORD, PGDATABASE).
set -euo pipefail

fingerprint() { sha256sum <"$TLS_CERT_FILE" 2>/dev/null || true; }

seen="$(fingerprint)"
while sleep "${TLS_CHECK_SECONDS:-60}"; do
  current="$(fingerprint)"
  if [ -z "$current" ] || [ "$current" = "$seen" ]; then
    continue
  fi
  # Until the reload succeeds (the server may be starting), the next round tries again.
  if psql --no-psqlrc --no-password --quiet --tuples-only --no-align --command='SELECT pg_reload_conf()' >/dev/null; then
    echo "certificate $TLS_CERT_FILE changed: PostgreSQL reloaded its configuration"
    seen="$current"
  fi
done
