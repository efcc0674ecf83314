import time

from user_code.lib.timing import StepTimer


def test_wall_includes_overhead_and_work_only_marked_parts() -> None:
    timer = StepTimer()
    time.sleep(0.02)
    with timer.working():
        time.sleep(0.02)
    timer.add_work(0.01)
    values = timer.metadata()
    assert 0.025 <= values["work_s"] < 0.1
    assert values["wall_s"] >= 0.04
    assert values["overhead_ratio"] == round(values["wall_s"] / values["work_s"], 4)


def test_no_work_means_no_ratio_and_prefix_applies() -> None:
    values = StepTimer().metadata(prefix="step_")
    assert set(values) == {"step_wall_s", "step_work_s", "step_cpu_s"}
