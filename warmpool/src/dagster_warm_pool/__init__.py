"""dagster-warm-pool: a Dagster executor for short steps (see warmpool/README.md).

`warm_pool_executor` runs each step in a fresh process forked from a warm template process
(Dagster, the user code and the instance loaded once per run), orchestrated by Dagster's
StepDelegatingExecutor. It checks the installed Dagster version and probes the template at
the start of every run, and otherwise runs the run on `multiprocess_executor` (Dagster's,
plus an out-of-memory explanation) with a warning in the run's log.
"""

from typing import Any

from dagster_warm_pool.cgroup_cpu import CGROUP_ROOT, container_cpu_count, read_cpu_seconds
from dagster_warm_pool.cgroup_memory import mib, read_memory
from dagster_warm_pool.container_sizing import container_sizing, default_max_concurrent
from dagster_warm_pool.definition import multiprocess_executor, warm_pool_executor
from dagster_warm_pool.executor import FALLBACK_PREFIX, WarmPoolExecutor
from dagster_warm_pool.guard import TESTED_DAGSTER_VERSIONS
from dagster_warm_pool.run_usage import RUN_USAGE_PREFIX
from dagster_warm_pool.sizing import MIB, size_workers
from dagster_warm_pool.supported_versions import SUPPORTED_VERSIONS_ENV

__all__ = [
    "CGROUP_ROOT",
    "FALLBACK_PREFIX",
    "MIB",
    "RUN_USAGE_PREFIX",
    "SUPPORTED_VERSIONS_ENV",
    "TESTED_DAGSTER_VERSIONS",
    "BatchingPostgresEventLogStorage",
    "WarmPoolExecutor",
    "container_cpu_count",
    "container_sizing",
    "default_max_concurrent",
    "mib",
    "multiprocess_executor",
    "read_cpu_seconds",
    "read_memory",
    "size_workers",
    "warm_pool_executor",
]


def __getattr__(name: str) -> Any:
    # Imported on first use: it loads dagster_postgres, which only the instance's storage needs.
    if name == "BatchingPostgresEventLogStorage":
        from dagster_warm_pool.event_log import BatchingPostgresEventLogStorage

        return BatchingPostgresEventLogStorage
    raise AttributeError(f"module 'dagster_warm_pool' has no attribute {name!r}")
