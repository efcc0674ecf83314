#!/usr/bin/env bash
# README command 1: provision what this machine lacks (scripts/lib/provision.sh), build and
# start the stack, deploy every code location in workspace.yaml (each from its own versioned
# image), and print where the UI is.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/provision.sh
provision_packages python3-venv
bash scripts/venv.sh
provision_engine
provision_images
exec .venv/bin/python -m stackctl up
