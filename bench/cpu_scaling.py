"""What 2 cores really give CPU-bound Python here, with no Dagster: `python -m bench.cpu_scaling SPEC`.

For the benchmark's own CPU work (the same calibrated sha256 units the ops run, see
user_code/lib/unit_work.py) it measures, in one fresh process:

  sequential_s  all units run one after another in one process (the *measured* work;
                the configured work is units x unit_ms of calibrated CPU time)
  bare_split_s  the same units split into 2 equal halves run by 2 plain forked processes
                at once (wall time): the best any 2-process executor can do here
  alone_s / concurrent_s  one fixed slice of work run by 1 process alone vs by each
                of 2 processes running at the same time (the per-process slowdown of
                running two CPU-bound processes together on this VM)

Prints one JSON line.
"""

from __future__ import annotations

import json
import multiprocessing
import sys
import time


def _units(spec: dict) -> list:
    from fanout.lib.unit_work import UnitTask, iterations_per_ms

    rate = iterations_per_ms()
    if spec["workload"] == "fanout":
        from fanout.lib.records import generate_records

        return [
            UnitTask(r.id, i, spec["unit_work_ms"], "cpu", rate)
            for r in generate_records(spec["records"], 0)
            for i in range(r.units)
        ]
    return [UnitTask("chunk", i, spec["seconds"] * 1000, "cpu", rate) for i in range(spec["chunks"])]


def _run_all(units: list) -> float:
    from fanout.lib.unit_work import run_unit

    t0 = time.perf_counter()
    for unit in units:
        run_unit(unit)
    return time.perf_counter() - t0


def _child(units: list, barrier, out) -> None:
    barrier.wait()
    out.put(_run_all(units))


def _parallel(parts: list[list]) -> tuple[float, list[float]]:
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(len(parts) + 1)
    out = ctx.Queue()
    procs = [ctx.Process(target=_child, args=(p, barrier, out)) for p in parts]
    for p in procs:
        p.start()
    barrier.wait()
    t0 = time.perf_counter()
    each = [out.get() for _ in procs]
    wall = time.perf_counter() - t0
    for p in procs:
        p.join()
    return wall, each


def measure(spec: dict) -> dict:
    units = _units(spec)  # calibrated here, inherited by the forked halves
    sequential = _run_all(units)
    total_ms = sum(u.work_ms for u in units)
    # Two halves of (nearly) equal configured work.
    halves: list[list] = [[], []]
    loads = [0.0, 0.0]
    for unit in sorted(units, key=lambda u: -u.work_ms):
        i = 0 if loads[0] <= loads[1] else 1
        halves[i].append(unit)
        loads[i] += unit.work_ms
    bare_split, _ = _parallel(halves)
    # Scaling probe: ~1 s of the same work, alone vs two at once.
    probe_n = max(1, int(len(units) * min(1.0, 1000.0 / max(total_ms, 1.0))))
    probe = units[:probe_n]
    alone = _run_all(probe)
    _, concurrent = _parallel([probe, probe])
    return {
        "configured_work_s": total_ms / 1000.0,
        "sequential_s": sequential,
        "bare_split_s": bare_split,
        "alone_s": alone,
        "concurrent_s": max(concurrent),
        "slowdown": max(concurrent) / alone,
    }


def main() -> int:
    print(json.dumps(measure(json.loads(sys.argv[1]))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
