"""Per-run CPU/memory limits for Docker run containers, read from run tags."""

from dagster_run_limits.coordinator import LimitCheckingQueuedRunCoordinator
from dagster_run_limits.launcher import LimitedDockerRunLauncher
from dagster_run_limits.limits import (
    CPUS_TAG,
    MEMORY_TAG,
    LimitPolicy,
    RunLimits,
    RunLimitsError,
    parse_cpus,
    parse_memory,
    resolve_run_limits,
)

__all__ = [
    "CPUS_TAG",
    "MEMORY_TAG",
    "LimitCheckingQueuedRunCoordinator",
    "LimitPolicy",
    "LimitedDockerRunLauncher",
    "RunLimits",
    "RunLimitsError",
    "parse_cpus",
    "parse_memory",
    "resolve_run_limits",
]
