"""`warm_pool_executor`: the ExecutorDefinition users put on a job or Definitions."""

from __future__ import annotations

import dagster as dg
from dagster import _check as check
from dagster._core.definitions.executor_definition import multiple_process_executor_requirements
from dagster._core.execution.retries import RetryMode
from dagster._core.execution.step_dependency_config import StepDependencyConfig

from user_code.executors.config import (
    DEFAULT_COMPUTE_LOGS,
    DEFAULT_DEFER_START_EVENT,
    DEFAULT_EVENT_BATCH_MAX_DELAY_S,
    DEFAULT_EVENT_BATCHING,
    DEFAULT_INHERIT_INSTANCE,
    DEFAULT_PLAN_CACHE,
    DEFAULT_SYNCHRONOUS_COMMIT,
    WARM_POOL_CONFIG,
)
from user_code.executors.executor import WarmPoolExecutor


@dg.executor(
    name="warm_pool",
    config_schema=WARM_POOL_CONFIG,
    requirements=multiple_process_executor_requirements(),
)
def warm_pool_executor(init_context: dg.InitExecutorContext) -> WarmPoolExecutor:
    """Run each step in a pool of warm worker processes kept for the whole run."""
    config = init_context.executor_config
    return WarmPoolExecutor(
        retries=RetryMode.from_config(check.dict_elem(config, "retries")),  # type: ignore[arg-type]
        max_concurrent=check.opt_int_elem(config, "max_concurrent"),
        tag_concurrency_limits=check.opt_list_elem(config, "tag_concurrency_limits"),
        start_method=config.get("start_method", "fork"),
        preload_modules=check.opt_list_elem(config, "preload_modules", of_type=str),
        termination_grace_seconds=float(config.get("termination_grace_seconds", 30.0)),
        compute_logs=config.get("compute_logs", DEFAULT_COMPUTE_LOGS),
        db_connection_pool=bool(config.get("db_connection_pool", True)),
        synchronous_commit=bool(config.get("synchronous_commit", DEFAULT_SYNCHRONOUS_COMMIT)),
        event_batching=bool(config.get("event_batching", DEFAULT_EVENT_BATCHING)),
        event_batch_max_delay_s=float(
            config.get("event_batch_max_delay_seconds", DEFAULT_EVENT_BATCH_MAX_DELAY_S)
        ),
        plan_cache=bool(config.get("plan_cache", DEFAULT_PLAN_CACHE)),
        inherit_instance=bool(config.get("inherit_instance", DEFAULT_INHERIT_INSTANCE)),
        defer_start_event=bool(config.get("defer_start_event", DEFAULT_DEFER_START_EVENT)),
        step_dependency_config=StepDependencyConfig.from_config(
            check.opt_nullable_dict_elem(config, "step_dependency_config")
        ),
    )
