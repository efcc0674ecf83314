#!/usr/bin/env bash
# Create or refresh .venv with the pinned host-side dependencies (tests, benchmark, local dev).
# Re-installs only when requirements/ changed. Sourced by scripts/test.sh and scripts/dev.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

venv=.venv
stamp=$venv/.requirements.sha256
want=$(cat requirements/constraints.txt requirements/*.in | sha256sum | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "[venv] installing pinned dependencies into $venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    -c requirements/constraints.txt -r requirements/dev.in
  echo "$want" > "$stamp"
fi
