"""A location image's version: a digest of everything its build reads, so the same inputs
always give the same tag and any change gives a new one. Pure: files in, a string out."""

import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path

VERSION_LENGTH = 12
# Never part of an image (see .dockerignore): tests, caches and local build output.
_SKIPPED_PARTS = {"tests", "__pycache__", ".pytest_cache", ".venv", "build", "dist", ".ruff_cache"}
_SKIPPED_SUFFIXES = (".pyc", ".egg-info")

# Inputs every location image is built from, beside the location's own folder.
SHARED_INPUTS = (
    "Dockerfile_user_code",
    "dagster.yaml",
    "requirements/constraints.txt",
    "requirements/location.in",
    "extensions",
    "warmpool",
)


def _skipped(relative: Path) -> bool:
    return any(part in _SKIPPED_PARTS or part.endswith(_SKIPPED_SUFFIXES) for part in relative.parts)


def _files(root: Path, entries: Iterable[str]) -> Iterator[Path]:
    for entry in entries:
        path = root / entry
        if path.is_file():
            yield path
            continue
        for found in sorted(path.rglob("*")):
            if found.is_file() and not _skipped(found.relative_to(root)):
                yield found


def build_inputs(root: Path, location: str) -> list[Path]:
    """Every file the image of `location` is built from, in a stable order."""
    return sorted(set(_files(root, [*SHARED_INPUTS, f"user_code/{location}"])))


def content_version(root: Path, location: str, build_args: dict[str, str]) -> str:
    """First hex digits of a SHA-256 over the build's files (path and bytes) and its
    arguments (for example the base image's id)."""
    digest = hashlib.sha256()
    for key in sorted(build_args):
        digest.update(f"arg {key}={build_args[key]}\n".encode())
    for path in build_inputs(root, location):
        data = path.read_bytes()
        digest.update(f"file {path.relative_to(root).as_posix()} {len(data)}\n".encode())
        digest.update(data)
    return digest.hexdigest()[:VERSION_LENGTH]


def is_version(tag: str) -> bool:
    return len(tag) == VERSION_LENGTH and all(c in "0123456789abcdef" for c in tag)
