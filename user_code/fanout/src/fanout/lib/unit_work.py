"""One unit of deterministic work (CPU hashing or sleep) and its per-process calibration.

The result digest depends only on (record_id, unit_index); the cost knob only decides how
much extra hashing/sleeping follows, so every mode and process produces identical results.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Literal

WorkKind = Literal["cpu", "sleep"]
WORK_KINDS: tuple[str, ...] = ("cpu", "sleep")

_RESULT_ROUNDS = 16
_CALIBRATION_TARGET_S = 0.02
_iterations_per_ms: float | None = None


@dataclass(frozen=True)
class UnitTask:
    """Everything a worker needs; picklable so it can cross into pool processes."""

    record_id: str
    unit_index: int
    work_ms: float
    kind: WorkKind
    iterations_per_ms: float
    # Memory the unit holds (written, so the kernel really charges it) while it works.
    memory_mib: float = 0.0


@dataclass(frozen=True)
class UnitResult:
    unit_index: int
    digest: str
    work_s: float


def _burn(seed: bytes, iterations: int) -> bytes:
    value = seed
    for _ in range(iterations):
        value = hashlib.sha256(value).digest()
    return value


def unit_digest(record_id: str, unit_index: int) -> str:
    """The unit's result: a short fixed hash chain over its identity only."""
    return _burn(f"{record_id}:{unit_index}".encode(), _RESULT_ROUNDS).hex()


def iterations_per_ms() -> float:
    """sha256 iterations per CPU-millisecond, measured once per process.

    CPU time rather than wall time, so a busy neighbour during calibration does not shrink
    every later unit; under contention a unit then takes longer in wall time, as real work would.
    """
    global _iterations_per_ms
    if _iterations_per_ms is None:
        iterations = 1000
        while True:
            started = time.process_time()
            _burn(b"calibration", iterations)
            elapsed = time.process_time() - started
            if elapsed >= _CALIBRATION_TARGET_S:
                break
            iterations *= 2
        _iterations_per_ms = iterations / (elapsed * 1000)
    return _iterations_per_ms


def run_unit(task: UnitTask) -> UnitResult:
    """Pool worker (module-level so it pickles): do the unit's work, return its digest."""
    started = time.perf_counter()
    digest = unit_digest(task.record_id, task.unit_index)
    # bytes * n writes every byte (a zeroed buffer would be mapped lazily and cost nothing).
    held = b"\x5a" * int(task.memory_mib * 1024 * 1024) if task.memory_mib > 0 else b""
    if task.kind == "sleep":
        time.sleep(task.work_ms / 1000)
    elif task.kind == "cpu":
        _burn(digest.encode(), int(task.work_ms * task.iterations_per_ms))
    else:
        raise ValueError(f"unit {task.record_id}[{task.unit_index}]: unknown work kind {task.kind!r}")
    del held
    return UnitResult(task.unit_index, digest, time.perf_counter() - started)


def combine_digests(results: list[UnitResult]) -> str:
    """Record-level result: hash of the unit digests in unit order (order-independent of scheduling)."""
    ordered = sorted(results, key=lambda result: result.unit_index)
    return hashlib.sha256("".join(result.digest for result in ordered).encode()).hexdigest()
