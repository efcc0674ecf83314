"""One measurement, in a fresh Python process (like a run worker): `python -m bench.run_one`.

Reads a JSON spec on argv[1], imports everything *before* starting the clock, times
only the execute call, and prints one JSON line with the result.  A fresh process per
measurement keeps repeats honest: no forkserver, import cache or lru_cache survives
from one run to the next, just as each launched run gets a new process.
"""

import json
import sys
import time


def _run_times(instance, run_id: str) -> tuple[float | None, float | None]:
    record = instance.get_run_record_by_id(run_id)
    if record is None:
        return None, None
    return record.start_time, record.end_time


def _steps(instance, run_id: str) -> int:
    import dagster as dg

    return len(instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_START).records)


def main() -> int:
    spec = json.loads(sys.argv[1])
    import dagster as dg

    import bench.jobs as jobs

    method = spec["method"]
    base = method.split(":")[0]  # "warm_pool:variant" -> same job, variant run config
    fanout = spec.get("workload") == "fanout"
    if fanout:
        cfg = jobs.fanout_run_config(
            spec["records"], spec["unit_work_ms"], spec["unit_mode"], spec.get("execution")
        )
    else:
        cfg = jobs.run_config(spec["chunks"], spec["seconds"], spec["kind"], spec.get("execution"))
    instance = dg.DagsterInstance.get()
    # Warm the instance's storages so their setup is not billed to the first method.
    instance.get_runs(limit=1)

    if base == "in_process" and not fanout:
        t0 = time.perf_counter()
        result = jobs.chunked_in_process.execute_in_process(run_config=cfg, instance=instance)
        wall = time.perf_counter() - t0
        success, run_id = result.success, result.run_id
    else:
        table = jobs.FANOUT_RECONSTRUCTABLE if fanout else jobs.RECONSTRUCTABLE
        recon = dg.reconstructable(table[base])
        t0 = time.perf_counter()
        with dg.execute_job(recon, instance=instance, run_config=cfg) as result:
            wall = time.perf_counter() - t0
            success, run_id = result.success, result.run_id
    start, end = _run_times(instance, run_id)
    print(
        json.dumps(
            {
                "success": success,
                "run_id": run_id,
                "wall_s": wall,
                "run_s": (end - start) if start and end else None,
                "steps": _steps(instance, run_id),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
