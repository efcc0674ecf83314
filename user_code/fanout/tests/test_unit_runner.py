import subprocess
import sys

import pytest

from fanout.lib.unit_runner import UnitWorkerDied, build_tasks, run_on_pool, run_units, unit_pool_size
from fanout.lib.unit_work import UnitResult, UnitTask, combine_digests, iterations_per_ms, run_unit, unit_digest


def test_parallel_pool_and_sequential_give_identical_results() -> None:
    sequential = run_units("rec-a", 12, 1.0, "cpu", "sequential", pool_size=2)
    parallel = run_units("rec-a", 12, 1.0, "cpu", "parallel", pool_size=2, pool_min_work_ms=0)
    assert parallel.used_pool and parallel.pool_size == 2
    assert not sequential.used_pool
    assert [u.digest for u in parallel.results] == [u.digest for u in sequential.results]
    assert [u.unit_index for u in parallel.results] == list(range(12))
    assert combine_digests(parallel.results) == combine_digests(sequential.results)


def test_small_work_skips_the_pool() -> None:
    run = run_units("rec-a", 10, 0.1, "cpu", "parallel", pool_size=4, pool_min_work_ms=100)
    assert not run.used_pool


def test_single_cpu_skips_the_pool() -> None:
    assert not run_units("rec-a", 10, 1.0, "cpu", "parallel", pool_size=1, pool_min_work_ms=0).used_pool


def test_result_independent_of_kind_and_cost() -> None:
    cpu = run_unit(UnitTask("r", 3, 2.0, "cpu", iterations_per_ms()))
    sleep = run_unit(UnitTask("r", 3, 1.0, "sleep", 0.0))
    assert cpu.digest == sleep.digest == unit_digest("r", 3)
    assert unit_digest("r", 3) != unit_digest("r", 4) != unit_digest("s", 3)


def test_cpu_unit_cost_follows_work_ms() -> None:
    rate = iterations_per_ms()
    short = min(run_unit(UnitTask("r", 0, 2.0, "cpu", rate)).work_s for _ in range(3))
    long = min(run_unit(UnitTask("r", 0, 20.0, "cpu", rate)).work_s for _ in range(3))
    assert long > 4 * short
    assert long > 0.005


def test_combine_digests_ignores_completion_order() -> None:
    results = run_units("rec-b", 10, 0.0, "sleep", "sequential", pool_size=1).results
    assert combine_digests(list(reversed(results))) == combine_digests(results)


_GROWTH_MIB = """
import resource
from fanout.lib.unit_runner import run_units
with open("/proc/self/statm") as statm:
    resident_mib = int(statm.read().split()[1]) * resource.getpagesize() / 2**20
run_units("rec-m", 2, 0.0, "sleep", "sequential", pool_size=1, memory_mib=96)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - resident_mib)
"""


def test_units_hold_the_configured_memory_and_results_do_not_change() -> None:
    # A fresh interpreter's peak over what it held before: ru_maxrss is a high-water mark,
    # which earlier tests in this session would already have raised.
    done = subprocess.run([sys.executable, "-c", _GROWTH_MIB], capture_output=True, text=True, check=True)
    assert float(done.stdout) >= 90
    held = run_units("rec-m", 2, 0.0, "sleep", "sequential", pool_size=1, memory_mib=96)
    plain = run_units("rec-m", 2, 0.0, "sleep", "sequential", pool_size=1)
    assert [u.digest for u in held.results] == [u.digest for u in plain.results]


@pytest.mark.parametrize(
    ("cpus", "limit_mib", "used_mib", "unit_mib", "expected"),
    [
        (2, None, 100, 500, 2),  # no memory limit: the CPU quota decides
        (2, 2048, 300, 0, 2),
        (4, 1024, 400, 200, 2),  # 624 MiB free / 216 MiB per worker
        (2, 512, 450, 100, 1),  # never below one
    ],
)
def test_unit_pool_size_follows_memory(
    cpus: int, limit_mib: int | None, used_mib: int, unit_mib: float, expected: int
) -> None:
    mib = 1024 * 1024
    limit = None if limit_mib is None else limit_mib * mib
    assert unit_pool_size(cpus, limit, used_mib * mib, unit_mib) == expected


@pytest.mark.timeout(60)
def test_a_unit_worker_killed_mid_unit_fails_the_record_instead_of_hanging() -> None:
    tasks = build_tasks("rec-k", 4, 0.0, "sleep")
    with pytest.raises(UnitWorkerDied, match="unit worker process died"):
        run_on_pool(tasks, 2, work=_killed_on_unit_two)


def _killed_on_unit_two(task: UnitTask) -> UnitResult:
    import os
    import signal

    if task.unit_index == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return run_unit(task)
