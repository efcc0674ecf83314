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
    DEFAULT_DEFER_START_EVENT,
    DEFAULT_EVENT_BATCH_MAX_DELAY_S,
    DEFAULT_EVENT_BATCHING,
    DEFAULT_INHERIT_INSTANCE,
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
        inherit_instance: bool = DEFAULT_INHERIT_INSTANCE,
        defer_start_event: bool = DEFAULT_DEFER_START_EVENT,
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
        self._inherit_instance = inherit_instance
        self._defer_start_event = defer_start_event

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
            # fork only: the workers get this object, already set up, by inheritance.
            inherited_instance=plan_context.instance if self._inherit_instance else None,
        )
        ctx_name = f"dagster-warm-pool-{uuid.uuid4().hex}"
        saved_start_method = self._start_method
        threads_at_fork = [
            t.name for t in threading.enumerate() if t is not threading.current_thread()
        ]
        t0 = time.perf_counter()
        orchestrator_pid = os.getpid()
        try:
            pool.start()
            started_s = time.perf_counter() - t0
            initial_pids = list(pool.worker_pids)
            if self._db_connection_pool:
                # After the first fork so the workers inherit no open connection; later
                # (replacement) forks drop it in the child, see db_connections.
                hold_connections(plan_context.instance)
            mp_context._concrete_contexts[ctx_name] = PoolContext(pool)  # noqa: SLF001
            self._start_method = ctx_name
            start_event_pending = True
            if not self._defer_start_event:
                start_event_pending = False
                yield _start_event(plan_context, pool, initial_pids, started_s, threads_at_fork)
            for event in super().execute(plan_context, execution_plan):
                yield event
                # Deferred: the first event a worker sent means a step is running, so the
                # orchestrator has time to spare; written before the first step's dispatch
                # it would delay it.  Worker init times are known by then.
                if start_event_pending and event.pid not in (None, orchestrator_pid):
                    start_event_pending = False
                    yield _start_event(plan_context, pool, initial_pids, started_s, threads_at_fork)
                while pool.unreported_replacements:
                    yield _replacement_event(plan_context, pool.unreported_replacements.pop(0))
            if start_event_pending:  # no step reached a worker (e.g. nothing to execute)
                start_event_pending = False
                yield _start_event(plan_context, pool, initial_pids, started_s, threads_at_fork)
        finally:
            self._start_method = saved_start_method
            mp_context._concrete_contexts.pop(ctx_name, None)  # noqa: SLF001
            pool.shutdown()


def _start_event(
    plan_context: PlanOrchestrationContext,
    pool: WarmPool,
    pids: list[int],
    started_s: float,
    threads_at_fork: list[str],
) -> DagsterEvent:
    init_s = {pid: s for pid, s in pool.worker_init_seconds().items() if pid in pids}
    init = ", ".join(f"{v:.3f}" for v in init_s.values()) or "not reported yet"
    return DagsterEvent.engine_event(
        plan_context,
        f"Warm pool: started {pool.size} worker(s) with {pool.start_method} "
        f"in {started_s:.3f}s (pids {pids}, orchestrator pid {os.getpid()}; "
        f"worker init {init} s)",
        EngineEventData(
            metadata={
                "worker_pids": dg.MetadataValue.text(str(pids)),
                "start_method": dg.MetadataValue.text(pool.start_method),
                "threads_at_fork": dg.MetadataValue.text(str(threads_at_fork)),
                "inherited_instance": dg.MetadataValue.bool(pool.inherits_instance),
                "worker_init_s": dg.MetadataValue.text(
                    str({pid: round(v, 4) for pid, v in init_s.items()})
                ),
            }
        ),
    )


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
