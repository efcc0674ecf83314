import json
import os
from pathlib import Path

import dagster as dg

from fanout.defs.schedules import build_fanout_schedule, fanout_schedule
from fanout.defs.sensors import build_records_file_sensor, records_file_sensor


def test_schedule_defaults_and_env() -> None:
    local = build_fanout_schedule({})
    assert local.cron_schedule == "0 * * * *"
    assert local.default_status == dg.DefaultScheduleStatus.STOPPED
    stack = build_fanout_schedule({"STACK_DEPLOYMENT": "stack", "FANOUT_SCHEDULE_CRON": "*/5 * * * *"})
    assert stack.cron_schedule == "*/5 * * * *"
    assert stack.default_status == dg.DefaultScheduleStatus.RUNNING
    off = build_fanout_schedule({"STACK_DEPLOYMENT": "stack", "FANOUT_SCHEDULE_ENABLED": "false"})
    assert off.default_status == dg.DefaultScheduleStatus.STOPPED


def test_schedule_requests_a_fanout_job_run() -> None:
    assert fanout_schedule.job_name == "fanout_job"
    data = fanout_schedule.evaluate_tick(dg.build_schedule_context())
    assert len(data.run_requests or []) == 1


def test_sensor_interval_and_status_from_env() -> None:
    assert build_records_file_sensor({}).minimum_interval_seconds == 30
    stack = build_records_file_sensor({"STACK_DEPLOYMENT": "stack", "FANOUT_SENSOR_INTERVAL_SECONDS": "5"})
    assert stack.minimum_interval_seconds == 5
    assert stack.default_status == dg.DefaultSensorStatus.RUNNING
    assert build_records_file_sensor({}).default_status == dg.DefaultSensorStatus.STOPPED
    assert records_file_sensor.job_name == "fanout_job"


def _tick(cursor: str | None) -> dg.SensorResult:
    result = records_file_sensor(dg.build_sensor_context(cursor=cursor))
    assert isinstance(result, dg.SensorResult)
    return result


def test_sensor_fires_once_per_new_file(data_dir: Path) -> None:
    incoming = data_dir / "incoming"
    assert _tick(None).run_requests == []

    (incoming / "a.json").write_text(json.dumps([{"id": "a", "units": 10}]))
    (incoming / ".b.json").write_text("[]")  # still being written: ignored
    first = _tick(None)
    assert [r.run_key for r in first.run_requests] == [
        f"a.json:{(incoming / 'a.json').stat().st_mtime_ns}:{(incoming / 'a.json').stat().st_size}"
    ]
    assert first.run_requests[0].run_config == {
        "ops": {"input_records": {"config": {"records_path": "incoming/a.json"}}}
    }

    again = _tick(first.cursor)
    assert again.run_requests == []

    (incoming / ".b.json").rename(incoming / "b.json")
    third = _tick(again.cursor)
    assert [r.tags["fanout/records_file"] for r in third.run_requests] == ["b.json"]

    # A rewritten file is a new version and runs again.
    (incoming / "a.json").write_text(json.dumps([{"id": "a", "units": 11}]))
    os.utime(incoming / "a.json", ns=(10**18, 10**18))
    fourth = _tick(third.cursor)
    assert [r.tags["fanout/records_file"] for r in fourth.run_requests] == ["a.json"]


def test_sensor_run_config_drives_a_real_run(data_dir: Path, fanout_job: dg.JobDefinition) -> None:
    (data_dir / "incoming" / "r.json").write_text(json.dumps([{"id": "r-1", "units": 10}]))
    request = _tick(None).run_requests[0]
    config = {**request.run_config, "ops": {**request.run_config["ops"], "fanout_results": {"config": {"unit_work_ms": 0.1}}}}
    result = fanout_job.execute_in_process(run_config=config)
    assert result.success
    assert [r.record_id for r in result.output_for_node("fanout_results")] == ["r-1"]
