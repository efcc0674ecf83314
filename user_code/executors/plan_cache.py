"""Per-worker cache of the run's full execution plan, keyed by its dynamic mappings.

The stock child builds, per step, `ExecutionPlan.build(job, config,
step_keys_to_execute=[key], known_state=...)`: every node's steps, then every dynamic
step resolved from `known_state.dynamic_mappings` (one ExecutionStep per mapping key,
so O(chunks) per step), then `build_subset_plan([key])`.  Of `known_state`, the full
plan depends only on `dynamic_mappings` (`_PlanBuilder` uses it for nothing else), and
those change only when a step with dynamic outputs finishes -- not on every step like
`ready_outputs` or retry counts.  So the worker keeps the full plan per mappings value
and per step only does Dagster's own `build_subset_plan([key])` on it, then puts the
step's own `known_state` on the result (a NamedTuple `_replace`), with a private copy
of `step_dict` because executing a step that yields dynamic outputs resolves new steps
into its plan's `step_dict` in place.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dagster._core.definitions.job_definition import JobDefinition
    from dagster._core.definitions.repository_definition import RepositoryLoadData
    from dagster._core.execution.plan.plan import ExecutionPlan
    from dagster._core.execution.plan.state import KnownExecutionState
    from dagster._core.system_config.objects import ResolvedRunConfig

_MAX_ENTRIES = 4


def mappings_key(dynamic_mappings: Mapping[str, Mapping[str, Sequence[str] | None]]) -> Any:
    return tuple(
        sorted(
            (step_key, tuple(sorted((out, None if keys is None else tuple(keys)) for out, keys in outs.items())))
            for step_key, outs in dynamic_mappings.items()
        )
    )


class PlanCache:
    def __init__(
        self,
        job_def: JobDefinition,
        resolved_run_config: ResolvedRunConfig,
        repository_load_data: RepositoryLoadData | None,
    ) -> None:
        self._job_def = job_def
        self._config = resolved_run_config
        self._repository_load_data = repository_load_data
        self._plans: OrderedDict[Any, ExecutionPlan] = OrderedDict()
        self.builds = 0

    def full_plan(self, known_state: KnownExecutionState) -> ExecutionPlan:
        from dagster._core.execution.plan.plan import ExecutionPlan
        from dagster._core.execution.plan.state import KnownExecutionState

        key = mappings_key(known_state.dynamic_mappings)
        plan = self._plans.get(key)
        if plan is None:
            plan = ExecutionPlan.build(
                self._job_def,
                self._config,
                known_state=KnownExecutionState(dynamic_mappings=dict(known_state.dynamic_mappings)),
                repository_load_data=self._repository_load_data,
            )
            self.builds += 1
            self._plans[key] = plan
            while len(self._plans) > _MAX_ENTRIES:
                self._plans.popitem(last=False)
        else:
            self._plans.move_to_end(key)
        return plan

    def single_step_plan(self, step_key: str, known_state: KnownExecutionState) -> ExecutionPlan:
        full = self.full_plan(known_state)
        subset = full.build_subset_plan([step_key], self._job_def, self._config)
        return subset._replace(step_dict=dict(subset.step_dict), known_state=known_state)
