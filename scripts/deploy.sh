#!/usr/bin/env bash
# Deploy one code location with no downtime: build its image (tag derived from its content),
# start the new code server, switch the webserver and daemon to it once it loads, retire the
# old one. A version that fails to load is refused and the old one keeps serving.
#   scripts/deploy.sh LOCATION            deploy the location's current files
#   scripts/deploy.sh --rollback LOCATION return it to its previous version
#   scripts/deploy.sh --gc                remove images no run needs (the last STACK_KEEP_IMAGES stay)
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  "") echo "usage: scripts/deploy.sh LOCATION | --rollback LOCATION | --gc" >&2; exit 2 ;;
esac
. scripts/lib/provision.sh
bash scripts/venv.sh >&2
provision_engine
provision_images
case "$1" in
  --rollback) exec .venv/bin/python -m stackctl rollback "${2:?usage: scripts/deploy.sh --rollback LOCATION}" ;;
  --gc) exec .venv/bin/python -m stackctl gc ;;
  *) exec .venv/bin/python -m stackctl deploy "$1" ;;
esac
