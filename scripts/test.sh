#!/usr/bin/env bash
# README command 2: unit tests, then integration tests against a live stack that the tests
# bring up under their own compose project name and tear down (volumes included).
# Extra arguments go to pytest, e.g. `./scripts/test.sh -m "not integration"` for unit only.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
stamp=$venv/.requirements.sha256
want=$(cat requirements/constraints.txt requirements/*.in | sha256sum | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "[test] installing test dependencies into $venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    -c requirements/constraints.txt -r requirements/dev.in
  echo "$want" > "$stamp"
fi

exec "$venv/bin/python" -m pytest "$@"
