#!/usr/bin/env bash
# Build the two base images a registry-less host cannot pull:
#   - a Debian 12 minbase root filesystem with Debian's Python 3.11, imported as an image;
#   - a PostgreSQL 15 image FROM it, with the official image's POSTGRES_* interface.
# Skips an image that already exists unless --force is given.
set -euo pipefail
cd "$(dirname "$0")/.."
set -a; . registryless/images.env; set +a

force=0; [ "${1:-}" = "--force" ] && force=1
log() { printf '[base-images] %s\n' "$*"; }
have_image() { docker image inspect "$1" >/dev/null 2>&1; }

debian_mirror() {
  local uri
  uri=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)
  [ -n "$uri" ] || uri=$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)
  [ -n "$uri" ] || { echo "no Debian mirror found in apt sources" >&2; exit 1; }
  echo "$uri"
}

if [ "$force" = 1 ] || ! have_image "$PYTHON_BASE_IMAGE"; then
  command -v debootstrap >/dev/null || { echo "debootstrap missing: run registryless/install-docker.sh" >&2; exit 1; }
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  log "debootstrap bookworm into $root"
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$root" "$(debian_mirror)" >/tmp/debootstrap.log 2>&1 \
    || { tail -20 /tmp/debootstrap.log >&2; exit 1; }
  # Keep apt usable inside builds but drop caches that only bloat the image.
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  log "importing $PYTHON_BASE_IMAGE"
  tar -C "$root" -c . | docker import \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' - "$PYTHON_BASE_IMAGE" >/dev/null
  rm -rf "$root"; trap - EXIT
else
  log "$PYTHON_BASE_IMAGE exists"
fi

if [ "$force" = 1 ] || ! have_image "$POSTGRES_IMAGE"; then
  log "building $POSTGRES_IMAGE"
  docker buildx build --load -q \
    --build-arg BASE_IMAGE="$PYTHON_BASE_IMAGE" \
    -t "$POSTGRES_IMAGE" registryless/postgres >/dev/null
else
  log "$POSTGRES_IMAGE exists"
fi
