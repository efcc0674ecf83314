"""Per-run CPU/memory limits for run containers (Docker) and run services (Swarm), read from
run tags by one policy."""

from dagster_run_limits.coordinator import LimitCheckingQueuedRunCoordinator
from dagster_run_limits.launcher import LimitedDockerRunLauncher
from dagster_run_limits.swarm_launcher import SwarmRunLauncher
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
    "SwarmRunLauncher",
    "parse_cpus",
    "parse_memory",
    "resolve_run_limits",
]
