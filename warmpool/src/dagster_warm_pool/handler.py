"""The StepHandler Dagster's StepDelegatingExecutor drives: steps go to the template."""

from __future__ import annotations

from collections.abc import Iterator

from dagster_warm_pool._dagster import (
    CheckStepHealthResult,
    DagsterEvent,
    StepHandler,
    StepHandlerContext,
)
from dagster_warm_pool.mapped_steps import narrowed_to_own_mapping_key
from dagster_warm_pool.pool import TemplateClient


def _step_key(context: StepHandlerContext) -> str:
    keys = context.execute_step_args.step_keys_to_execute or []
    if len(keys) != 1:
        raise ValueError(f"the warm pool runs one step per process, got {keys}")
    return keys[0]


class WarmPoolStepHandler(StepHandler):
    def __init__(self, client: TemplateClient, narrow_plans: bool = True) -> None:
        self._client = client
        self._narrow_plans = narrow_plans

    @property
    def name(self) -> str:
        return "warm_pool"

    def launch_step(self, step_handler_context: StepHandlerContext) -> Iterator[DagsterEvent]:
        # No "launching step" engine event: each is a database write on the dispatch path,
        # and the step's own STEP_WORKER_STARTED follows within milliseconds.
        args = step_handler_context.execute_step_args
        if self._narrow_plans:
            args = narrowed_to_own_mapping_key(args)
        self._client.launch(_step_key(step_handler_context), args)
        return iter(())

    def check_step_health(self, step_handler_context: StepHandlerContext) -> CheckStepHealthResult:
        reason = self._client.unhealthy_reason(_step_key(step_handler_context))
        if reason is None:
            return CheckStepHealthResult.healthy()
        return CheckStepHealthResult.unhealthy(reason)

    def terminate_step(self, step_handler_context: StepHandlerContext) -> Iterator[DagsterEvent]:
        self._client.terminate(_step_key(step_handler_context))
        return iter(())
