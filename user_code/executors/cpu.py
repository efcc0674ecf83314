"""Container-aware CPU count (cgroup v2, cgroup v1, then the affinity mask).

`os.cpu_count()` / `multiprocessing.cpu_count()` report the host's CPUs, not the
container's quota, so a pool sized from them oversubscribes a CPU-limited
container.  This is the default for `warm_pool_executor`'s `max_concurrent`.
"""

from __future__ import annotations

import math
import os

_CGROUP_ROOT = "/sys/fs/cgroup"


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf8") as f:
            return f.read().strip()
    except OSError:
        return None


def _quota_v2(root: str) -> float | None:
    raw = _read(os.path.join(root, "cpu.max"))
    if not raw:
        return None
    parts = raw.split()
    if len(parts) != 2 or parts[0] == "max":
        return None
    try:
        quota, period = int(parts[0]), int(parts[1])
    except ValueError:
        return None
    return quota / period if quota > 0 and period > 0 else None


def _quota_v1(root: str) -> float | None:
    for sub in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
        quota = _read(os.path.join(root, sub, "cpu.cfs_quota_us"))
        period = _read(os.path.join(root, sub, "cpu.cfs_period_us"))
        if quota is None or period is None:
            continue
        try:
            q, p = int(quota), int(period)
        except ValueError:
            continue
        if q > 0 and p > 0:
            return q / p
    return None


def _affinity_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def container_cpu_count(cgroup_root: str = _CGROUP_ROOT) -> int:
    """CPUs this process may use: the cgroup quota (rounded up) capped by the affinity mask.

    Never returns less than 1.
    """
    affinity = _affinity_count()
    quota = _quota_v2(cgroup_root)
    if quota is None:
        quota = _quota_v1(cgroup_root)
    if quota is None:
        return max(1, affinity)
    return max(1, min(affinity, math.ceil(quota)))
