#!/usr/bin/env bash
# Regenerates the locks of what the workspaces install at start (config/workspace-locks/*.lock) from
# their .in files, with uv: every package pinned (==) with the sha256 of each of its wheels, for every
# Python the images may run (--universal, from 3.10), wheels only (no build step runs code at install).
#   npm run workspace:lock        (needs uv on PATH and the package index)
# The collaboration lock leaves out what JupyterLab itself needs (image-jupyterlab.in): the Jupyter
# image provides those, and pip, in hash-checking mode, takes an installed package that satisfies a
# dependency without downloading it. A dependency neither locked nor installed fails the install.
set -euo pipefail
cd "$(dirname "$0")/../config/workspace-locks"

compile() { # IN OUT
  uv pip compile --quiet --universal --python-version 3.10 --generate-hashes --only-binary :all: \
    --no-header --no-annotate --custom-compile-command 'npm run workspace:lock' "$1" -o "$2"
}

compile mlflow-client.in mlflow-client.lock
compile pip.in pip.lock

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
compile jupyter-collaboration.in "$tmp/collaboration.lock"
compile image-jupyterlab.in "$tmp/jupyterlab.lock"
# The names JupyterLab's own closure pins (a lock line that starts a requirement: "name==version").
sed -n 's/^\([A-Za-z0-9._-]*\)==.*/\1/p' "$tmp/jupyterlab.lock" | tr 'A-Z_.' 'a-z--' | sort -u >"$tmp/image-names"
# Keep each requirement (its first line and its --hash continuation lines) whose name is not among them.
awk -v names="$tmp/image-names" '
  BEGIN { while ((getline n < names) > 0) skip[n] = 1 }
  /^[A-Za-z0-9]/ { name = tolower($0); sub(/[=; ].*/, "", name); gsub(/[_.]/, "-", name); keep = !(name in skip) }
  keep { print }
' "$tmp/collaboration.lock" >jupyter-collaboration.lock
