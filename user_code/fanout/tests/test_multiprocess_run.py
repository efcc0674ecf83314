"""Real multiprocess (forkserver) runs, as the stack runs them: preload, reconstruction, pools in steps."""

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import json, sys
import dagster as dg
job = dg.build_reconstructable_job("fanout.definitions", "job_by_name", (sys.argv[1],))
with dg.instance_for_test() as instance:
    with dg.execute_job(job, instance, run_config=json.loads(sys.argv[2])) as result:
        outputs = [e for e in result.all_events if e.is_successful_output]
        print(json.dumps({
            "success": result.success,
            "step_pids": len({e.pid for e in result.all_events if e.is_step_start}),
            "used_pool": [e.step_output_data.metadata["used_pool"].value
                          for e in outputs if "used_pool" in e.step_output_data.metadata],
            "chunks": [e.step_output_data.metadata["chunks"].value
                       for e in outputs if e.step_key == "summarize_chunks"],
        }))
"""


def _run(tmp_path: Path, job: str, run_config: dict) -> dict:
    env = {**os.environ, "FANOUT_EXECUTOR": "multiprocess", "PYTHONPATH": ".", "DAGSTER_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, job, json.dumps(run_config)],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_batched_work_job_on_forkserver_multiprocess_executor(tmp_path: Path) -> None:
    config = {"ops": {"plan_batches": {"config": {"chunk_count": 4, "chunk_seconds": 0.01, "batch_size": 2}}}}
    out = _run(tmp_path, "batched_work_job", config)
    assert out["success"]
    assert out["chunks"] == [4]
    # Steps ran in their own processes, i.e. the multiprocess executor was really used.
    assert out["step_pids"] > 1


def test_parallel_unit_pool_inside_multiprocess_step(tmp_path: Path) -> None:
    config = {
        "ops": {
            "input_records": {"config": {"record_count": 2, "seed": 3}},
            "fanout_results": {"config": {"unit_mode": "parallel", "unit_work_ms": 0.5, "pool_min_work_ms": 0}},
        }
    }
    out = _run(tmp_path, "fanout_job", config)
    assert out["success"]
    assert out["used_pool"] == [True, True]
