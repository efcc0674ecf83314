"""The warm pool's orchestration on a real Postgres: what Dagster's executors guarantee."""

from pathlib import Path

import dagster as dg
import pytest
import warm_pool_test_jobs as J
from dagster_warm_pool import warm_pool_executor
from warm_pool_runs import (
    assert_nothing_left,
    engine_messages,
    events,
    execute,
    overlap,
    spans,
    step_keys,
    step_pids,
    template_pid,
    this_pid,
)

pytestmark = pytest.mark.timeout(120)


def test_executor_definition() -> None:
    assert warm_pool_executor.name == "warm_pool"
    fields = warm_pool_executor.config_schema.as_field().config_type.fields
    assert {"max_concurrent", "retries", "tag_concurrency_limits", "worker_memory_mib"} <= set(
        fields
    )


def test_each_step_runs_in_a_fresh_process_forked_from_the_template(pg_instance) -> None:
    run, outputs = execute(pg_instance, J.simple_job)
    assert run.status == dg.DagsterRunStatus.SUCCESS
    assert outputs["add_one_2"] == 3
    pids = step_pids(pg_instance, run.run_id)
    assert len(pids) == 3 and len(set(pids)) == 3  # one process per step
    assert this_pid() not in pids and template_pid(pg_instance, run.run_id) not in pids
    assert "Starting execution with step handler warm_pool." in engine_messages(
        pg_instance, run.run_id
    )
    assert_nothing_left(pg_instance, run.run_id)


def test_dynamic_fan_out_collect(pg_instance) -> None:
    run, outputs = execute(
        pg_instance, J.fan_out_job, {"ops": {"fan_out": {"config": {"chunks": 12}}}}
    )
    assert run.status == dg.DagsterRunStatus.SUCCESS
    assert outputs["total"] == sum(i * i for i in range(12))
    assert len(step_keys(pg_instance, run.run_id, "STEP_SUCCESS")) == 12 + 2
    assert_nothing_left(pg_instance, run.run_id)


def test_step_failure_fails_the_run_and_skips_downstream(pg_instance) -> None:
    run, _ = execute(pg_instance, J.failing_job)
    assert run.status == dg.DagsterRunStatus.FAILURE
    failures = events(pg_instance, run.run_id, "STEP_FAILURE")
    assert [e.dagster_event.step_key for e in failures] == ["always_fails"]
    assert "boom from always_fails" in failures[0].dagster_event.step_failure_data.error.to_string()
    assert step_keys(pg_instance, run.run_id, "STEP_START") == ["always_fails"]
    assert_nothing_left(pg_instance, run.run_id)


def test_retry_policy_succeeds_on_second_attempt(pg_instance, tmp_path: Path) -> None:
    cfg = {"ops": {"flaky_op_policy": {"config": {"marker_dir": str(tmp_path)}}}}
    run, outputs = execute(pg_instance, J.retry_policy_job, cfg)
    assert run.status == dg.DagsterRunStatus.SUCCESS
    assert outputs["flaky_op_policy"] == 2
    assert len(step_keys(pg_instance, run.run_id, "STEP_UP_FOR_RETRY")) == 1
    assert len(step_keys(pg_instance, run.run_id, "STEP_RESTARTED")) == 1


def test_retry_requested_follows_the_executors_retry_mode(pg_instance, tmp_path: Path) -> None:
    enabled = tmp_path / "enabled"
    enabled.mkdir()
    cfg = {"ops": {"flaky_op_retry_requested": {"config": {"marker_dir": str(enabled)}}}}
    run, outputs = execute(pg_instance, J.retry_requested_job, cfg)
    assert run.status == dg.DagsterRunStatus.SUCCESS and outputs["flaky_op_retry_requested"] == 2

    disabled = tmp_path / "disabled"
    disabled.mkdir()
    cfg = {
        "ops": {"flaky_op_retry_requested": {"config": {"marker_dir": str(disabled)}}},
        "execution": {"config": {"retries": {"disabled": {}}}},
    }
    run, _ = execute(pg_instance, J.retry_requested_job, cfg)
    assert run.status == dg.DagsterRunStatus.FAILURE
    assert (disabled / "flaky_op_retry_requested.attempts").read_text() == "1"


def _spans_config(marker_dir: Path, execution: dict) -> dict:
    op_cfg = {"config": {"marker_dir": str(marker_dir), "seconds": 0.4}}
    return {
        "ops": {name: op_cfg for name in ("span_a", "span_b", "span_c", "span_d")},
        "execution": {"config": execution},
    }


