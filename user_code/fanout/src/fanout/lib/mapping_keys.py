"""Turning arbitrary record ids into unique Dagster mapping keys ([A-Za-z0-9_]+)."""

from __future__ import annotations

import hashlib
import keyword
import re

_INVALID_CHARS = re.compile(r"[^A-Za-z0-9_]")
# Keys are part of step names and UI labels; long ids are cut and made unique by the suffix.
MAX_KEY_PREFIX = 48
# Dagster refuses these as names (they clash with its own or Python's reserved words).
_RESERVED = frozenset(
    {
        "context", "conf", "config", "meta", "arg_dict", "dict", "input_arg_dict",
        "output_arg_dict", "int", "str", "float", "bool", "input", "output", "type",
    }
) | frozenset(keyword.kwlist)


def _suffix(record_id: str, length: int) -> str:
    return hashlib.sha256(record_id.encode("utf-8")).hexdigest()[:length]


def mapping_keys_for(record_ids: list[str]) -> dict[str, str]:
    """Map each id to a valid, unique mapping key; unchanged when the id is already valid.

    An id that had to be altered (or collides with an earlier key) gets a short sha256
    suffix of the ORIGINAL id, so the key is stable across runs and processes.
    """
    keys: dict[str, str] = {}
    used: set[str] = set()
    for record_id in record_ids:
        if record_id in keys:
            raise ValueError(f"duplicate record id {record_id!r}")
        base = _INVALID_CHARS.sub("_", record_id)[:MAX_KEY_PREFIX]
        key = base
        length = 8
        if key != record_id or not key or key in _RESERVED or key in used:
            key = f"{base}_{_suffix(record_id, length)}"
            # Two different ids sharing an 8-hex prefix is unlikely but possible; lengthen.
            while key in used:
                length += 4
                key = f"{base}_{_suffix(record_id, length)}"
        keys[record_id] = key
        used.add(key)
    return keys
