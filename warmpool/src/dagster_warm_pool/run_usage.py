"""What a run used of its container, from the container's own cgroup files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dagster_warm_pool.cgroup_cpu import CGROUP_ROOT, read_cpu_seconds
from dagster_warm_pool.cgroup_memory import mib, read_memory

# Engine-event wording the UI, tests and the benchmark look for.
RUN_USAGE_PREFIX = "Run resource usage:"


@dataclass(frozen=True)
class RunUsage:
    cpu_seconds: float | None
    peak_memory_mib: float | None
    memory_limit_mib: float | None

    def describe(self) -> str:
        def show(value: float | None, unit: str) -> str:
            return "unknown" if value is None else f"{value:g} {unit}"

        limit = show(self.memory_limit_mib, "MiB") if self.memory_limit_mib else "no limit"
        return (
            f"{RUN_USAGE_PREFIX} CPU {show(self.cpu_seconds, 's')}, "
            f"peak memory {show(self.peak_memory_mib, 'MiB')} of {limit} "
            "(the run container's cgroup)"
        )

    def metadata(self) -> dict[str, float]:
        values = {
            "cpu_seconds": self.cpu_seconds,
            "peak_memory_mib": self.peak_memory_mib,
            "memory_limit_mib": self.memory_limit_mib,
        }
        return {key: value for key, value in values.items() if value is not None}


def read_run_usage(root: Path = CGROUP_ROOT) -> RunUsage:
    cpu = read_cpu_seconds(root)
    memory = read_memory(root)
    return RunUsage(
        cpu_seconds=None if cpu is None else round(cpu, 3),
        peak_memory_mib=mib(memory.peak_bytes),
        memory_limit_mib=mib(memory.limit_bytes),
    )
