#!/usr/bin/env bash
# Restore a backup (scripts/backup.sh) into a fresh stack named by STACK_NAME, then start it.
#   STACK_NAME=fanout-restored STACK_WEBSERVER_PORT=3001 scripts/restore.sh backups/DIR
# Refuses a stack whose database already holds runs. Checks that the restored database and
# volumes match the backup's manifest before the daemon starts (no tick can run before).
set -euo pipefail
. "$(dirname "$0")/backup/common.sh"

dir=${1:?usage: scripts/restore.sh BACKUP_DIR}
for file in postgres.dump manifest.txt; do
  [ -f "$dir/$file" ] || { echo "$dir/$file is missing: not a backup directory" >&2; exit 1; }
done
started=$(date +%s%N)
bash scripts/venv.sh
# Settings still under their names before the rename (DAGSTER_*) get their new ones, with a
# warning, as the deployer gives them to compose (stackctl/renamed.py).
eval "$(.venv/bin/python -m stackctl.renamed)"

# The front door's users file must exist before compose creates its container.
.venv/bin/python -m stackctl user init
# Images, network, volumes and containers, then Postgres alone: nothing else may touch the
# database yet.
compose up --no-start --build
compose up --detach --wait postgres
if [ "$(psql_in_stack -tAc "select count(*) from pg_tables where tablename = 'runs'")" != 0 ]; then
  echo "stack $STACK_NAME already has a Dagster database: restore into a fresh stack" >&2
  exit 1
fi
compose exec -T postgres sh -c \
  'pg_restore -U "$POSTGRES_USER" -d "$POSTGRES_DB" --no-owner --exit-on-error' < "$dir/postgres.dump"
for volume in "${DATA_VOLUMES[@]}"; do
  docker run --rm -i --network none --user 0 -v "$STACK_NAME-$volume:/v" --entrypoint tar \
    "$HELPER_IMAGE" -C /v --numeric-owner -xpf - < "$dir/$volume.tar"
done

if ! diff <(manifest) "$dir/manifest.txt"; then
  echo "restored data differs from the backup's manifest (above): stack left stopped" >&2
  exit 1
fi
# The rest of the stack, with every code location deployed from this checkout.
.venv/bin/python -m stackctl up
echo "[restore] $dir -> $STACK_NAME in $(elapsed "$started") s; the manifest matches the backup's"
