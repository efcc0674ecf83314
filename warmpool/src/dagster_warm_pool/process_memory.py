"""Resident memory of a process, from /proc (Linux)."""

from __future__ import annotations

from pathlib import Path


def parse_status_kib(status_text: str, key: str) -> int | None:
    """A `kB` line of /proc/<pid>/status (VmRSS, VmHWM, ...) in bytes."""
    for line in status_text.splitlines():
        name, _, value = line.partition(":")
        if name == key:
            parts = value.split()
            if parts and parts[0].isdigit():
                return int(parts[0]) * 1024
    return None


def resident_bytes(pid: int | str = "self", proc: Path = Path("/proc")) -> int | None:
    try:
        text = (proc / str(pid) / "status").read_text()
    except OSError:
        return None
    return parse_status_kib(text, "VmRSS")


def private_bytes(pid: int | str = "self", proc: Path = Path("/proc")) -> int | None:
    """Memory only this process holds (Private_Clean + Private_Dirty of smaps_rollup): for a
    forked process, what it added on top of the pages it still shares with its parent."""
    try:
        text = (proc / str(pid) / "smaps_rollup").read_text()
    except OSError:
        return None
    clean, dirty = (parse_status_kib(text, key) for key in ("Private_Clean", "Private_Dirty"))
    if clean is None or dirty is None:
        return None
    return clean + dirty
