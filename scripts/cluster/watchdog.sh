#!/usr/bin/env bash
# Stops one local control plane and removes its folder when the process it belongs to has ended, when
# its time is up, or when told to (SIGTERM, as `npm run cluster:down` does): so no cluster outlives
# the tests or the shell that started it, even when they are killed.
#
#   watchdog.sh DIR PARENT_PID|0 SECONDS
#
# DIR/pids lists the processes to stop, one a line.
# PARENT_PID 0 means no parent: only the time limit, or SIGTERM, ends it.
set -uo pipefail
dir="$1"
parent="$2"
deadline=$((SECONDS + $3))

# A pid can be reused once its process ends: the parent is known by its pid and its start time.
started_at() { [ -r "/proc/$1/stat" ] && sed 's/^.*) //' "/proc/$1/stat" | cut -d' ' -f20; }
parent_start="$([ "$parent" != 0 ] && started_at "$parent")"
alive() { [ "$parent" = 0 ] || [ "$(started_at "$parent")" = "$parent_start" ]; }

any_alive() {
  local pid
  for pid in "$@"; do kill -0 "$pid" 2> /dev/null && return 0; done
  return 1
}

# The data is thrown away, so nothing needs a long graceful stop: SIGTERM to all, two seconds to end
# (the API server's own graceful shutdown takes longer), then SIGKILL.
stop() {
  local pids=()
  [ -f "$dir/pids" ] && mapfile -t pids < "$dir/pids"
  if [ "${#pids[@]}" -gt 0 ]; then
    kill -TERM "${pids[@]}" 2> /dev/null
    for _ in $(seq 20); do
      any_alive "${pids[@]}" || break
      sleep 0.1
    done
    kill -KILL "${pids[@]}" 2> /dev/null
  fi
  rm -rf "$dir"
  exit 0
}
trap stop TERM INT HUP

while alive && [ "$SECONDS" -lt "$deadline" ]; do
  sleep 1 &
  wait $!
done
stop
