"""Sizing from this container's own figures: CPU quota, memory limit, this process's memory."""

from __future__ import annotations

from dagster_warm_pool.cgroup_cpu import container_cpu_count
from dagster_warm_pool.cgroup_memory import read_memory
from dagster_warm_pool.config import DEFAULT_WORKER_MEMORY_MIB
from dagster_warm_pool.process_memory import private_bytes, resident_bytes
from dagster_warm_pool.sizing import MIB, Sizing, size_workers


def container_sizing(
    worker_memory_mib: float = DEFAULT_WORKER_MEMORY_MIB, template_pid: int | None = None
) -> Sizing:
    """Workers for this container: this process is the orchestrator; the memory the template
    (if running) holds beyond what it shares with the orchestrator counts as the
    orchestrator's too."""
    orchestrator = resident_bytes() or 0
    if template_pid is not None:
        orchestrator += private_bytes(template_pid) or 0
    return size_workers(
        cpu_workers=container_cpu_count(),
        memory_limit_bytes=read_memory().limit_bytes,
        orchestrator_bytes=orchestrator,
        per_worker_bytes=int(worker_memory_mib * MIB),
    )


def default_max_concurrent(worker_memory_mib: float = DEFAULT_WORKER_MEMORY_MIB) -> int:
    return container_sizing(worker_memory_mib).workers
