"""How many steps may run at once in a container: CPU quota, then memory.

Dagster's guidance for dynamic fan-out ("limit concurrent processes based on available
memory"): workers = min(CPU quota, (memory limit - what the orchestrator already holds) /
what one worker is expected to add), never below one.
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class Sizing:
    workers: int
    cpu_workers: int
    memory_workers: int | None  # None: no memory limit known
    reason: str


def size_workers(
    cpu_workers: int,
    memory_limit_bytes: int | None,
    orchestrator_bytes: int,
    per_worker_bytes: int,
) -> Sizing:
    """The worker count and a sentence saying which bound decided it."""
    cpu_workers = max(1, cpu_workers)
    if memory_limit_bytes is None or per_worker_bytes <= 0:
        return Sizing(cpu_workers, cpu_workers, None, f"{cpu_workers} from the CPU quota")
    free = max(0, memory_limit_bytes - orchestrator_bytes)
    memory_workers = free // per_worker_bytes
    workers = max(1, min(cpu_workers, memory_workers))
    detail = (
        f"memory limit {memory_limit_bytes / MIB:.0f} MiB - orchestrator "
        f"{orchestrator_bytes / MIB:.0f} MiB = {free / MIB:.0f} MiB free, "
        f"{per_worker_bytes / MIB:.0f} MiB per worker"
    )
    if memory_workers < cpu_workers:
        reason = f"{workers} by memory ({detail}); the CPU quota allows {cpu_workers}"
    else:
        reason = f"{workers} from the CPU quota ({detail})"
    return Sizing(workers, cpu_workers, memory_workers, reason)
