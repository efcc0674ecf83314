"""Loading a records JSON file that must live inside the stack's data dir."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fanout.lib.validation import RecordProblem, RecordValidationError


def resolve_inside(data_dir: Path, path: str) -> Path:
    """Resolve `path` (relative to data_dir, or absolute) and refuse anything outside data_dir.

    Resolving first defeats `..` segments and symlinks that point out of the volume.
    """
    root = data_dir.resolve()
    candidate = Path(path)
    resolved = (candidate if candidate.is_absolute() else root / candidate).resolve()
    if not resolved.is_relative_to(root):
        raise RecordValidationError(
            [RecordProblem(f"file {path!r}", f"is outside the data dir {str(root)!r}")]
        )
    return resolved


def load_records_json(data_dir: Path, path: str) -> Any:
    """Read and parse a records file, turning IO and JSON errors into RecordValidationError."""
    resolved = resolve_inside(data_dir, path)
    label = f"file {path!r}"
    try:
        text = resolved.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise RecordValidationError([RecordProblem(label, f"unreadable: {error}")]) from error
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise RecordValidationError(
            [RecordProblem(label, f"invalid JSON at line {error.lineno} column {error.colno}: {error.msg}")]
        ) from error
