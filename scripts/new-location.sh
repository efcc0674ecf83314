#!/usr/bin/env bash
# Scaffold a new code location user_code/NAME (a Dagster project in the dg layout, with an
# example asset, job and schedule) and add its line to workspace.yaml. Then:
#   scripts/deploy.sh NAME
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh >&2
exec .venv/bin/python -m stackctl.scaffold "$@"
