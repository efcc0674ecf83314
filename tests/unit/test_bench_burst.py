import pytest

from bench.burst import (
    cgroup_usage_seconds,
    find_job,
    marks_from_events,
    phase_stats,
    phase_table,
    throughput,
)


def _event(kind: str, at: float, message: str = "") -> dict[str, str]:
    return {"__typename": kind, "message": message, "timestamp": str(int(at * 1000))}


EVENTS = [
    _event("RunEnqueuedEvent", 100.0),
    _event("RunStartingEvent", 104.0),
    _event("EngineEvent", 104.5, "Run container limits: cpus=1, memory=1g"),
    _event("EngineEvent", 105.0, "[LimitedDockerRunLauncher] Launching run in a new container abc"),
    _event("RunStartEvent", 108.0),
    _event("EngineEvent", 109.0, "Run resource usage: CPU 2.85 s, peak memory 190.0 MiB of 1024.0 MiB"),
    _event("RunSuccessEvent", 110.0),
    _event("RunSuccessEvent", 111.0),  # only the first occurrence of a mark counts
]


def test_marks_are_read_from_the_runs_events() -> None:
    assert marks_from_events(EVENTS) == {
        "enqueued": 100.0, "starting": 104.0, "container": 105.0, "started": 108.0,
        "finished": 110.0, "cpu_s": 2.85,
    }  # fmt: skip


def test_phases_are_medians_over_runs_that_have_both_marks() -> None:
    other = {"enqueued": 0.0, "starting": 2.0, "finished": 7.0}
    stats = {s.name: s for s in phase_stats([marks_from_events(EVENTS), other])}
    assert stats["queue wait"].median_s == pytest.approx(3.0)
    assert stats["queue wait"].max_s == pytest.approx(4.0)
    assert stats["launch (daemon: limits, create, start)"].count == 1
    assert stats["total"].median_s == pytest.approx(8.5)
    assert stats["CPU of the run container (cgroup)"].median_s == pytest.approx(2.85)
    assert "queue wait" in phase_table([other])


def test_throughput_spans_first_enqueued_to_last_finished() -> None:
    span, per_min = throughput([{"enqueued": 10.0, "finished": 20.0}, {"enqueued": 12.0, "finished": 40.0}])
    assert span == pytest.approx(30.0)
    assert per_min == pytest.approx(4.0)


def test_the_job_is_found_in_exactly_one_repository() -> None:
    repos = [
        {"name": "__repository__", "location": {"name": "warehouse"}, "pipelines": [{"name": "daily"}]},
        {"name": "__repository__", "location": {"name": "fanout"}, "pipelines": [{"name": "chunked_work_job"}]},
    ]
    assert find_job(repos, "chunked_work_job") == ("fanout", "__repository__")
    with pytest.raises(SystemExit):
        find_job(repos, "missing_job")


def test_cgroup_cpu_stat_usage() -> None:
    assert cgroup_usage_seconds("usage_usec 2500000\nuser_usec 2000000\n") == pytest.approx(2.5)
