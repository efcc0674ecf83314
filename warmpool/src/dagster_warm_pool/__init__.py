"""dagster-warm-pool: a Dagster executor for short steps (see warmpool/README.md).

`warm_pool_executor` runs each step in a fresh process forked from a warm template process
(Dagster, the user code and the instance loaded once per run), orchestrated by Dagster's
StepDelegatingExecutor. It checks the installed Dagster version and probes the template at
the start of every run, and otherwise runs the run on `multiprocess_executor` (Dagster's,
plus an out-of-memory explanation) with a warning in the run's log.
"""

from dagster_warm_pool.cgroup_cpu import container_cpu_count
from dagster_warm_pool.container_sizing import container_sizing, default_max_concurrent
from dagster_warm_pool.definition import multiprocess_executor, warm_pool_executor
from dagster_warm_pool.executor import FALLBACK_PREFIX, WarmPoolExecutor
from dagster_warm_pool.guard import TESTED_DAGSTER_VERSIONS
from dagster_warm_pool.supported_versions import SUPPORTED_VERSIONS_ENV

__all__ = [
    "FALLBACK_PREFIX",
    "SUPPORTED_VERSIONS_ENV",
    "TESTED_DAGSTER_VERSIONS",
    "WarmPoolExecutor",
    "container_cpu_count",
    "container_sizing",
    "default_max_concurrent",
    "multiprocess_executor",
    "warm_pool_executor",
]
