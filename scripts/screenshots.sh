#!/usr/bin/env bash
# Regenerate the screenshots of the README and docs/ui.md (docs/screenshots/) with the
# browser tests: like ./scripts/test.sh it starts a throw-away stack and tears it down, but
# runs only the `ui` tests;
# the steps they mark for the docs are copied into docs/screenshots/. Every step's screenshot
# is in test-artifacts/ui/ as usual. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
FANOUT_UI_DOCS_DIR=docs/screenshots exec ./scripts/test.sh -m ui "$@"
