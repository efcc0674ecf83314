from typing import Any

import pytest

from bench.run_usage import fetch_run_usage, median_usage, usage_from_events


def _usage_event(cpu: float, peak: float, limit: float) -> dict[str, Any]:
    return {
        "__typename": "EngineEvent",
        "message": f"Run resource usage: CPU {cpu} s, peak memory {peak} MiB of {limit} MiB",
        "metadataEntries": [
            {"label": "cpu_seconds", "floatValue": cpu},
            {"label": "peak_memory_mib", "floatValue": peak},
            {"label": "memory_limit_mib", "floatValue": limit},
            {"label": "pid"},  # another entry type: no floatValue
        ],
    }


def test_the_usage_event_is_found_among_the_runs_events() -> None:
    events = [
        {"__typename": "RunStartEvent"},
        {"__typename": "EngineEvent", "message": "Warm pool: started", "metadataEntries": []},
        _usage_event(5.7, 192.4, 1536.0),
        {"__typename": "RunSuccessEvent"},
    ]
    assert usage_from_events(events) == {
        "cpu_seconds": 5.7, "peak_memory_mib": 192.4, "memory_limit_mib": 1536.0,
    }  # fmt: skip


def test_a_run_without_the_event_has_no_usage() -> None:
    assert usage_from_events([{"__typename": "RunSuccessEvent"}]) is None


def test_pages_of_events_are_followed_to_the_end() -> None:
    pages = [
        {"__typename": "EventConnection", "cursor": "1", "hasMore": True, "events": [{"__typename": "RunStartEvent"}]},
        {"__typename": "EventConnection", "cursor": "2", "hasMore": False, "events": [_usage_event(1.0, 2.0, 3.0)]},
    ]  # fmt: skip
    cursors = []

    def execute(query: str, variables: dict[str, Any]) -> dict[str, Any]:
        cursors.append(variables["cursor"])
        return {"logsForRun": pages[len(cursors) - 1]}

    assert fetch_run_usage(execute, "run-1") == {
        "cpu_seconds": 1.0, "peak_memory_mib": 2.0, "memory_limit_mib": 3.0,
    }  # fmt: skip
    assert cursors == [None, "1"]


def test_an_unknown_run_is_an_error_that_names_it() -> None:
    def execute(query: str, variables: dict[str, Any]) -> dict[str, Any]:
        return {"logsForRun": {"__typename": "RunNotFoundError", "message": "Run x not found"}}

    with pytest.raises(RuntimeError, match="events of run x: RunNotFoundError: Run x not found"):
        fetch_run_usage(execute, "x")


def test_median_per_figure_over_the_runs_that_reported_it() -> None:
    samples = [{"cpu_seconds": 1.0, "peak_memory_mib": 100.0}, {"cpu_seconds": 3.0}, {"cpu_seconds": 2.0}]
    assert median_usage(samples) == {"cpu_seconds": 2.0, "peak_memory_mib": 100.0}
    assert median_usage([]) == {}
