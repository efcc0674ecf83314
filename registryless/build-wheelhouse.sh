#!/usr/bin/env bash
# Download every wheel the images need (CPython 3.11, manylinux x86_64) into a wheelhouse on
# the host, for builds whose pip cannot reach PyPI. The Dockerfiles bind-mount it at /wheels
# for one RUN step, so no wheel lands in an image layer.
set -euo pipefail
cd "$(dirname "$0")/.."
set -a; . registryless/images.env; set +a
dest=registryless/wheelhouse
mkdir -p "$dest"
locations=$(mktemp)
trap 'rm -f "$locations"' EXIT
# The stack's venv has pip; Debian's python3 may not.
python=python3; [ -x .venv/bin/python ] && python=.venv/bin/python
"$python" registryless/location_requirements.py . > "$locations"
"$python" -m pip download --quiet --disable-pip-version-check \
  --only-binary=:all: --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 \
  --python-version 3.11 --implementation cp --abi cp311 \
  -d "$dest" -c requirements/constraints.txt \
  -r requirements/dagster.in -r requirements/location.in -r requirements/build.in \
  -r requirements/objectstore.in -r "$locations" \
  2> >(grep -v "^WARNING: Location" >&2)
count=$(find "$dest" -name '*.whl' | wc -l)
[ "$count" -gt 0 ] || { echo "wheelhouse is empty" >&2; exit 1; }
echo "[wheelhouse] $count wheels in $dest ($(du -sh "$dest" | cut -f1))"
