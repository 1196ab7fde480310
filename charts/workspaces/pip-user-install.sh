#!/usr/bin/env bash
# Jupyter setup step (an init container of the Jupyter image itself). Installs each requirement,
# given as NAME==VERSION, with `pip install --user` into the home volume (~/.local, on Python's path
# by default), unless that exact version is already there: a restart with everything in place does
# not touch the network. The image's own JupyterLab and Jupyter Server are passed as constraints,
# so pip never puts other versions of them in front of the image's, and an extension that does not
# fit the image's JupyterLab fails here, loudly, instead of breaking the server.
set -euo pipefail

missing=()
for requirement in "$@"; do
  name="${requirement%%==*}"
  version="${requirement#*==}"
  if python -c 'import importlib.metadata as m, sys; sys.exit(m.version(sys.argv[1]) != sys.argv[2])' "$name" "$version" 2>/dev/null; then
    echo "$requirement is already installed"
  else
    missing+=("$requirement")
  fi
done
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

constraints="$(mktemp)"
python -c '
import importlib.metadata as m
for name in ("jupyterlab", "jupyter_server"):
    try:
        print(f"{name}=={m.version(name)}")
    except m.PackageNotFoundError:
        pass
' > "$constraints"
echo "keeping the image's $(paste -sd ' ' "$constraints")"
pip install --user --no-cache-dir --constraint "$constraints" "${missing[@]}"
