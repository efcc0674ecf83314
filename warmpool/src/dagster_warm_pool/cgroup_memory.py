"""Memory of this container from its cgroup files: limit, current and peak usage, and how many
processes the kernel's OOM killer has killed in it. cgroup v2 first, then v1."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")

# cgroup v1 reports "no limit" as a huge page-aligned number rather than a word.
_V1_UNLIMITED_FLOOR = 1 << 60


@dataclass(frozen=True)
class MemoryStats:
    """None means the file was absent or unreadable (not a container, or another layout)."""

    limit_bytes: int | None
    usage_bytes: int | None
    peak_bytes: int | None
    oom_kills: int | None


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _int_or_none(text: str | None) -> int | None:
    if text is None:
        return None
    text = text.strip()
    if not text or text == "max":
        return None
    try:
        return int(text)
    except ValueError:
        return None


def parse_key_values(text: str | None, key: str) -> int | None:
    """The value of `key` in a flat-keyed file such as memory.events or memory.oom_control."""
    for line in (text or "").splitlines():
        name, _, value = line.strip().partition(" ")
        if name == key:
            return _int_or_none(value)
    return None


def _v1_limit(text: str | None) -> int | None:
    value = _int_or_none(text)
    if value is None or value >= _V1_UNLIMITED_FLOOR:
        return None
    return value


def read_memory(root: Path = CGROUP_ROOT) -> MemoryStats:
    """This container's memory figures; peak includes page cache, as the kernel counts it."""
    if (root / "memory.max").exists() or (root / "memory.current").exists():
        return MemoryStats(
            limit_bytes=_int_or_none(_read(root / "memory.max")),
            usage_bytes=_int_or_none(_read(root / "memory.current")),
            # memory.peak exists from Linux 5.19.
            peak_bytes=_int_or_none(_read(root / "memory.peak")),
            oom_kills=parse_key_values(_read(root / "memory.events"), "oom_kill"),
        )
    v1 = root / "memory"
    return MemoryStats(
        limit_bytes=_v1_limit(_read(v1 / "memory.limit_in_bytes")),
        usage_bytes=_int_or_none(_read(v1 / "memory.usage_in_bytes")),
        peak_bytes=_int_or_none(_read(v1 / "memory.max_usage_in_bytes")),
        # The oom_kill line exists from Linux 4.13.
        oom_kills=parse_key_values(_read(v1 / "memory.oom_control"), "oom_kill"),
    )


def mib(num_bytes: int | None) -> float | None:
    return None if num_bytes is None else round(num_bytes / (1024 * 1024), 1)
