# Sourced by scripts/up.sh, scripts/deploy.sh and scripts/test.sh: provisions only what this
# machine lacks, says what it does, and is idempotent. On a machine with Docker, Compose v2,
# buildx, a registry and PyPI it only checks, and the stack builds from the official images.
#   - no Docker engine (or no Compose v2 / buildx plugin): on Debian as root, Debian's docker.io
#     plus the plugins (registryless/install-docker.sh); elsewhere, a message naming what to install;
#   - no registry answers for the base image: the locally built base images (registryless/);
#   - builds cannot reach PyPI: the host-side wheelhouse, refreshed when a requirement changes.
# What it chose is kept in .cache/provisioned.env and exported to the caller.

PROVISIONED_ENV=.cache/provisioned.env

provision_log() { printf '[provision] %s\n' "$*" >&2; }
provision_fail() { printf '[provision] %s\n' "$*" >&2; exit 1; }

_setting() {
  # An exported value wins over .env, as docker compose reads them.
  local value="${!1:-}"
  if [ -z "$value" ] && [ -f .env ]; then
    value=$(sed -n "s/^$1=//p" .env | tail -n 1)
  fi
  printf '%s' "$value"
}

_can_install() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }

provision_packages() {
  # Debian packages the host side needs (python3-venv for .venv; Chromium and fonts for the
  # browser tests): installed when missing and this is Debian as root.
  local missing=()
  for package in "$@"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  _can_install || provision_fail "missing packages: ${missing[*]} (install them, e.g. apt-get install ${missing[*]})"
  provision_log "installing ${missing[*]} from Debian"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

provision_engine() {
  if docker info >/dev/null 2>&1 && docker compose version >/dev/null 2>&1 && docker buildx version >/dev/null 2>&1; then
    return 0
  fi
  if _can_install; then
    provision_log "no running Docker engine with Compose v2 and buildx: installing them (registryless/install-docker.sh)"
    bash registryless/install-docker.sh >&2
  else
    docker info >/dev/null 2>&1 || provision_fail "no Docker engine answers: install Docker (Docker Desktop, or docker.io on Debian) and start it"
    provision_fail "Docker lacks the Compose v2 or buildx plugin: install docker-compose-plugin and docker-buildx-plugin"
  fi
}

_registry_answers() {
  local image=$1
  docker image inspect "$image" >/dev/null 2>&1 && return 0
  provision_log "pulling $image"
  timeout 300 docker pull -q "$image" >/dev/null 2>&1
}

_pypi_reachable_in_builds() {
  # What a Dockerfile's pip step sees: a container of the base image on the default network.
  docker run --rm "$1" python3 -c \
    "import urllib.request; urllib.request.urlopen('https://pypi.org/simple/pip/', timeout=10)" >/dev/null 2>&1
}

_wheelhouse_stamp() {
  cat requirements/constraints.txt requirements/*.in user_code/*/pyproject.toml | sha256sum | cut -d' ' -f1
}

_load_provisioned() {
  # The earlier choice, where the environment does not set the value itself.
  local key value
  while IFS='=' read -r key value; do
    case "$key" in ''|'#'*) continue ;; esac
    value=${value#\"}; value=${value%\"}
    [ -n "${!key+set}" ] || export "$key=$value"
  done < "$PROVISIONED_ENV"
}

provision_images() {
  local base postgres pip_args
  if [ -f "$PROVISIONED_ENV" ]; then
    _load_provisioned
  fi
  base=$(_setting PYTHON_BASE_IMAGE)
  postgres=$(_setting POSTGRES_IMAGE)
  pip_args=$(_setting PIP_INSTALL_ARGS)
  if [ ! -f "$PROVISIONED_ENV" ] || ! docker image inspect "$base" >/dev/null 2>&1 \
      || ! docker image inspect "$postgres" >/dev/null 2>&1; then
    if _registry_answers "$base" && _registry_answers "$postgres"; then
      provision_log "base images: $base and $postgres"
    else
      provision_log "no registry answers: building local base images (registryless/build-base-images.sh)"
      base=$(sed -n 's/^PYTHON_BASE_IMAGE=//p' registryless/images.env)
      postgres=$(sed -n 's/^POSTGRES_IMAGE=//p' registryless/images.env)
      PYTHON_BASE_IMAGE=$base POSTGRES_IMAGE=$postgres bash registryless/build-base-images.sh >&2
    fi
    if [ -z "$pip_args" ] && ! _pypi_reachable_in_builds "$base"; then
      provision_log "builds cannot reach PyPI: they install from the host's wheelhouse"
      pip_args="--no-index --find-links /wheels"
    fi
    mkdir -p "$(dirname "$PROVISIONED_ENV")"
    {
      echo "# Written by scripts/lib/provision.sh: what this machine builds from. Delete to probe again."
      echo "PYTHON_BASE_IMAGE=$base"
      echo "POSTGRES_IMAGE=$postgres"
      echo "PIP_INSTALL_ARGS=\"$pip_args\""
    } > "$PROVISIONED_ENV"
  fi
  export PYTHON_BASE_IMAGE=$base POSTGRES_IMAGE=$postgres PIP_INSTALL_ARGS=$pip_args
  if [ -n "$pip_args" ] && [ "$(cat registryless/wheelhouse/.stamp 2>/dev/null)" != "$(_wheelhouse_stamp)" ]; then
    provision_log "downloading the wheelhouse on the host (registryless/build-wheelhouse.sh)"
    bash registryless/build-wheelhouse.sh >&2
    _wheelhouse_stamp > registryless/wheelhouse/.stamp
  fi
}
