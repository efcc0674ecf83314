"""Wall time vs work time for one step, as plain numbers any op can attach as output metadata."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class StepTimer:
    """Started on creation; `working()` marks the parts that are the real work.

    wall - work is what the step spent on orchestration, IO and pool overhead.
    """

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self._wall_start = clock()
        self._cpu_start = time.process_time()
        self.work_s = 0.0

    @contextmanager
    def working(self) -> Iterator[None]:
        started = self._clock()
        try:
            yield
        finally:
            self.work_s += self._clock() - started

    def add_work(self, seconds: float) -> None:
        """Credit work measured elsewhere (e.g. inside pool workers)."""
        self.work_s += seconds

    def metadata(self, prefix: str = "") -> dict[str, float]:
        """wall_s, work_s, cpu_s (this process) and overhead_ratio, keys optionally prefixed
        so a step whose own results use those names can still carry its timing."""
        wall = self._clock() - self._wall_start
        values = {
            "wall_s": round(wall, 6),
            "work_s": round(self.work_s, 6),
            "cpu_s": round(time.process_time() - self._cpu_start, 6),
        }
        if self.work_s > 0:
            values["overhead_ratio"] = round(wall / self.work_s, 4)
        return {f"{prefix}{key}": value for key, value in values.items()}
