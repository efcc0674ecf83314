"""The opt-in: steps_per_worker above 1 runs several steps per process (faster on short steps,
no isolation between them), with the recycle limits."""

import json
from pathlib import Path

import dagster as dg
import pytest
import warm_pool_test_jobs as J
from warm_pool_runs import assert_nothing_left, execute, step_pids

pytestmark = pytest.mark.timeout(120)


def _fan_out(chunks: int, execution: dict) -> dict:
    return {"ops": {"fan_out": {"config": {"chunks": chunks}}}, "execution": {"config": execution}}


def test_workers_run_several_steps_up_to_the_limit(pg_instance) -> None:
    run, outputs = execute(
        pg_instance, J.fan_out_job, _fan_out(10, {"steps_per_worker": 4, "max_concurrent": 2})
    )
    assert run.status == dg.DagsterRunStatus.SUCCESS
    assert outputs["total"] == sum(i * i for i in range(10))
    pids = step_pids(pg_instance, run.run_id)
    assert len(pids) == 12
    counts = [pids.count(pid) for pid in set(pids)]
    assert max(counts) <= 4 and len(set(pids)) < 12
    assert_nothing_left(pg_instance, run.run_id)


def test_a_worker_over_its_memory_limit_is_replaced(pg_instance) -> None:
    # Every step process holds far more than 1 MiB, so each is replaced after one step.
    execution = {"steps_per_worker": 10, "max_worker_memory_mib": 1, "max_concurrent": 2}
    run, _ = execute(pg_instance, J.fan_out_job, _fan_out(6, execution))
    assert run.status == dg.DagsterRunStatus.SUCCESS
    pids = step_pids(pg_instance, run.run_id)
    assert len(set(pids)) == len(pids) == 8


def test_reuse_gives_up_isolation_as_documented(pg_instance, tmp_path: Path) -> None:
    cfg = {
        "ops": {
            n: {"config": {"marker_dir": str(tmp_path), "memory_mib": 1}}
            for n in ("pollute", "inspect_state")
        },
        "execution": {"config": {"steps_per_worker": 2, "max_concurrent": 1}},
    }
    run, _ = execute(pg_instance, J.isolation_job, cfg)
    assert run.status == dg.DagsterRunStatus.SUCCESS
    seen = json.loads((tmp_path / "inspect.json").read_text())
    polluter = json.loads((tmp_path / "pollute.json").read_text())
    assert seen["pid"] == polluter["pid"]
    assert seen["global"] == "set by pollute" and seen["env"] == "set by pollute"
