#!/usr/bin/env bash
# Create or refresh .venv with the pinned host-side dependencies (tests, benchmark, deployer,
# local dev), the stack's own packages (extensions, warmpool, testing) and every code location
# under user_code/, editable. Re-installs only when the requirements or one of those
# packages' pyproject.toml changed. Used by scripts/up.sh and scripts/test.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

venv=.venv
# Tests that run the scripts from a copy of the checkout share the repository's venv as it is.
if [ -n "${STACK_VENV_FROZEN:-}" ] && [ -x "$venv/bin/python" ]; then
  exit 0
fi
stamp=$venv/.requirements.sha256
locations=(user_code/*/pyproject.toml)
# The stack's own packages, dev.in's `-e ./DIR` lines: their pyproject.toml (dependencies, the
# test plugin's entry point) is read at install time, so a change to one reinstalls too.
mapfile -t packages < <(sed -n 's|^-e \./\(.*\)$|\1/pyproject.toml|p' requirements/dev.in)
want=$(cat requirements/constraints.txt requirements/*.in "${locations[@]}" "${packages[@]}" \
  | sha256sum | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "[venv] installing pinned dependencies and ${#locations[@]} code locations into $venv"
  editable=()
  for pyproject in "${locations[@]}"; do editable+=(-e "$(dirname "$pyproject")"); done
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    -c requirements/constraints.txt -r requirements/dev.in "${editable[@]}" \
    2> >(grep -v "^WARNING: Location" >&2)
  echo "$want" > "$stamp"
fi
