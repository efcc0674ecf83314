#!/usr/bin/env bash
# Stop the stack: its code servers, run containers and services. Data volumes stay unless
# --volumes is given (then everything the stack stored is deleted); --images also removes
# the images it built.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh >&2
exec .venv/bin/python -m stackctl down "$@"
