"""Instance-wide alert sensors: a failed run of any location (a run over its time limit says
so), and a run queue whose oldest run has waited too long (once per episode). The webhook URL
is the location's secret file alert_webhook_url; without it the sensors skip and say why."""

import json
import time
from pathlib import Path

import dagster as dg
from dagster_shared.error import SerializableErrorInfo
from stack_alerts import (
    DEFAULT_WEBHOOK_FILE,
    alert_error_text,
    failed_run_message,
    next_episode,
    post_json,
    queue_wait_message,
    read_webhook_url,
)

from fanout.deployment import is_stack
from fanout.lib.platform_settings import platform_settings

SETTINGS = platform_settings()
# To the code server's output: a sensor's own log (context.log) would be written under the
# compute-log directory, which code servers mount read-only. A tick's skip message says in
# the UI why an alert did not go out.
LOG = dg.get_dagster_logger("stack_alerts")
DEFAULT_STATUS = dg.DefaultSensorStatus.RUNNING if is_stack() else dg.DefaultSensorStatus.STOPPED


def step_error_text(error: SerializableErrorInfo) -> str:
    """The error the step's code raised: Dagster wraps it (DagsterExecutionStepExecutionError,
    "Error occurred while executing op ..."), the user's exception is the innermost cause."""
    while error.cause is not None:
        error = error.cause
    return error.message


def _location_of(run: dg.DagsterRun) -> str:
    origin = run.remote_job_origin
    return origin.location_name if origin is not None else run.tags.get("stack/location", "(unknown)")


def deliver(message: dict, webhook_file: Path = DEFAULT_WEBHOOK_FILE) -> str | None:
    """Posts the alert; None once delivered, else why not (also logged)."""
    setting = read_webhook_url(webhook_file)
    if setting.url is None:
        LOG.info(f"alert not sent, {setting.reason}: {message['text']}")
        return setting.reason
    delivery = post_json(setting.url, message)
    if delivery.delivered:
        LOG.info(f"alert sent after {delivery.attempts} attempt(s): {message['text']}")
        return None
    # Logged and returned, not raised: an unreachable receiver must not stop the sensor for good.
    reason = f"not delivered after {delivery.attempts} attempt(s): {delivery.error}"
    LOG.warning(f"alert {reason}")
    return reason


@dg.run_failure_sensor(
    name="run_failure_alert_sensor",
    monitor_all_code_locations=True,
    minimum_interval_seconds=SETTINGS.sensor_interval_s,
    default_status=DEFAULT_STATUS,
    description="Posts every failed run of every location to the alert webhook.",
)
def run_failure_alert_sensor(context: dg.RunFailureSensorContext) -> dg.SkipReason | None:
    run = context.dagster_run
    step_failures = context.get_step_failure_events()
    steps = [event.step_key for event in step_failures if event.step_key]
    step_errors = [
        step_error_text(event.step_failure_data.error)
        for event in step_failures
        if event.step_failure_data.error is not None
    ]
    error = alert_error_text(context.failure_event.message, step_errors)
    message = failed_run_message(
        run.job_name, _location_of(run), run.run_id, SETTINGS.run_url(run.run_id), steps, error
    )
    failure = deliver(message)
    if failure is not None:
        return dg.SkipReason(f"run {run.run_id} failed; alert not sent: {failure}")
    return None


def _parse_cursor(cursor: str | None) -> bool:
    try:
        return bool(json.loads(cursor or "{}").get("alerting"))
    except ValueError:
        return False


@dg.sensor(
    name="run_queue_alert_sensor",
    minimum_interval_seconds=SETTINGS.sensor_interval_s,
    default_status=DEFAULT_STATUS,
    description="Alerts once when the oldest queued run has waited longer than "
    "STACK_ALERT_QUEUE_AGE_SECONDS, and again only after the queue has moved.",
)
def run_queue_alert_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    threshold = SETTINGS.queue_age_threshold_s
    queued = dg.RunsFilter(statuses=[dg.DagsterRunStatus.QUEUED])
    oldest = context.instance.get_run_records(
        filters=queued, limit=1, order_by="create_timestamp", ascending=True
    )
    waited = time.time() - oldest[0].create_timestamp.timestamp() if oldest else 0.0
    step = next_episode(_parse_cursor(context.cursor), waited > threshold)
    active = step.active
    if step.alert:
        run = oldest[0].dagster_run
        count = context.instance.get_runs_count(filters=queued)
        message = queue_wait_message(
            run.run_id, run.job_name, waited, threshold, count, SETTINGS.queued_runs_url()
        )
        # Undelivered: not an alerted episode yet, so the next tick tries again.
        active = deliver(message) is None
    context.update_cursor(json.dumps({"alerting": active}))
    if not oldest:
        return dg.SkipReason("no queued run")
    state = "alerting" if active else "ok"
    return dg.SkipReason(f"oldest queued run waited {waited:.0f} s (threshold {threshold:g} s): {state}")
