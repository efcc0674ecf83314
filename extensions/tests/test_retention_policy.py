"""The retention policy: age limit, the last N per job kept whatever their age, and runs that
are not finished never chosen."""

import pytest
from stack_retention import RetentionPolicy, RunSummary, runs_to_purge

DAY = 86400.0
NOW = 1_000 * DAY


def _run(run_id: str, age_days: float, job: str = "a", status: str = "SUCCESS") -> RunSummary:
    return RunSummary(run_id, job, status, NOW - age_days * DAY)


def test_old_finished_runs_go_oldest_first_and_recent_ones_stay() -> None:
    runs = [_run("new", 1), _run("old", 40), _run("older", 50, status="FAILURE")]
    assert runs_to_purge(runs, RetentionPolicy(30, 0), NOW) == ["older", "old"]


def test_the_last_n_of_each_job_stay_whatever_their_age() -> None:
    runs = [_run(f"a{i}", 100 + i) for i in range(5)] + [_run("b0", 300, job="b")]
    assert runs_to_purge(runs, RetentionPolicy(30, 2), NOW) == ["a4", "a3", "a2"]


@pytest.mark.parametrize("status", ["QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING"])
def test_a_run_that_is_not_finished_is_never_chosen(status: str) -> None:
    assert runs_to_purge([_run("live", 365, status=status)], RetentionPolicy(1, 0), NOW) == []


def test_unfinished_runs_do_not_count_towards_the_kept_n() -> None:
    runs = [_run("queued", 0.1, status="QUEUED"), _run("done", 90)]
    assert runs_to_purge(runs, RetentionPolicy(30, 1), NOW) == []


@pytest.mark.parametrize(
    ("age", "keep", "message"),
    [(0, 1, "max_age_days must be above 0"), (30, -1, "keep_last_per_job must be 0 or more")],
)
def test_a_bad_setting_is_refused_with_its_name(age: float, keep: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetentionPolicy(age, keep)
