#!/usr/bin/env bash
# README command 2: unit tests, then integration tests against a live stack that the tests
# bring up under their own compose project name and tear down (volumes included).
# Extra arguments go to pytest, e.g. `./scripts/test.sh -m "not integration"` for unit only.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh
exec .venv/bin/python -m pytest "$@"
