#!/usr/bin/env bash
# Deploy one code location with no downtime: build its image (tag derived from its content),
# start the new code server, switch the webserver and daemon to it once it loads, retire the
# old one. A version that fails to load is refused and the old one keeps serving.
#   scripts/deploy.sh LOCATION            deploy the location's current files
#   scripts/deploy.sh --rollback LOCATION return it to its previous version
#   scripts/deploy.sh --gc                remove images no run needs (the last STACK_KEEP_IMAGES stay)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh >&2
if [ -f registryless/images.env ] && ! docker image inspect python:3.11-slim-bookworm >/dev/null 2>&1; then
  set -a; . registryless/images.env; set +a
fi
case "${1:-}" in
  "") echo "usage: scripts/deploy.sh LOCATION | --rollback LOCATION | --gc" >&2; exit 2 ;;
  --rollback) exec .venv/bin/python -m stackctl rollback "${2:?usage: scripts/deploy.sh --rollback LOCATION}" ;;
  --gc) exec .venv/bin/python -m stackctl gc ;;
  *) exec .venv/bin/python -m stackctl deploy "$1" ;;
esac
