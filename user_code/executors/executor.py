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
from collections.abc import Iterator
from multiprocessing import context as mp_context
from typing import Any

import dagster as dg
from dagster._core.events import DagsterEvent, EngineEventData
from dagster._core.execution.context.system import PlanOrchestrationContext
from dagster._core.execution.plan.plan import ExecutionPlan
from dagster._core.execution.retries import RetryMode
from dagster._core.execution.step_dependency_config import StepDependencyConfig
from dagster._core.executor.multiprocess import MultiprocessExecutor

from user_code.executors.config import WarmPoolOptions
from user_code.executors.db_connections import hold_connections
from user_code.executors.pool import Replacement, WarmPool
from user_code.executors.stand_ins import PoolContext
from user_code.executors.worker import WorkerStatic
from dagster_warm_pool.cgroup_cpu import container_cpu_count
from dagster_warm_pool.run_usage import read_run_usage


class WarmPoolExecutor(MultiprocessExecutor):
    def __init__(
        self,
        retries: RetryMode,
        max_concurrent: int | None = None,
        tag_concurrency_limits: list[dict[str, Any]] | None = None,
        options: WarmPoolOptions = WarmPoolOptions(),
        step_dependency_config: StepDependencyConfig = StepDependencyConfig.default(),
    ) -> None:
        super().__init__(
            retries=retries,
            max_concurrent=max_concurrent or container_cpu_count(),
            tag_concurrency_limits=tag_concurrency_limits,
            start_method=None,  # replaced by the pool's context name in execute()
            step_dependency_config=step_dependency_config,
        )
        self._options = options

    @property
    def max_concurrent(self) -> int:
        return self._max_concurrent

    def execute(
        self, plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan
    ) -> Iterator[DagsterEvent]:
        options = self._options
        static = WorkerStatic(
            instance_ref=plan_context.instance.get_ref(),
            recon_job=plan_context.reconstructable_job,
            dagster_run=plan_context.dagster_run,
            run_config=plan_context.run_config,
            repository_load_data=execution_plan.repository_load_data,
            orchestrator_pid=os.getpid(),
            options=options,
        )
        pool = WarmPool(
            size=self._max_concurrent,
            static=static,
            start_method=options.start_method,
            preload_modules=options.preload_modules,
            termination_grace_seconds=options.termination_grace_seconds,
            # fork only: the workers get this object, already set up, by inheritance.
            inherited_instance=plan_context.instance if options.inherit_instance else None,
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
            if options.db_connection_pool:
                # After the first fork so the workers inherit no open connection; later
                # (replacement) forks drop it in the child, see db_connections.
                hold_connections(plan_context.instance)
            mp_context._concrete_contexts[ctx_name] = PoolContext(pool)  # noqa: SLF001
            self._start_method = ctx_name
            start_event_pending = True
            if not options.defer_start_event:
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
            usage = read_run_usage()
            yield DagsterEvent.engine_event(
                plan_context,
                usage.describe(),
                EngineEventData(
                    metadata={k: dg.MetadataValue.float(v) for k, v in usage.metadata().items()}
                ),
            )
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
