#!/usr/bin/env bash
# Jupyter setup step (an init container of the Jupyter image itself).
#   pip-user-install.sh LOCK NAME==VERSION...
# Installs LOCK, a requirement file in which every package is pinned with == and carries the sha256
# of each of its files (config/workspace-locks/*.lock), with `pip install --user` into the home volume
# (~/.local, on Python's path by default), unless each NAME==VERSION given is already there: a restart
# with everything in place does not touch the network. pip runs in hash-checking mode
# (--require-hashes): every file it downloads, dependencies included, must match a hash of the lock,
# and a dependency the lock does not pin fails the install unless the image already satisfies it.
# Wheels only (--only-binary=:all:): no package runs a build step here. The image's own JupyterLab
# and Jupyter Server are passed as constraints, so pip never puts other versions of them in front of
# the image's, and an extension that does not fit the image's JupyterLab fails here, loudly, instead
# of breaking the server. pip itself is the image's: it is never upgraded here.
set -euo pipefail

lock="$1"
shift

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
if [ ! -r "$lock" ]; then
  echo "pip-user-install: no lock file at $lock" >&2
  exit 2
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
echo "installing ${missing[*]} from $lock"
pip install --user --no-cache-dir --require-hashes --only-binary=:all: --constraint "$constraints" --requirement "$lock"
