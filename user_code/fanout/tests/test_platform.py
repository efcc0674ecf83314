"""The platform's definitions in this location: settings from the environment, the
instance-wide alert sensors and the retention schedule, and the fault jobs."""

from pathlib import Path

import dagster as dg
import pytest

from fanout.definitions import defs
from fanout.defs.platform.alerts import (
    deliver,
    run_failure_alert_sensor,
    run_queue_alert_sensor,
    step_error_text,
)
from fanout.lib.platform_settings import platform_settings


def test_settings_defaults_and_env() -> None:
    default = platform_settings({})
    assert (default.sensor_interval_s, default.queue_age_threshold_s) == (10, 600)
    assert (default.retention_days, default.retention_keep_last) == (30, 20)
    assert default.run_url("abc") == "https://127.0.0.1:3000/runs/abc"
    custom = platform_settings({"STACK_PUBLIC_URL": "https://dagster.example/", "STACK_RETENTION_DAYS": "7"})
    assert custom.run_url("abc") == "https://dagster.example/runs/abc"
    assert custom.retention_days == 7
    with pytest.raises(ValueError, match="STACK_ALERT_QUEUE_AGE_SECONDS must be a number"):
        platform_settings({"STACK_ALERT_QUEUE_AGE_SECONDS": "ten"})


def test_the_failure_sensor_watches_every_location() -> None:
    assert isinstance(run_failure_alert_sensor, dg.RunStatusSensorDefinition)
    names = {sensor.name for sensor in defs.sensors}
    assert {"run_failure_alert_sensor", "run_queue_alert_sensor"} <= names
    assert {schedule.name for schedule in defs.schedules} >= {"retention_schedule"}


def test_the_queue_sensor_skips_with_no_queued_run() -> None:
    with dg.instance_for_test() as instance:
        result = run_queue_alert_sensor(dg.build_sensor_context(instance=instance))
    assert isinstance(result, dg.SkipReason) and "no queued run" in (result.skip_message or "")


def test_fail_job_fails_in_its_step_with_the_users_error() -> None:
    result = defs.resolve_job_def("fail_job").execute_in_process(raise_on_error=False)
    assert not result.success
    (failure,) = result.get_step_failure_events()
    # The alert quotes the user's exception, not Dagster's wrapper around it.
    assert step_error_text(failure.step_failure_data.error).startswith(
        "ValueError: fail_job failed on purpose"
    )


def test_without_a_webhook_url_delivery_says_why_and_does_not_raise(tmp_path: Path) -> None:
    message = {"text": "Run failed: j in l"}
    assert "does not exist" in (deliver(message, tmp_path / "alert_webhook_url") or "")
    (tmp_path / "alert_webhook_url").write_text("random-token-from-the-deployer")
    assert "holds no http(s):// URL" in (deliver(message, tmp_path / "alert_webhook_url") or "")


def test_an_unreachable_receiver_is_reported_not_raised(tmp_path: Path) -> None:
    (tmp_path / "alert_webhook_url").write_text("http://127.0.0.1:9/hook")  # discard port: refused
    failure = deliver({"text": "Run failed: j in l"}, tmp_path / "alert_webhook_url")
    assert failure is not None and failure.startswith("not delivered after 3 attempt(s)")
