import pytest

from user_code.lib.unit_runner import run_units
from user_code.lib.unit_work import UnitTask, combine_digests, iterations_per_ms, run_unit, unit_digest


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


@pytest.mark.timeout(60)
def test_pool_terminated_right_after_start_does_not_hang_with_a_deferring_handler() -> None:
    """Dagster's SIGTERM handler may only record the signal; forked workers inherit it.

    Terminating before the workers ran their initializer used to leave join() waiting forever.
    """
    import signal

    from user_code.lib.unit_runner import start_pool

    received: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
    try:
        for _ in range(30):
            pool = start_pool(2)
            pool.terminate()
            pool.join()
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert received == []
