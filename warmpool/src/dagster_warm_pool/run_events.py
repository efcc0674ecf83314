"""Engine events the executors add to a run's log."""

from __future__ import annotations

import dagster as dg

from dagster_warm_pool._dagster import (
    DagsterEvent,
    EngineEventData,
    PlanOrchestrationContext,
)
from dagster_warm_pool.run_usage import read_run_usage


def run_usage_event(plan_context: PlanOrchestrationContext) -> DagsterEvent:
    """What the run used of its container so far: CPU seconds, peak memory, the limit."""
    usage = read_run_usage()
    return DagsterEvent.engine_event(
        plan_context,
        usage.describe(),
        EngineEventData(
            metadata={key: dg.MetadataValue.float(value) for key, value in usage.metadata().items()}
        ),
    )


def info_event(
    plan_context: PlanOrchestrationContext, message: str, metadata: dict
) -> DagsterEvent:
    return DagsterEvent.engine_event(plan_context, message, EngineEventData(metadata=metadata))
