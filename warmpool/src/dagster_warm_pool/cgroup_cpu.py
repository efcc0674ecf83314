"""CPU of this container from its cgroup files: the quota (how many CPUs it may use) and the
CPU time it has used. cgroup v2 first, then v1 (Docker 20.10 on cgroup v1 mounts the
container's own cgroup at /sys/fs/cgroup/<controller>)."""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def parse_cgroup_v2_cpu_max(text: str) -> float | None:
    """Parse cgroup v2 `cpu.max` ("<quota> <period>" or "max <period>"); None = no limit."""
    parts = text.split()
    if not parts or parts[0] == "max":
        return None
    quota = int(parts[0])
    period = int(parts[1]) if len(parts) > 1 else 100_000
    if quota <= 0 or period <= 0:
        return None
    return quota / period


def parse_cgroup_v1_quota(quota_text: str, period_text: str) -> float | None:
    """Parse cgroup v1 cfs quota/period; a quota of -1 means no limit."""
    quota = int(quota_text.strip())
    period = int(period_text.strip())
    if quota <= 0 or period <= 0:
        return None
    return quota / period


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def read_cpu_quota(root: Path = CGROUP_ROOT) -> float | None:
    """Return the CPU quota in CPUs from cgroup v2 or v1 files under `root`, None if unlimited/unknown."""
    v2 = _read(root / "cpu.max")
    if v2 is not None:
        try:
            return parse_cgroup_v2_cpu_max(v2)
        except ValueError:
            return None
    for v1_dir in (root / "cpu", root / "cpu,cpuacct", root):
        quota = _read(v1_dir / "cpu.cfs_quota_us")
        period = _read(v1_dir / "cpu.cfs_period_us")
        if quota is not None and period is not None:
            try:
                return parse_cgroup_v1_quota(quota, period)
            except ValueError:
                return None
    return None


def affinity_cpu_count() -> int:
    """CPUs this process may be scheduled on (sched_getaffinity is Linux-only)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def usable_cpu_count(quota: float | None, affinity: int) -> int:
    """Combine quota and affinity: a 1.5-CPU quota can keep 2 workers busy, so round up."""
    count = max(affinity, 1)
    if quota is not None:
        count = min(count, math.ceil(quota))
    return max(count, 1)


def container_cpu_count(root: Path = CGROUP_ROOT) -> int:
    """The worker count to use for pools and executors inside this container."""
    return usable_cpu_count(read_cpu_quota(root), affinity_cpu_count())


def parse_cgroup_v2_cpu_usage(cpu_stat_text: str) -> float | None:
    """`cpu.stat`'s usage_usec, in seconds."""
    for line in cpu_stat_text.splitlines():
        key, _, value = line.partition(" ")
        if key == "usage_usec":
            return int(value) / 1_000_000
    return None


def read_cpu_seconds(root: Path = CGROUP_ROOT) -> float | None:
    """CPU time used by every process of this cgroup since it was created; None if unknown."""
    v2 = _read(root / "cpu.stat")
    if v2 is not None and "usage_usec" in v2:
        try:
            return parse_cgroup_v2_cpu_usage(v2)
        except ValueError:
            return None
    for v1_dir in (root / "cpuacct", root / "cpu,cpuacct", root):
        usage = _read(v1_dir / "cpuacct.usage")
        if usage is not None:
            try:
                return int(usage.strip()) / 1_000_000_000
            except ValueError:
                return None
    return None
