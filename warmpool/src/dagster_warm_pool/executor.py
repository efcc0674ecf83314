"""`WarmPoolExecutor`: Dagster's step-delegating orchestration; each step in a process forked
from a warm template; Dagster's own multiprocess executor whenever the warm pool cannot be
trusted for this run (untested Dagster version, failed start-up probe)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import dagster as dg

from dagster_warm_pool._dagster import (
    DagsterEvent,
    ExecutionPlan,
    HookedStepDelegatingExecutor,
    PlanOrchestrationContext,
    RetryMode,
    StepDependencyConfig,
)
from dagster_warm_pool.cgroup_cpu import container_cpu_count
from dagster_warm_pool.cgroup_memory import read_memory
from dagster_warm_pool.config import WarmPoolOptions
from dagster_warm_pool.connections import hold_connections
from dagster_warm_pool.container_sizing import container_sizing
from dagster_warm_pool.guard import version_problem
from dagster_warm_pool.handler import WarmPoolStepHandler
from dagster_warm_pool.multiprocess import OomExplainingMultiprocessExecutor
from dagster_warm_pool.pool import StartInfo, TemplateClient, TemplateUnavailable
from dagster_warm_pool.protocol import TemplateSpec
from dagster_warm_pool.run_events import info_event, run_usage_event, warning_engine_event
from dagster_warm_pool.sizing import Sizing

FALLBACK_PREFIX = "Warm pool not used for this run:"
FORCED_PREFIX = "Warm pool set aside for this run:"
# Step processes forked ahead of need: one per concurrent step, a few at most.
MAX_SPARE_WORKERS = 4


class WarmPoolExecutor(dg.Executor):
    def __init__(
        self,
        retries: RetryMode,
        max_concurrent: int | None = None,
        tag_concurrency_limits: list[dict[str, Any]] | None = None,
        step_dependency_config: StepDependencyConfig = StepDependencyConfig.default(),
        options: WarmPoolOptions = WarmPoolOptions(),
    ) -> None:
        self._retries = retries
        self._max_concurrent = max_concurrent
        self._tag_concurrency_limits = tag_concurrency_limits or []
        self._step_dependency_config = step_dependency_config
        self._options = options

    @property
    def retries(self) -> RetryMode:
        return self._retries

    @property
    def step_dependency_config(self) -> StepDependencyConfig:
        return self._step_dependency_config

    @property
    def options(self) -> WarmPoolOptions:
        return self._options

    def sizing(self, template_pid: int | None = None) -> Sizing:
        if self._max_concurrent:
            cpu = container_cpu_count()
            return Sizing(self._max_concurrent, cpu, None, f"{self._max_concurrent} as configured")
        return container_sizing(self._options.worker_memory_mib, template_pid)

    def stock_executor(self, max_concurrent: int) -> OomExplainingMultiprocessExecutor:
        """Dagster's multiprocess executor with this executor's configuration."""
        return OomExplainingMultiprocessExecutor(
            retries=self._retries,
            max_concurrent=max_concurrent,
            tag_concurrency_limits=self._tag_concurrency_limits,
            step_dependency_config=self._step_dependency_config,
            memory_limit_hint=self._options.memory_limit_hint,
        )

    def execute(
        self, plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan
    ) -> Iterator[DagsterEvent]:
        sizing = self.sizing()
        if self._options.force_multiprocess:
            yield info_event(
                plan_context,
                f"{FORCED_PREFIX} force_multiprocess is set: this run uses Dagster's "
                "multiprocess executor with the same configuration.",
                {"max_concurrent": dg.MetadataValue.int(sizing.workers)},
            )
            yield from self.stock_executor(sizing.workers).execute(plan_context, execution_plan)
            return
        problem = version_problem(dg.__version__, self._options.supported_dagster_versions)
        if problem is not None:
            yield from self._fall_back(plan_context, execution_plan, sizing, problem)
            return
        run = plan_context.dagster_run
        client = TemplateClient(
            TemplateSpec(
                run_id=run.run_id,
                instance_ref=plan_context.instance.get_ref(),
                orchestrator_pid=os.getpid(),
                options=self._options,
                spare_workers=min(sizing.cpu_workers, sizing.workers, MAX_SPARE_WORKERS),
            ),
            inherited=(plan_context.instance, run),
            memory_limit_bytes=read_memory().limit_bytes,
        )
        try:
            info = client.start()
        except TemplateUnavailable as error:
            client.shutdown(0)
            yield from self._fall_back(
                plan_context, execution_plan, sizing, f"start-up probe failed: {error}"
            )
            return
        # After the template exists, so it inherits no open connection: the orchestrator polls
        # the event log every few milliseconds and should not reconnect for each poll (nor for
        # the started event just below).
        hold_connections(plan_context.instance)
        # Sized again now the template's own memory is known.
        sizing = self.sizing(info.template_pid)
        yield _started_event(plan_context, info, sizing)
        options = self._options

        def pause() -> float:
            # Instead of the loop's fixed sleep: the template reports every step process that
            # finishes, so the next step is launched at once, not after a whole sleep.
            client.wait_for_news(options.poll_interval_seconds)
            return 0.0

        delegating = HookedStepDelegatingExecutor(
            WarmPoolStepHandler(client, narrow_plans=options.uses("narrowed_plans")),
            pause=pause,
            retries=self._retries,
            # Every poll: a step process that died is noticed within one poll interval.
            check_step_health_interval_seconds=0,
            max_concurrent=sizing.workers,
            tag_concurrency_limits=self._tag_concurrency_limits,
            step_dependency_config=self._step_dependency_config,
        )
        try:
            yield from delegating.execute(plan_context, execution_plan)
        finally:
            client.shutdown(self._options.termination_grace_seconds)
        yield run_usage_event(plan_context)

    def _fall_back(
        self,
        plan_context: PlanOrchestrationContext,
        execution_plan: ExecutionPlan,
        sizing: Sizing,
        reason: str,
    ) -> Iterator[DagsterEvent]:
        yield warning_engine_event(
            plan_context,
            f"{FALLBACK_PREFIX} {reason}. The run goes on with Dagster's multiprocess executor "
            "and the same configuration (one new process per step: slower on short steps).",
            {
                "reason": dg.MetadataValue.text(reason),
                "max_concurrent": dg.MetadataValue.int(sizing.workers),
            },
        )
        yield from self.stock_executor(sizing.workers).execute(plan_context, execution_plan)


def _started_event(
    plan_context: PlanOrchestrationContext, info: StartInfo, sizing: Sizing
) -> DagsterEvent:
    how = (
        "forked from the run worker"
        if info.start_method == "fork"
        else f"started fresh (spawn) because the run worker runs {info.threads_in_orchestrator} threads"
    )
    return info_event(
        plan_context,
        f"Warm pool: template pid {info.template_pid} {how}, ready in {info.ready_seconds:.3f} s, "
        f"probe passed in {info.probe_seconds:.3f} s; steps run {sizing.workers} at a time "
        f"({sizing.reason}), each in a fresh process forked from the template.",
        {
            "template_pid": dg.MetadataValue.int(info.template_pid),
            "start_method": dg.MetadataValue.text(info.start_method),
            "max_concurrent": dg.MetadataValue.int(sizing.workers),
            "sizing": dg.MetadataValue.text(sizing.reason),
            "template_init_s": dg.MetadataValue.float(round(info.init_seconds, 4)),
        },
    )
