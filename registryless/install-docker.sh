#!/usr/bin/env bash
# Provision a bare Debian 12 host with a Docker engine, Compose v2 and buildx.
# Idempotent: every step is skipped when its result is already there.
# Debian 12 ships only Compose v1, so the v2 plugins come from Debian 13 packages;
# only their cli-plugins binaries are unpacked, because installing those packages
# with apt would pull Debian 13's docker-cli and remove docker.io.
set -euo pipefail

PLUGIN_DIR=/usr/local/lib/docker/cli-plugins
log() { printf '[install-docker] %s\n' "$*"; }

debian_mirror() {
  # Read the mirror from apt's own sources, so no host is written into the repo.
  local uri
  uri=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)
  if [ -z "$uri" ]; then
    uri=$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)
  fi
  [ -n "$uri" ] || { echo "no Debian mirror found in apt sources" >&2; exit 1; }
  echo "$uri"
}

apt_updated=0
apt_update_once() {
  if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
}

if ! command -v dockerd >/dev/null 2>&1; then
  log "installing docker.io"
  apt_update_once
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi

if ! command -v debootstrap >/dev/null 2>&1; then
  log "installing debootstrap"
  apt_update_once
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

if ! docker compose version >/dev/null 2>&1 || ! docker buildx version >/dev/null 2>&1; then
  log "fetching Compose v2 and buildx plugins from Debian 13"
  mirror=$(debian_mirror)
  cat > /etc/apt/sources.list.d/trixie-plugins.list <<SRC
deb $mirror trixie main
SRC
  # A low pin keeps Debian 13 from ever being chosen for an install or upgrade.
  cat > /etc/apt/preferences.d/trixie-low <<PIN
Package: *
Pin: release n=trixie
Pin-Priority: 50
PIN
  apt-get update -qq
  apt_updated=1
  work=$(mktemp -d)
  (cd "$work" && apt-get download -qq docker-compose/trixie docker-buildx/trixie)
  mkdir -p "$PLUGIN_DIR"
  for deb in "$work"/*.deb; do
    dpkg-deb -x "$deb" "$work/x"
  done
  install -m 0755 "$work"/x/usr/libexec/docker/cli-plugins/* "$PLUGIN_DIR/"
  rm -rf "$work"
fi

if ! docker info >/dev/null 2>&1; then
  log "starting dockerd"
  # No systemd here: run the daemon in the background, logging to a file.
  nohup dockerd >/var/log/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || { echo "dockerd did not start; see /var/log/dockerd.log" >&2; exit 1; }
fi

log "docker $(docker version --format '{{.Server.Version}}'), $(docker compose version --short 2>/dev/null | sed 's/^/compose /'), $(docker buildx version | awk '{print "buildx "$2}')"
