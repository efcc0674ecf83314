# Shared by backup.sh and restore.sh: the stack's settings the way docker compose reads them
# (an exported variable wins over .env), and the data volumes a backup holds.
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

setting() {
  local value="${!1:-}"
  if [ -z "$value" ] && [ -f .env ]; then
    value=$(sed -n "s/^$1=//p" .env | tail -n 1)
  fi
  [ -n "$value" ] || { echo "$1 is not set (environment or .env)" >&2; exit 1; }
  printf '%s' "$value"
}

STACK_NAME=$(setting STACK_NAME)
# Image of the throwaway containers that read and write the volumes (tar, sha256sum): the
# Postgres image, which a fresh stack has before anything is built.
HELPER_IMAGE=$(setting POSTGRES_IMAGE)
# The run volumes: IO manager outputs, step logs, records files. Postgres is dumped with
# pg_dump instead of copied; the secrets volume is rebuilt from .env by the pgpass service.
DATA_VOLUMES=(storage compute-logs data)

compose() { docker compose --project-name "$STACK_NAME" "$@"; }

psql_in_stack() {
  compose exec -T postgres sh -c 'psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" "$@"' psql "$@"
}

# One line per volume: its files, sizes and contents, digested.
volume_manifest() {
  local volume="$STACK_NAME-$1"
  docker run --rm --network none --user 0 -v "$volume:/v:ro" --entrypoint sh "$HELPER_IMAGE" -c \
    'cd /v && find . -type f -print0 | sort -z | xargs -0 -r sha256sum | sha256sum | cut -c1-32' \
    | sed "s/^/volume:$1 /"
}

manifest() {
  psql_in_stack < scripts/backup/manifest.sql
  local volume
  for volume in "${DATA_VOLUMES[@]}"; do volume_manifest "$volume"; done
}

# Seconds since $1 (from `date +%s%N`), one decimal.
elapsed() {
  local tenths=$(( ($(date +%s%N) - $1) / 100000000 ))
  printf '%d.%d' $((tenths / 10)) $((tenths % 10))
}
