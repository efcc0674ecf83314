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
