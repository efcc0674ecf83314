"""Which records files in the incoming dir are new, tracked by a run key per file version."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class IncomingFile:
    path: Path
    run_key: str  # name + mtime + size: a rewritten file is a new version and runs again


def scan_incoming(incoming_dir: Path) -> list[IncomingFile]:
    """`*.json` files, oldest first; dot-files are skipped so writers can stage `.x.json` then rename."""
    if not incoming_dir.is_dir():
        return []
    found = []
    for path in incoming_dir.glob("*.json"):
        if path.name.startswith(".") or not path.is_file():
            continue
        stat = path.stat()
        found.append((stat.st_mtime_ns, path, f"{path.name}:{stat.st_mtime_ns}:{stat.st_size}"))
    return [IncomingFile(path, key) for _, path, key in sorted(found)]


def parse_cursor(cursor: str | None) -> set[str]:
    if not cursor:
        return set()
    try:
        keys = json.loads(cursor)
    except json.JSONDecodeError:
        return set()
    return set(keys) if isinstance(keys, list) else set()


def new_files(files: list[IncomingFile], seen: set[str]) -> list[IncomingFile]:
    return [file for file in files if file.run_key not in seen]


def next_cursor(files: list[IncomingFile]) -> str:
    """Keep only keys of files still present so the cursor does not grow forever."""
    return json.dumps(sorted(file.run_key for file in files))
