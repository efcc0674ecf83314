"""`warm_pool_executor` and `multiprocess_executor`: the ExecutorDefinitions users select."""

from __future__ import annotations

from typing import Any

import dagster as dg

from dagster_warm_pool._dagster import (
    RetryMode,
    StepDependencyConfig,
    get_retries_config,
    get_step_dependency_config_field,
    get_tag_concurrency_limits_config,
    multiple_process_executor_requirements,
)
from dagster_warm_pool.config import WARM_POOL_CONFIG, WarmPoolOptions
from dagster_warm_pool.executor import WarmPoolExecutor
from dagster_warm_pool.multiprocess import OomExplainingMultiprocessExecutor


def _common(config: dict[str, Any]) -> dict[str, Any]:
    return {
        "retries": RetryMode.from_config(config["retries"]),
        "tag_concurrency_limits": config.get("tag_concurrency_limits") or [],
        "step_dependency_config": StepDependencyConfig.from_config(
            config.get("step_dependency_config")
        ),
    }


@dg.executor(
    name="warm_pool",
    config_schema=WARM_POOL_CONFIG,
    requirements=multiple_process_executor_requirements(),
)
def warm_pool_executor(init_context: dg.InitExecutorContext) -> WarmPoolExecutor:
    """Each step in a fresh process forked from a warm template process kept for the run."""
    config = dict(init_context.executor_config)
    return WarmPoolExecutor(
        max_concurrent=config.get("max_concurrent"),
        options=WarmPoolOptions.from_config(config),
        **_common(config),
    )


MULTIPROCESS_CONFIG: dict[str, Any] = {
    "max_concurrent": dg.Field(dg.Noneable(int), default_value=None),
    "tag_concurrency_limits": get_tag_concurrency_limits_config(),
    "retries": get_retries_config(),
    "step_dependency_config": get_step_dependency_config_field(),
    "start_method": dg.Field(
        dg.Selector(
            {
                "spawn": dg.Field({}),
                "forkserver": dg.Field({"preload_modules": dg.Field([str], is_required=False)}),
            }
        ),
        is_required=False,
    ),
    "memory_limit_hint": dg.Field(str, default_value=""),
}


@dg.executor(
    name="multiprocess",
    config_schema=MULTIPROCESS_CONFIG,
    requirements=multiple_process_executor_requirements(),
)
def multiprocess_executor(
    init_context: dg.InitExecutorContext,
) -> OomExplainingMultiprocessExecutor:
    """Dagster's multiprocess executor, plus an event naming the memory limit when a step
    process is killed for memory, and the run's resource usage at the end."""
    config = dict(init_context.executor_config)
    start_method, start_config = None, {}
    if config.get("start_method"):
        start_method, start_config = next(iter(config["start_method"].items()))
    return OomExplainingMultiprocessExecutor(
        max_concurrent=config.get("max_concurrent"),
        start_method=start_method,
        explicit_forkserver_preload=(start_config or {}).get("preload_modules"),
        memory_limit_hint=config.get("memory_limit_hint", ""),
        **_common(config),
    )
