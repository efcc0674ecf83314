from collections.abc import Callable, Iterator

from fanout.lib.timing import StepTimer


def _clock(ticks: list[float]) -> Callable[[], float]:
    times: Iterator[float] = iter(ticks)
    return lambda: next(times)


def test_wall_includes_overhead_and_work_only_marked_parts() -> None:
    # start 0.0; working() from 1.0 to 3.0; metadata() at 5.0
    timer = StepTimer(clock=_clock([0.0, 1.0, 3.0, 5.0]))
    with timer.working():
        pass
    timer.add_work(0.5)
    values = timer.metadata()
    assert values["work_s"] == 2.5
    assert values["wall_s"] == 5.0
    assert values["overhead_ratio"] == 2.0


def test_no_work_means_no_ratio_and_prefix_applies() -> None:
    values = StepTimer().metadata(prefix="step_")
    assert set(values) == {"step_wall_s", "step_work_s", "step_cpu_s"}