def test_max_concurrent_one_serializes(pg_instance, tmp_path: Path) -> None:
    run, _ = execute(
        pg_instance, J.parallel_spans_job, _spans_config(tmp_path, {"max_concurrent": 1})
    )
    assert run.status == dg.DagsterRunStatus.SUCCESS
    found = spans(tmp_path)
    names = sorted(found)
    assert len(names) == 4
    assert not any(overlap(found[a], found[b]) for a in names for b in names if a < b)


def test_parallel_steps_overlap_without_limits(pg_instance, tmp_path: Path) -> None:
    # Control for the serialization tests: with 2 slots, independent steps do overlap.
    run, _ = execute(
        pg_instance, J.parallel_spans_job, _spans_config(tmp_path, {"max_concurrent": 2})
    )
    assert run.status == dg.DagsterRunStatus.SUCCESS
    found = spans(tmp_path)
    names = sorted(found)
    assert any(overlap(found[a], found[b]) for a in names for b in names if a < b)


def test_tag_concurrency_limits(pg_instance, tmp_path: Path) -> None:
    execution = {
        "max_concurrent": 3,
        "tag_concurrency_limits": [{"key": "database", "value": "tiny", "limit": 1}],
    }
    run, _ = execute(pg_instance, J.parallel_spans_job, _spans_config(tmp_path, execution))
    assert run.status == dg.DagsterRunStatus.SUCCESS
    found = spans(tmp_path)
    tagged = ["span_a", "span_b", "span_c"]
    assert not any(overlap(found[a], found[b]) for a in tagged for b in tagged if a < b)


def test_a_dead_step_process_fails_its_step_with_the_exit_code(pg_instance, tmp_path: Path) -> None:
    cfg = {
        "ops": {"dies": {"config": {"marker_dir": str(tmp_path), "always": True}}},
        "execution": {"config": {"max_concurrent": 1}},
    }
    run, _ = execute(pg_instance, J.worker_death_job, cfg)
    assert run.status == dg.DagsterRunStatus.FAILURE
    failures = events(pg_instance, run.run_id, "STEP_FAILURE")
    assert [e.dagster_event.step_key for e in failures] == ["dies"]
    dead_pid = int((tmp_path / "dies.once").read_text())
    message = failures[0].dagster_event.step_failure_data.error.message
    assert f"The step process (pid {dead_pid}) for dies exited with code 17" in message
    # The other step still ran, in its own process.
    assert step_keys(pg_instance, run.run_id, "STEP_SUCCESS") == ["survivor"]
    assert_nothing_left(pg_instance, run.run_id)


def test_a_dead_step_process_is_retried_by_the_retry_policy(pg_instance, tmp_path: Path) -> None:
    cfg = {"ops": {"dies_once": {"config": {"marker_dir": str(tmp_path), "always": False}}}}
    run, _ = execute(pg_instance, J.worker_death_retry_job, cfg)
    assert run.status == dg.DagsterRunStatus.SUCCESS
    assert len(step_keys(pg_instance, run.run_id, "STEP_UP_FOR_RETRY")) == 1
    assert_nothing_left(pg_instance, run.run_id)


def test_step_output_reaches_the_captured_logs(pg_instance) -> None:
    run, _ = execute(pg_instance, J.printing_job)
    assert run.status == dg.DagsterRunStatus.SUCCESS
    manager = pg_instance.compute_log_manager
    captured = {}
    for entry in events(pg_instance, run.run_id, "LOGS_CAPTURED"):
        data = entry.dagster_event.logs_captured_data
        log_key = manager.build_log_key_for_run(run.run_id, data.file_key)
        assert manager.is_capture_complete(log_key)
        logs = manager.get_log_data(log_key)
        for key in data.step_keys:
            captured[key] = ((logs.stdout or b"").decode(), (logs.stderr or b"").decode())
    stdout, stderr = captured["prints_both"]
    assert "hello-stdout from prints_both" in stdout
    assert "raw-fd-write from prints_both" in stdout
    assert "hello-stderr from prints_both" in stderr
    assert "second step got 1" in captured["prints_after"][0]
    assert "hello-stdout" not in captured["prints_after"][0]


def test_run_usage_is_recorded(pg_instance) -> None:
    run, _ = execute(pg_instance, J.simple_job)
    usage = [
        m for m in engine_messages(pg_instance, run.run_id) if m.startswith("Run resource usage:")
    ]
    assert len(usage) == 1
