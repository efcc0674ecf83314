"""A location image's version: a digest of everything its build reads, so the same inputs
always give the same tag and any change gives a new one. Pure: files in, a string out.

The files are those Docker sends in the build context: `.dockerignore`'s patterns decide,
read with pathspec, so the version follows exactly what the image is built from."""

import hashlib
from pathlib import Path

import pathspec

VERSION_LENGTH = 12

# What Dockerfile_user_code copies from the build context, beside the location's folder.
SHARED_INPUTS = (
    "Dockerfile_user_code",
    "dagster.yaml",
    "requirements/constraints.txt",
    "requirements/location.in",
    "extensions",
    "warmpool",
)


def dockerignore_spec(root: Path) -> pathspec.GitIgnoreSpec:
    """`.dockerignore` as a path matcher. Docker anchors every pattern at the context's root
    (`tests` is ./tests only, `**/tests` is any); gitignore's syntax anchors a pattern with a
    leading slash, so each is given one."""
    ignore = root / ".dockerignore"
    lines = ignore.read_text().splitlines() if ignore.is_file() else []
    anchored = []
    for line in (raw.strip() for raw in lines):
        if not line or line.startswith("#"):
            continue
        negated, pattern = line.startswith("!"), line.lstrip("!").lstrip("/")
        anchored.append(("!" if negated else "") + "/" + pattern)
    return pathspec.GitIgnoreSpec.from_lines(anchored)


def build_inputs(root: Path, location: str) -> list[Path]:
    """Every file of the build context the image of `location` is built from, sorted."""
    spec = dockerignore_spec(root)
    found: set[Path] = set()
    for entry in (*SHARED_INPUTS, f"user_code/{location}"):
        path = root / entry
        candidates = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        found.update(p for p in candidates if not spec.match_file(p.relative_to(root).as_posix()))
    return sorted(found)


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
