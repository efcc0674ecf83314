#!/usr/bin/env bash
# Local iteration without Docker on one code location: `dagster dev` (what `dg dev` runs) on
# user_code/LOCATION, in-process, with a SQLite instance kept in .cache/dagster-home. Its
# secrets are read from ./secrets/LOCATION. DAGSTER_HOME must point away from the repository
# root, whose dagster.yaml is the stack's (Postgres, Docker run launcher).
#   scripts/dev.sh [LOCATION] [dagster dev arguments...]   (LOCATION defaults to fanout)
set -euo pipefail
cd "$(dirname "$0")/.."
location=${1:-fanout}
[ $# -gt 0 ] && shift
[ -f "user_code/$location/pyproject.toml" ] || { echo "no code location user_code/$location" >&2; exit 2; }
bash scripts/venv.sh
# A setting still under its name before the rename (DAGSTER_DEV_PORT) gets its new one, with a
# warning (stackctl/renamed.py).
eval "$(.venv/bin/python -m stackctl.renamed)"
export DAGSTER_HOME="$PWD/.cache/dagster-home"
export STACK_LOCATION_SECRETS_DIR="$PWD/secrets/$location"
mkdir -p "$DAGSTER_HOME"
printf 'telemetry:\n  enabled: false\nnux:\n  enabled: false\n' > "$DAGSTER_HOME/dagster.yaml"
module=$(.venv/bin/python -c "import sys; from stackctl.declaration import read_location; from pathlib import Path; print(read_location(Path('.'), sys.argv[1], {}).module)" "$location")
exec .venv/bin/dagster dev -m "$module" -h 127.0.0.1 -p "${STACK_DEV_PORT:-3001}" "$@"
