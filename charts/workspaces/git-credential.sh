#!/usr/bin/env bash
# Git credential helper of the workspaces. The rendered gitconfig names it per host:
#   [credential "https://<host>"] helper = "<this file> TOKEN_FILE"
# and git appends the operation (get, store or erase) as the last argument, with the request on
# stdin (gitcredentials(7), "Custom helpers"). For `get` it answers with the token in TOKEN_FILE,
# a Secret mounted read-only; `store`, `erase` and any other operation are ignored, as a read-only
# helper should, so the token is never written anywhere by this helper.
set -euo pipefail

token_file="$1"
operation="${2:-}"
# Read the request whole, so git never writes into a closed pipe.
cat > /dev/null
if [ "$operation" = get ]; then
  printf 'password=%s\n' "$(cat "$token_file")"
fi
