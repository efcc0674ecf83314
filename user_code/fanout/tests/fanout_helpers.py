"""Run-config builders and event queries for in-process runs of the code location's jobs."""

from typing import Any

import dagster as dg

RunResult = dg.ExecuteInProcessResult | dg.JobExecutionResult

# Tiny units keep the whole fan-out to well under a second per run.
FAST_FANOUT = {"unit_work_ms": 0.2}


def fanout_run_config(input_config: dict[str, Any] | None = None, **fanout: Any) -> dict[str, Any]:
    return {
        "ops": {
            "input_records": {"config": input_config or {"record_count": 4, "seed": 1}},
            "fanout_results": {"config": {**FAST_FANOUT, **fanout}},
        }
    }


def step_failure_descriptions(result: RunResult) -> dict[str, str]:
    return {
        event.step_key or "": event.step_failure_data.user_failure_data.description
        for event in result.all_events
        if event.is_step_failure and event.step_failure_data.user_failure_data is not None
    }


def started_steps(result: RunResult) -> list[str]:
    return [event.step_key or "" for event in result.all_events if event.is_step_start]
