"""Running a record's units in order or on a fork-started process pool."""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Literal

from dagster_warm_pool import MIB, size_workers

from fanout.lib.unit_work import UnitResult, UnitTask, WorkKind, iterations_per_ms, run_unit

UnitMode = Literal["sequential", "parallel"]
UNIT_MODES: tuple[str, ...] = ("sequential", "parallel")

# Below this much estimated work per record (units x unit_work_ms) the pool costs more than
# it saves (a fixed cost for fork, dispatch and join), so "parallel" runs the units in order.
# The pool started to pay at less work for sleep than for cpu; this sits between the two
# crossovers, and the default workload (10-30 units x 20 ms) is above it (measurements:
# BENCHMARKS.md, "Figures behind code defaults").
POOL_MIN_WORK_MS = 100.0
# Private memory of one forked unit worker besides what its unit holds, with room above what
# smaps_rollup measured on the stack's image (BENCHMARKS.md, "Figures behind code defaults").
UNIT_WORKER_BASE_MIB = 16.0


class UnitWorkerDied(RuntimeError):
    """A unit's worker process ended without a result (killed by a signal, e.g. for memory)."""


@dataclass(frozen=True)
class UnitRun:
    results: list[UnitResult]
    used_pool: bool
    pool_size: int


def unit_pool_size(
    cpu_workers: int, memory_limit_bytes: int | None, used_bytes: int, unit_memory_mib: float
) -> int:
    """Pool workers: the CPU quota, unless the container's free memory holds fewer units."""
    per_worker = int((UNIT_WORKER_BASE_MIB + max(unit_memory_mib, 0.0)) * MIB)
    return size_workers(cpu_workers, memory_limit_bytes, used_bytes, per_worker).workers


def build_tasks(
    record_id: str, units: int, work_ms: float, kind: WorkKind, memory_mib: float = 0.0
) -> list[UnitTask]:
    # Calibrate in the parent so forked workers inherit the number instead of re-measuring.
    rate = iterations_per_ms() if kind == "cpu" else 0.0
    return [UnitTask(record_id, index, work_ms, kind, rate, memory_mib) for index in range(units)]


def _fork_context() -> multiprocessing.context.BaseContext:
    # The step may run under spawn/forkserver; a pool would inherit that and start fresh
    # interpreters that import everything again. fork copies the already-imported process.
    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


def _reset_signals() -> None:
    # Forked workers inherit the step's handlers, and Dagster's may only record a SIGTERM for
    # later; a worker must simply die on SIGTERM and leave Ctrl-C to the step.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


def run_on_pool(
    tasks: list[UnitTask], workers: int, work: Callable[[UnitTask], UnitResult] = run_unit
) -> list[UnitResult]:
    """`work` over `tasks` on `workers` forked processes, results in task order."""
    # Workers are forked with SIGTERM blocked, so a signal that lands before a worker ran its
    # initializer waits for the default action instead of hitting an inherited handler.
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=_fork_context(), initializer=_reset_signals
        )
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    # Unlike multiprocessing.Pool, a worker that dies (e.g. killed for memory) breaks the pool
    # and fails the step instead of leaving it waiting forever.
    with pool:
        try:
            return list(pool.map(work, tasks))
        except BrokenProcessPool as error:
            raise UnitWorkerDied(
                f"record {tasks[0].record_id!r}: a unit worker process died without a result "
                "(killed by a signal, e.g. by the kernel for exceeding the memory limit)"
            ) from error


def run_units(
    record_id: str,
    units: int,
    work_ms: float,
    kind: WorkKind,
    mode: UnitMode,
    pool_size: int,
    pool_min_work_ms: float = POOL_MIN_WORK_MS,
    memory_mib: float = 0.0,
) -> UnitRun:
    """Run all units of one record; results come back in unit order either way."""
    tasks = build_tasks(record_id, units, work_ms, kind, memory_mib)
    workers = min(pool_size, units)
    if mode == "sequential" or workers < 2 or units * work_ms < pool_min_work_ms:
        return UnitRun([run_unit(task) for task in tasks], used_pool=False, pool_size=1)
    return UnitRun(run_on_pool(tasks, workers), used_pool=True, pool_size=workers)
