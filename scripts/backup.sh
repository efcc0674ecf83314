#!/usr/bin/env bash
# Back up the stack: its Postgres database (pg_dump, a consistent snapshot) and the data
# volumes (IO storage, step logs, records files), with a manifest of what they hold.
#   scripts/backup.sh [DIR]        (default: backups/STACK_NAME-YYYYmmdd-HHMMSS)
# The stack keeps running. For a backup that matches the volumes exactly, stop the daemon
# first (`docker compose stop daemon`: no new runs start) and let running runs finish.
set -euo pipefail
. "$(dirname "$0")/backup/common.sh"

dir=${1:-backups/$STACK_NAME-$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$dir"
started=$(date +%s%N)

compose exec -T postgres sh -c 'pg_dump -U "$POSTGRES_USER" -d "$POSTGRES_DB" --format=custom' \
  > "$dir/postgres.dump"
for volume in "${DATA_VOLUMES[@]}"; do
  docker run --rm --network none --user 0 -v "$STACK_NAME-$volume:/v:ro" --entrypoint tar \
    "$HELPER_IMAGE" -C /v --numeric-owner -cf - . > "$dir/$volume.tar"
done
manifest > "$dir/manifest.txt"

echo "[backup] $STACK_NAME -> $dir in $(elapsed "$started") s"
cat "$dir/manifest.txt"
