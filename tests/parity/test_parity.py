"""Parity: the real fanout_job and chunked_work_job on the warm pool and on Dagster's own
multiprocess executor, on a real Postgres with the stack's instance configuration. For every
case both runs must end alike: run status, each step's status and attempts, and the
materializations with their metadata keys. (Out of memory needs a container's memory limit:
that case runs against the live stack, tests/integration/test_out_of_memory.py.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
from stack_testing.instance_config import stack_instance_config

from tests.parity.parity_jobs import JOBS
from tests.parity.run_summary import RunSummary, summarize_run
from fanout.lib.mapping_keys import mapping_keys_for
from fanout.lib.records import generate_records

pytestmark = pytest.mark.timeout(300)

EXECUTORS = ("warm_pool", "stock")
INPUT = {"record_count": 4, "seed": 5}
RECORDS = generate_records(4, 5)
KEYS = mapping_keys_for([r.id for r in RECORDS])


def _fanout_config(**fanout: object) -> dict:
    return {
        "ops": {
            "input_records": {"config": INPUT},
            "fanout_results": {"config": {"unit_work_ms": 1.0, **fanout}},
        }
    }


def _run(instance: dg.DagsterInstance, workload: str, executor: str, config: dict, **kwargs) -> str:
    job = dg.reconstructable(JOBS[(workload, executor)])
    with dg.execute_job(job, instance=instance, run_config=config, **kwargs) as result:
        return result.run_id


def _both(instance: dg.DagsterInstance, workload: str, config: dict) -> dict[str, RunSummary]:
    return {ex: summarize_run(instance, _run(instance, workload, ex, config)) for ex in EXECUTORS}


def _assert_same(summaries: dict[str, RunSummary]) -> RunSummary:
    warm, stock = summaries["warm_pool"], summaries["stock"]
    assert warm.status == stock.status
    assert warm.steps == stock.steps
    assert warm.materializations == stock.materializations
    return warm


def test_success(pg_instance) -> None:
    fanout = _assert_same(_both(pg_instance, "fanout", _fanout_config()))
    assert fanout.status == "SUCCESS"
    assert sum(k.startswith("fanout_results.process_record[") for k in fanout.steps) == 4
    assert set(fanout.materializations) == {"input_records", "fanout_results", "fanout_report"}
    assert "overhead_ratio" in fanout.materializations["fanout_report"][0]

    chunked_config = {
        "ops": {"plan_chunk_steps": {"config": {"chunk_count": 6, "chunk_seconds": 0.01}}}
    }
    chunked = _assert_same(_both(pg_instance, "chunked", chunked_config))
    assert chunked.status == "SUCCESS" and len(chunked.steps) == 8


def test_a_flaky_record_is_retried(pg_instance) -> None:
    flaky = RECORDS[1].id
    summary = _assert_same(_both(pg_instance, "fanout", _fanout_config(flaky_record_ids=[flaky])))
    assert summary.status == "SUCCESS"
    assert summary.steps[f"fanout_results.process_record[{KEYS[flaky]}]"] == ("SUCCESS", 2)


def test_an_always_failing_record_then_reexecution_from_failure(pg_instance) -> None:
    failing = RECORDS[2].id
    failing_step = f"fanout_results.process_record[{KEYS[failing]}]"
    first: dict[str, RunSummary] = {}
    second: dict[str, RunSummary] = {}
    for executor in EXECUTORS:
        run_id = _run(pg_instance, "fanout", executor, _fanout_config(failing_record_ids=[failing]))
        first[executor] = summarize_run(pg_instance, run_id)
        again = _run(
            pg_instance,
            "fanout",
            executor,
            _fanout_config(),
            reexecution_options=dg.ReexecutionOptions.from_failure(run_id, pg_instance),
        )
        second[executor] = summarize_run(pg_instance, again)
    failed = _assert_same(first)
    assert failed.status == "FAILURE"
    assert failed.steps[failing_step] == ("FAILURE", 3)
    assert "fanout_report" not in failed.materializations
    fixed = _assert_same(second)
    assert fixed.status == "SUCCESS"
    assert set(fixed.steps) == {failing_step, "fanout_results.collect_results", "fanout_report"}


RUNNER = """
import sys
import dagster as dg
from tests.parity.parity_jobs import JOBS
config = {"ops": {"plan_chunk_steps": {"config": {"chunk_count": 2, "chunk_seconds": 120.0, "kind": "sleep"}}}}
with dg.DagsterInstance.get() as instance:
    with dg.execute_job(dg.reconstructable(JOBS[("chunked", sys.argv[1])]), instance=instance, run_config=config):
        pass
"""


def _terminated_run(home: Path, executor: str) -> RunSummary:
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": os.pathsep.join(sys.path)}
    worker = subprocess.Popen(
        [sys.executable, "-c", RUNNER, executor],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            deadline = time.monotonic() + 120
            run_id = None
            while True:
                assert worker.poll() is None, worker.communicate()[1][-3000:]
                assert time.monotonic() < deadline, "the chunk steps never both started"
                runs = instance.get_runs(limit=1)
                if runs and runs[0].job_name == f"chunked_work_job_{executor}":
                    run_id = runs[0].run_id
                    started = instance.get_records_for_run(
                        run_id, of_type=dg.DagsterEventType.STEP_START
                    ).records
                    if (
                        sum("run_one_chunk" in (r.event_log_entry.step_key or "") for r in started)
                        == 2
                    ):
                        break
                time.sleep(0.2)
            instance.report_run_canceling(instance.get_run_by_id(run_id))
            os.kill(worker.pid, signal.SIGTERM)
            worker.communicate(timeout=120)
            return summarize_run(instance, run_id)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()


def test_termination_mid_run(tmp_path: Path, postgres_url: str) -> None:
    import yaml

    home = tmp_path / "home"
    home.mkdir()
    config = {
        # The stack's instance configuration (as the pg_instance fixture), in a dagster.yaml.
        **stack_instance_config(postgres_url, str(tmp_path / "logs")),
        "telemetry": {"enabled": False},
    }
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    summary = _assert_same({ex: _terminated_run(home, ex) for ex in EXECUTORS})
    assert summary.status == "CANCELED"
    assert summary.steps["plan_chunk_steps"] == ("SUCCESS", 1)
    assert summary.steps["run_one_chunk[chunk_0]"][0] == "FAILURE"
    assert summary.steps["run_one_chunk[chunk_1]"][0] == "FAILURE"
    assert "summarize_chunks" not in summary.steps
