"""Engine events the executors add to a run's log."""

from __future__ import annotations

import logging
import os

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


def _logged(
    plan_context: PlanOrchestrationContext, level: int, message: str, event: DagsterEvent
) -> DagsterEvent:
    plan_context.log.log_dagster_event(level=level, msg=message, dagster_event=event)
    return event


def warning_engine_event(
    plan_context: PlanOrchestrationContext, message: str, metadata: dict
) -> DagsterEvent:
    """An ENGINE_EVENT logged at WARNING level (`DagsterEvent.engine_event` always logs at
    DEBUG): built as `DagsterEvent.from_job` builds it, logged with the level set."""
    event = DagsterEvent(
        event_type_value=dg.DagsterEventType.ENGINE_EVENT.value,
        job_name=plan_context.job_name,
        message=message,
        event_specific_data=EngineEventData(metadata=metadata),
        pid=os.getpid(),
    )
    return _logged(plan_context, logging.WARNING, message, event)


def step_error_event(
    like: DagsterEvent, plan_context: PlanOrchestrationContext, message: str
) -> DagsterEvent:
    """An ENGINE_EVENT at ERROR level attached to the same step as `like` (so the UI shows it in
    that step's log)."""
    event = DagsterEvent(
        event_type_value=dg.DagsterEventType.ENGINE_EVENT.value,
        job_name=plan_context.job_name,
        message=message,
        event_specific_data=EngineEventData(),
        step_handle=like.step_handle,
        pid=os.getpid(),
    )
    return _logged(plan_context, logging.ERROR, message, event)
