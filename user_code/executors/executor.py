"""`WarmPoolExecutor`: Dagster's multiprocess orchestration, steps run on warm workers.

It subclasses `MultiprocessExecutor` and changes only *where a step runs*: the parent's
`execute` (ActiveExecution, step selection, retries, tag concurrency limits, dynamic
outputs, known_state, crash handling, interruption) is used as is.  For the duration of
`execute` a per-run `PoolContext` is registered under a unique start-method name, so
the executor's `multiprocessing.get_context(...)` returns it and every step it would
start as a process goes to the pool instead (see stand_ins.py).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from multiprocessing import context as mp_context
from typing import Any

import dagster as dg
from dagster import _check as check
from dagster._core.events import DagsterEvent, EngineEventData
from dagster._core.execution.context.system import PlanOrchestrationContext
from dagster._core.execution.plan.plan import ExecutionPlan
from dagster._core.execution.retries import RetryMode
from dagster._core.execution.step_dependency_config import StepDependencyConfig
from dagster._core.executor.multiprocess import MultiprocessExecutor

from user_code.executors.config import (
    COMPUTE_LOG_MODES,
    DEFAULT_COMPUTE_LOGS,
    DEFAULT_EVENT_BATCH_MAX_DELAY_S,
    DEFAULT_EVENT_BATCHING,
    DEFAULT_PLAN_CACHE,
    DEFAULT_SYNCHRONOUS_COMMIT,
    START_METHODS,
)
from user_code.executors.db_connections import hold_connections
from user_code.executors.pool import Replacement, WarmPool
from user_code.executors.stand_ins import PoolContext
from user_code.executors.worker import WorkerStatic
from user_code.lib.cpu_quota import container_cpu_count


class WarmPoolExecutor(MultiprocessExecutor):
    def __init__(
        self,
        retries: RetryMode,
        max_concurrent: int | None = None,
        tag_concurrency_limits: list[dict[str, Any]] | None = None,
        start_method: str = "fork",
        preload_modules: Sequence[str] | None = None,
        termination_grace_seconds: float = 30.0,
        compute_logs: str = DEFAULT_COMPUTE_LOGS,
        db_connection_pool: bool = True,
        synchronous_commit: bool = DEFAULT_SYNCHRONOUS_COMMIT,
        event_batching: bool = DEFAULT_EVENT_BATCHING,
        event_batch_max_delay_s: float = DEFAULT_EVENT_BATCH_MAX_DELAY_S,
        plan_cache: bool = DEFAULT_PLAN_CACHE,
        step_dependency_config: StepDependencyConfig = StepDependencyConfig.default(),
    ) -> None:
        super().__init__(
            retries=retries,
            max_concurrent=max_concurrent or container_cpu_count(),
            tag_concurrency_limits=tag_concurrency_limits,
            start_method=None,  # replaced by the pool's context name in execute()
            step_dependency_config=step_dependency_config,
        )
        check.invariant(start_method in START_METHODS, f"bad start_method {start_method}")
        check.invariant(compute_logs in COMPUTE_LOG_MODES, f"bad compute_logs {compute_logs}")
        self._pool_start_method = start_method
        self._preload_modules = list(preload_modules or [])
        self._termination_grace_seconds = termination_grace_seconds
        self._compute_logs = compute_logs
        self._db_connection_pool = db_connection_pool
        self._synchronous_commit = synchronous_commit
        self._event_batching = event_batching
        self._event_batch_max_delay_s = event_batch_max_delay_s
        self._plan_cache = plan_cache

    @property
    def max_concurrent(self) -> int:
        return self._max_concurrent

    def execute(
        self, plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan
    ) -> Iterator[DagsterEvent]:
        static = WorkerStatic(
            instance_ref=plan_context.instance.get_ref(),
            recon_job=plan_context.reconstructable_job,
            dagster_run=plan_context.dagster_run,
            run_config=plan_context.run_config,
            repository_load_data=execution_plan.repository_load_data,
            orchestrator_pid=os.getpid(),
            preload_modules=tuple(self._preload_modules),
            compute_log_mode=self._compute_logs,
            db_connection_pool=self._db_connection_pool,
            synchronous_commit=self._synchronous_commit,
            event_batching=self._event_batching,
            event_batch_max_delay_s=self._event_batch_max_delay_s,
            plan_cache=self._plan_cache,
        )
        pool = WarmPool(
            size=self._max_concurrent,
            static=static,
            start_method=self._pool_start_method,
            preload_modules=self._preload_modules,
            termination_grace_seconds=self._termination_grace_seconds,
        )
        ctx_name = f"dagster-warm-pool-{uuid.uuid4().hex}"
        saved_start_method = self._start_method
        threads_at_fork = [
            t.name for t in threading.enumerate() if t is not threading.current_thread()
        ]
        t0 = time.perf_counter()
        try:
            pool.start()
            if self._db_connection_pool:
                # After the first fork so the workers inherit no open connection; later
                # (replacement) forks drop it in the child, see db_connections.
                hold_connections(plan_context.instance)
            mp_context._concrete_contexts[ctx_name] = PoolContext(pool)  # noqa: SLF001
            self._start_method = ctx_name
            yield DagsterEvent.engine_event(
                plan_context,
                f"Warm pool: started {pool.size} worker(s) with {self._pool_start_method} "
                f"in {time.perf_counter() - t0:.3f}s (pids {pool.worker_pids}, orchestrator "
                f"pid {os.getpid()})",
                EngineEventData(
                    metadata={
                        "worker_pids": dg.MetadataValue.text(str(pool.worker_pids)),
                        "start_method": dg.MetadataValue.text(self._pool_start_method),
                        "threads_at_fork": dg.MetadataValue.text(str(threads_at_fork)),
                    }
                ),
            )
            for event in super().execute(plan_context, execution_plan):
                yield event
                while pool.unreported_replacements:
                    yield _replacement_event(plan_context, pool.unreported_replacements.pop(0))
        finally:
            self._start_method = saved_start_method
            mp_context._concrete_contexts.pop(ctx_name, None)  # noqa: SLF001
            pool.shutdown()


def _replacement_event(plan_context: PlanOrchestrationContext, r: Replacement) -> DagsterEvent:
    return DagsterEvent.engine_event(
        plan_context,
        f"Warm pool: worker pid {r.dead_pid} died (exit code {r.exitcode}); "
        f"replaced by pid {r.new_pid}",
        EngineEventData(
            metadata={
                "dead_pid": dg.MetadataValue.int(r.dead_pid),
                "exit_code": dg.MetadataValue.text(str(r.exitcode)),
                "replacement_pid": dg.MetadataValue.text(str(r.new_pid)),
            }
        ),
    )
