"""Custom Dagster executors.

`warm_pool_executor` runs a run's steps on a pool of warm worker processes that live
for the whole run, instead of one new Python process per step, while keeping all of
`MultiprocessExecutor`'s orchestration (retries, tag limits, dynamic outputs, crash
handling, termination).  Modules:

  definition.py      the ExecutorDefinition (`warm_pool_executor`)
  config.py          its run-config schema and defaults
  executor.py        WarmPoolExecutor: registers the pool as a multiprocessing context
  stand_ins.py       what the executor gets instead of Process / Queue / Event
  pool.py            the worker processes, dispatch, message routing, crash/interrupt handling
  worker.py          the worker process: per-run state built once, one step per task
  compute_logs.py    step log capture without the per-step mirroring subprocesses
  db_connections.py  pooled DB connections for long-lived processes
  event_batching.py  one multi-row event write per step in the workers (Postgres)
  plan_cache.py      the full execution plan built once per dynamic-mapping state
"""

from user_code.executors.definition import warm_pool_executor
from user_code.executors.executor import WarmPoolExecutor
from dagster_warm_pool.cgroup_cpu import container_cpu_count

__all__ = ["WarmPoolExecutor", "container_cpu_count", "warm_pool_executor"]
