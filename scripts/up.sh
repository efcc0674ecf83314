#!/usr/bin/env bash
# README command 1: build and start the stack, deploy every code location in workspace.yaml
# (each from its own versioned image), and print where the UI is.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh
if [ -f registryless/images.env ] && ! docker image inspect python:3.11-slim-bookworm >/dev/null 2>&1; then
  # A registry-less host: the locally built base images and the wheelhouse.
  set -a; . registryless/images.env; set +a
fi
exec .venv/bin/python -m stackctl up
