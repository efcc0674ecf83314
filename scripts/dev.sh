#!/usr/bin/env bash
# Local iteration without Docker: `dagster dev` on the user code, in-process executor, with a
# SQLite instance kept in .cache/dagster-home. DAGSTER_HOME must point away from the
# repository root, whose dagster.yaml is the stack's (Postgres, Docker run launcher).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh
export DAGSTER_HOME="$PWD/.cache/dagster-home"
mkdir -p "$DAGSTER_HOME"
printf 'telemetry:\n  enabled: false\nnux:\n  enabled: false\n' > "$DAGSTER_HOME/dagster.yaml"
exec .venv/bin/dagster dev -m user_code.definitions -h 127.0.0.1 -p "${DAGSTER_DEV_PORT:-3001}" "$@"
