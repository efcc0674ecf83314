"""Running a record's units in order or on a fork-started process pool."""

from __future__ import annotations

import multiprocessing
import multiprocessing.pool
import signal
from dataclasses import dataclass
from typing import Literal

from user_code.lib.unit_work import UnitResult, UnitTask, WorkKind, iterations_per_ms, run_unit

UnitMode = Literal["sequential", "parallel"]
UNIT_MODES: tuple[str, ...] = ("sequential", "parallel")

# Below this much estimated work per record (units x unit_work_ms) the pool costs more than
# it saves, so "parallel" runs the units in order. Measured on the shared 2-vCPU dev box with
# dagster imported, fork pool of 2, median of 5 (total work ms: sequential ms / pool ms):
#   sleep: 20: 21/38-22, 40: 42/37-44, 50: 51/39-47, 100: 103/71-74, 200: 203/114-128
#   cpu (quiet box): 50: 48/70, 100: 96-113/107-114, 150: 152/127, 200: 207-217/133-160
#   cpu (box loaded by other jobs, no spare core): the pool never won, 600: 902/904
# i.e. a fixed ~20-30 ms for fork + dispatch + join; crossover 40-60 ms for sleep, 100-150 ms
# for cpu. 100 ms sits between the two; the default workload (10-30 units x 20 ms) is above it.
POOL_MIN_WORK_MS = 100.0


@dataclass(frozen=True)
class UnitRun:
    results: list[UnitResult]
    used_pool: bool
    pool_size: int


def build_tasks(record_id: str, units: int, work_ms: float, kind: WorkKind) -> list[UnitTask]:
    # Calibrate in the parent so forked workers inherit the number instead of re-measuring.
    rate = iterations_per_ms() if kind == "cpu" else 0.0
    return [UnitTask(record_id, index, work_ms, kind, rate) for index in range(units)]


def _fork_context() -> multiprocessing.context.BaseContext:
    # The executor child may run under spawn/forkserver; a bare Pool would inherit that and
    # pay ~0.5-1 s to start. fork copies the already-imported process in milliseconds.
    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


def _reset_signals() -> None:
    # Forked workers inherit the parent's handlers, and Dagster's may only record a SIGTERM
    # for later; a worker must simply die on SIGTERM and leave Ctrl-C to the parent.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


def start_pool(workers: int) -> multiprocessing.pool.Pool:
    """A fork pool whose workers reliably die on terminate().

    Workers are forked with SIGTERM blocked: a terminate() that lands before a worker ran its
    initializer then stays pending until the default action is back, instead of being swallowed
    by an inherited handler and leaving pool.join() waiting forever (seen in the test suite).
    """
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        return _fork_context().Pool(processes=workers, initializer=_reset_signals)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def run_units(
    record_id: str,
    units: int,
    work_ms: float,
    kind: WorkKind,
    mode: UnitMode,
    pool_size: int,
    pool_min_work_ms: float = POOL_MIN_WORK_MS,
) -> UnitRun:
    """Run all units of one record; results come back in unit order either way."""
    tasks = build_tasks(record_id, units, work_ms, kind)
    workers = min(pool_size, units)
    if mode == "sequential" or workers < 2 or units * work_ms < pool_min_work_ms:
        return UnitRun([run_unit(task) for task in tasks], used_pool=False, pool_size=1)
    pool = start_pool(workers)
    try:
        results = pool.map(run_unit, tasks, chunksize=1)
    except BaseException:
        pool.terminate()
        raise
    finally:
        # close()+join() lets workers exit on their sentinels, no signals needed.
        pool.close()
        pool.join()
    return UnitRun(results, used_pool=True, pool_size=workers)
