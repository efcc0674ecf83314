"""Correctness of `warm_pool_executor` (jobs in warm_pool_jobs.py, sqlite temp instances)."""

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

import warm_pool_jobs as J
from user_code.executors import WarmPoolExecutor, warm_pool_executor

pytestmark = pytest.mark.timeout(90)

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def instance(tmp_path: Path):
    home = tmp_path / "home"
    home.mkdir()
    with dg.DagsterInstance.local_temp(str(home)) as inst:
        yield inst


def _execute(instance, job, run_config=None):
    with dg.execute_job(dg.reconstructable(job), instance=instance, run_config=run_config or {}) as result:
        outputs = {}
        if result.success:
            for node in ("total", "add_one_2", "flaky_op_policy", "flaky_op_retry_requested"):
                try:
                    outputs[node] = result.output_for_node(node)
                except Exception:  # node not in this job
                    pass
        return result, outputs


def _events(result, event_type: str):
    return [e for e in result.all_events if e.event_type_value == event_type]


def _worker_pids(result) -> list[int]:
    for e in _events(result, "ENGINE_EVENT"):
        if e.message and e.message.startswith("Warm pool: started"):
            md = e.event_specific_data.metadata
            return json.loads(md["worker_pids"].value)
    raise AssertionError("no warm pool start event")


def _pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf8") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _assert_no_workers_left(result) -> None:
    pids = _worker_pids(result)
    assert pids
    for e in _events(result, "ENGINE_EVENT"):
        md = e.event_specific_data.metadata if e.event_specific_data else {}
        if "replacement_pid" in md and md["replacement_pid"].value != "None":
            pids.append(int(md["replacement_pid"].value))
    assert [p for p in pids if _pid_alive(p)] == []
    assert multiprocessing.active_children() == []


def _spans(marker_dir: Path) -> dict[str, tuple[int, float, float]]:
    spans = {}
    for f in marker_dir.glob("*.span"):
        pid, start, end = f.read_text().split()
        spans[f.stem] = (int(pid), float(start), float(end))
    return spans


def _overlap(a, b) -> bool:
    return a[1] < b[2] and b[1] < a[2]


# --------------------------------------------------------------------------------------


def test_executor_definition_defaults():
    assert warm_pool_executor.name == "warm_pool"
    ex = WarmPoolExecutor(retries=dg._core.execution.retries.RetryMode.ENABLED)  # noqa: SLF001
    assert ex.max_concurrent >= 1


def test_simple_job_succeeds_and_shuts_down_workers(instance):
    result, outputs = _execute(instance, J.simple_job)
    assert result.success
    assert outputs["add_one_2"] == 3
    started = _events(result, "STEP_WORKER_STARTED")
    assert len(started) == 3
    # steps ran in the pool's workers, not in fresh processes per step
    step_pids = {e.pid for e in _events(result, "STEP_START")}
    assert step_pids <= set(_worker_pids(result))
    assert os.getpid() not in step_pids
    _assert_no_workers_left(result)


def test_dynamic_fan_out_collect(instance):
    result, outputs = _execute(
        instance, J.fan_out_job, {"ops": {"fan_out": {"config": {"chunks": 12}}}}
    )
    assert result.success
    assert outputs["total"] == sum(i * i for i in range(12))
    assert len(_events(result, "STEP_SUCCESS")) == 12 + 2
    # 14 steps on (at most) max_concurrent warm workers: workers are reused
    step_pids = {e.pid for e in _events(result, "STEP_START")}
    assert len(step_pids) <= len(_worker_pids(result))
    _assert_no_workers_left(result)


def test_step_failure_fails_run_with_error(instance):
    result, _ = _execute(instance, J.failing_job)
    assert not result.success
    failures = _events(result, "STEP_FAILURE")
    assert [e.step_key for e in failures] == ["always_fails"]
    assert "boom from always_fails" in failures[0].step_failure_data.error.to_string()
    # downstream is abandoned (never started), as with Dagster's multiprocess executor
    assert [e.step_key for e in _events(result, "STEP_START")] == ["always_fails"]
    assert _events(result, "PIPELINE_FAILURE")
    _assert_no_workers_left(result)


def test_retry_policy_succeeds_on_second_attempt(instance, tmp_path):
    cfg = {"ops": {"flaky_op_policy": {"config": {"marker_dir": str(tmp_path)}}}}
    result, outputs = _execute(instance, J.retry_policy_job, cfg)
    assert result.success
    assert outputs["flaky_op_policy"] == 2
    assert (tmp_path / "flaky_op_policy.attempts").read_text() == "2"
    assert len(_events(result, "STEP_UP_FOR_RETRY")) == 1
    assert len(_events(result, "STEP_RESTARTED")) == 1
    _assert_no_workers_left(result)


def test_retry_requested_honours_executor_retry_mode(instance, tmp_path):
    marker = tmp_path / "enabled"
    marker.mkdir()
    cfg = {"ops": {"flaky_op_retry_requested": {"config": {"marker_dir": str(marker)}}}}
    result, outputs = _execute(instance, J.retry_requested_job, cfg)
    assert result.success
    assert outputs["flaky_op_retry_requested"] == 2

    marker = tmp_path / "disabled"
    marker.mkdir()
    cfg = {
        "ops": {"flaky_op_retry_requested": {"config": {"marker_dir": str(marker)}}},
        "execution": {"config": {"retries": {"disabled": {}}}},
    }
    result, _ = _execute(instance, J.retry_requested_job, cfg)
    assert not result.success
    assert (marker / "flaky_op_retry_requested.attempts").read_text() == "1"
    assert not _events(result, "STEP_UP_FOR_RETRY")


