"""`warm_pool_executor`: the ExecutorDefinition users put on a job or Definitions."""

from __future__ import annotations

import dagster as dg
from dagster import _check as check
from dagster._core.definitions.executor_definition import multiple_process_executor_requirements
from dagster._core.execution.retries import RetryMode
from dagster._core.execution.step_dependency_config import StepDependencyConfig

from user_code.executors.config import WARM_POOL_CONFIG, WarmPoolOptions
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
        options=WarmPoolOptions.from_config(config),
        step_dependency_config=StepDependencyConfig.from_config(
            check.opt_nullable_dict_elem(config, "step_dependency_config")
        ),
    )
