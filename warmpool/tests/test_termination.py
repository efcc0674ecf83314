"""Termination, as a run launcher does it: the run is marked CANCELING and its run worker gets
SIGTERM. The running step is interrupted, the run ends CANCELED, no process is left."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
from warm_pool_runs import events, pid_alive, template_pid, warm_pool_processes

pytestmark = pytest.mark.timeout(180)

RUNNER = """
import dagster as dg
import warm_pool_test_jobs as J
with dg.DagsterInstance.get() as instance:
    config = {"ops": {"long_sleep": {"config": {"marker_dir": %r, "seconds": 120}}}}
    with dg.execute_job(dg.reconstructable(J.long_sleep_job), instance=instance, run_config=config) as result:
        print("RESULT", result.success, flush=True)
"""


def test_termination_interrupts_the_step_and_leaves_nothing(
    tmp_path: Path, postgres_url: str
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        f"storage:\n  postgres:\n    postgres_url: {postgres_url}\ntelemetry:\n  enabled: false\n"
    )
    marker = tmp_path / "markers"
    marker.mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": os.pathsep.join(sys.path)}
    worker = subprocess.Popen(
        [sys.executable, "-c", RUNNER % str(marker)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        started = marker / "long_sleep.started"
        deadline = time.monotonic() + 90
        while not started.exists():
            assert worker.poll() is None, worker.communicate()
            assert time.monotonic() < deadline, "step never started"
            time.sleep(0.05)
        step_pid = int(started.read_text())
        with dg.DagsterInstance.from_config(str(home)) as instance:
            (run,) = instance.get_runs(limit=1)
            began = time.monotonic()
            instance.report_run_canceling(run)
            os.kill(worker.pid, signal.SIGTERM)
            out, err = worker.communicate(timeout=90)
            took = time.monotonic() - began
            run = instance.get_run_by_id(run.run_id)
            assert run is not None
            assert run.status == dg.DagsterRunStatus.CANCELED, (out, err[-3000:])
            failures = events(instance, run.run_id, "STEP_FAILURE")
            assert [e.dagster_event.step_key for e in failures] == ["long_sleep"]
            error = failures[0].dagster_event.step_failure_data.error.to_string()
            assert "DagsterExecutionInterruptedError" in error
            template = template_pid(instance, run.run_id)
        print(f"\n[termination] SIGTERM to CANCELED in {took:.2f} s")
        assert not (marker / "long_sleep.finished").exists()
        assert not pid_alive(step_pid) and not pid_alive(template)
        assert warm_pool_processes() == []
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
