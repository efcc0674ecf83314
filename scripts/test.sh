#!/usr/bin/env bash
# README command 2: provision what this machine lacks (as command 1 does, plus Debian's
# Chromium and fonts for the browser tests), then unit tests, then integration tests against
# a live stack that the tests bring up under their own name and tear down (volumes included).
# Extra arguments go to pytest, e.g. `./scripts/test.sh -m "not integration"` for unit only
# (then neither Docker nor a browser is installed: those tests need no service).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/provision.sh
provision_packages python3-venv
bash scripts/venv.sh
case " $* " in
  *" not integration"*) ;;
  *)
    provision_packages chromium fonts-liberation fonts-dejavu-core
    provision_engine
    provision_images
    ;;
esac
exec .venv/bin/python -m pytest "$@"