def _spans_config(marker_dir: Path, execution: dict) -> dict:
    op_cfg = {"config": {"marker_dir": str(marker_dir), "seconds": 0.4}}
    return {
        "ops": {name: op_cfg for name in ("span_a", "span_b", "span_c", "span_d")},
        "execution": {"config": execution},
    }


def test_max_concurrent_one_serializes(instance, tmp_path):
    result, _ = _execute(instance, J.parallel_spans_job, _spans_config(tmp_path, {"max_concurrent": 1}))
    assert result.success
    spans = _spans(tmp_path)
    assert len(spans) == 4
    names = sorted(spans)
    assert not any(_overlap(spans[a], spans[b]) for a in names for b in names if a < b)
    assert len(_worker_pids(result)) == 1
    assert len({s[0] for s in spans.values()}) == 1  # one warm worker ran all four


def test_parallel_steps_overlap_without_limits(instance, tmp_path):
    # control for the serialization tests: with 2 slots, independent steps do overlap
    result, _ = _execute(instance, J.parallel_spans_job, _spans_config(tmp_path, {"max_concurrent": 2}))
    assert result.success
    spans = _spans(tmp_path)
    names = sorted(spans)
    assert any(_overlap(spans[a], spans[b]) for a in names for b in names if a < b)


def test_tag_concurrency_limits_respected(instance, tmp_path):
    execution = {
        "max_concurrent": 3,
        "tag_concurrency_limits": [{"key": "database", "value": "tiny", "limit": 1}],
    }
    result, _ = _execute(instance, J.parallel_spans_job, _spans_config(tmp_path, execution))
    assert result.success
    spans = _spans(tmp_path)
    tagged = ["span_a", "span_b", "span_c"]
    assert not any(_overlap(spans[a], spans[b]) for a in tagged for b in tagged if a < b)


def test_worker_death_fails_step_and_is_replaced(instance, tmp_path):
    cfg = {
        "ops": {"dies": {"config": {"marker_dir": str(tmp_path), "always": True}}},
        "execution": {"config": {"max_concurrent": 1}},
    }
    result, _ = _execute(instance, J.worker_death_job, cfg)
    assert not result.success
    failures = _events(result, "STEP_FAILURE")
    assert [e.step_key for e in failures] == ["dies"]
    crash_msgs = [e.message for e in _events(result, "ENGINE_EVENT") if "dies" in (e.message or "")]
    assert any("unexpectedly exited with code 17" in m for m in crash_msgs), crash_msgs
    # the other step still ran, on the replacement worker
    successes = _events(result, "STEP_SUCCESS")
    assert [e.step_key for e in successes] == ["survivor"]
    dead_pid = int((tmp_path / "dies.once").read_text())
    assert successes[0].pid != dead_pid
    replaced = [e for e in _events(result, "ENGINE_EVENT") if "died (exit code 17)" in (e.message or "")]
    assert len(replaced) == 1
    _assert_no_workers_left(result)


def test_worker_death_is_retried_by_retry_policy(instance, tmp_path):
    cfg = {"ops": {"dies_once": {"config": {"marker_dir": str(tmp_path), "always": False}}}}
    result, _ = _execute(instance, J.worker_death_retry_job, cfg)
    assert result.success
    assert len(_events(result, "STEP_UP_FOR_RETRY")) == 1
    dead_pid = int((tmp_path / "dies.once").read_text())
    assert _events(result, "STEP_SUCCESS")[0].pid != dead_pid
    _assert_no_workers_left(result)


_RUNNER = """
import sys
sys.path[:0] = {paths!r}
import dagster as dg
import warm_pool_jobs as J
instance = dg.DagsterInstance.get()
result = dg.execute_job(dg.reconstructable(J.long_sleep_job), instance=instance,
                        run_config={{"ops": {{"long_sleep": {{"config": {{"marker_dir": {marker!r}, "seconds": 60}}}}}}}})
print("RESULT", result.success, flush=True)
"""


def test_termination_interrupts_step_and_cleans_up(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    marker = tmp_path / "markers"
    marker.mkdir()
    script = _RUNNER.format(paths=[str(REPO_ROOT), str(Path(__file__).parent)], marker=str(marker))
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    proc = subprocess.Popen(
        [sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        started = marker / "long_sleep.started"
        deadline = time.monotonic() + 45
        while not started.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "step never started"
            time.sleep(0.05)
        worker_pid = int(started.read_text())
        assert worker_pid != proc.pid

        with dg.DagsterInstance.from_config(str(home)) as instance:
            (run,) = instance.get_runs()
            # what a run launcher's terminate() does: mark CANCELING, then signal the run worker
            instance.report_run_canceling(run)
            os.kill(proc.pid, signal.SIGTERM)
            out, err = proc.communicate(timeout=45)

            run = instance.get_run_by_id(run.run_id)
            assert run.status == dg.DagsterRunStatus.CANCELED, (out, err[-3000:])
            logs = instance.all_logs(run.run_id)
            failures = [e for e in logs if e.dagster_event and e.dagster_event.event_type_value == "STEP_FAILURE"]
            assert [e.step_key for e in failures] == ["long_sleep"]
            assert "DagsterExecutionInterruptedError" in failures[0].dagster_event.step_failure_data.error.to_string()
        assert not (marker / "long_sleep.finished").exists()
        assert not _pid_alive(worker_pid)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
