"""Dagster's multiprocess executor, unchanged, plus two events: why a step process died when the
kernel killed it for memory, and what the run used of its container.

It is the warm pool's fallback and the stack's `multiprocess` choice. Orchestration, retries
and messages are Dagster's own; a step killed for memory gets, right after Dagster's "child
process ... unexpectedly exited" event, an ERROR event that names the container's limit. Each
step process gets a raised oom_score_adj as soon as it reports in, so the kernel kills it
rather than the run worker when the container runs out of memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dagster_warm_pool._dagster import (
    CHILD_CRASH_ERROR,
    STEP_WORKER_PID_KEY,
    DagsterEvent,
    ExecutionPlan,
    MultiprocessExecutor,
    PlanOrchestrationContext,
)
from dagster_warm_pool.cgroup_memory import read_memory
from dagster_warm_pool.process_control import children_first_in_oom, raise_oom_score
from dagster_warm_pool.run_events import run_usage_event, step_error_event
from dagster_warm_pool.step_death import describe_oom


def step_worker_pid(event: DagsterEvent) -> int | None:
    """The step process's pid from a STEP_WORKER_STARTED event, else None."""
    if event.event_type_value != "STEP_WORKER_STARTED":
        return None
    data = event.event_specific_data
    value = getattr(data, "metadata", {}).get(STEP_WORKER_PID_KEY) if data is not None else None
    text = getattr(value, "value", value)
    try:
        return int(text) if text is not None else None
    except (TypeError, ValueError):
        return None


def is_child_process_crash(event: DagsterEvent) -> bool:
    """Dagster's "child process for step X unexpectedly exited" engine event."""
    if not event.is_engine_event or event.step_key is None:
        return False
    error = event.engine_event_data.error
    return error is not None and error.cls_name == CHILD_CRASH_ERROR


class OomExplainingMultiprocessExecutor(MultiprocessExecutor):
    def __init__(self, *args: Any, memory_limit_hint: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._memory_limit_hint = memory_limit_hint

    def execute(
        self, plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan
    ) -> Iterator[DagsterEvent]:
        memory = read_memory()
        oom_seen = memory.oom_kills or 0
        # As on the warm pool: a step process is the kernel's first choice in an out-of-memory
        # kill, not the run worker, which must live to retry the step. The watcher covers a step
        # process from its start; the pid report covers one the watcher has not seen yet.
        with children_first_in_oom():
            for event in super().execute(plan_context, execution_plan):
                pid = step_worker_pid(event)
                if pid is not None:
                    raise_oom_score(pid=pid)
                yield event
                if is_child_process_crash(event):
                    kills = read_memory().oom_kills
                    if kills is not None and kills > oom_seen:
                        oom_seen += 1
                        message = describe_oom(
                            event.step_key or "?", None, memory.limit_bytes, self._memory_limit_hint
                        )
                        yield step_error_event(event, plan_context, message)
        yield run_usage_event(plan_context)
