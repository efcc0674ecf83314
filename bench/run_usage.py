"""A stack run's resource usage, as its run container measured it: the warm-pool executor's
"Run resource usage:" engine event (CPU seconds, peak memory and memory limit from the
container's cgroup), read back through the webserver's GraphQL API."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from dagster_warm_pool import RUN_USAGE_PREFIX

USAGE_KEYS = ("cpu_seconds", "peak_memory_mib", "memory_limit_mib")
Execute = Callable[[str, dict[str, Any]], dict[str, Any]]

_EVENTS_QUERY = """
query ($runId: ID!, $cursor: String) {
  logsForRun(runId: $runId, afterCursor: $cursor, limit: 1000) {
    __typename
    ... on EventConnection {
      cursor
      hasMore
      events {
        __typename
        ... on EngineEvent {
          message
          metadataEntries { label ... on FloatMetadataEntry { floatValue } }
        }
      }
    }
    ... on PythonError { message }
    ... on RunNotFoundError { message }
  }
}
"""


def usage_from_events(events: Iterable[Mapping[str, Any]]) -> dict[str, float] | None:
    """The figures of the run's last "Run resource usage:" engine event; None if it has none
    (a run on another executor, or one that died before its end)."""
    found = None
    for event in events:
        if event.get("__typename") != "EngineEvent":
            continue
        if not (event.get("message") or "").startswith(RUN_USAGE_PREFIX):
            continue
        found = {
            entry["label"]: float(entry["floatValue"])
            for entry in event.get("metadataEntries") or []
            if entry.get("label") in USAGE_KEYS and entry.get("floatValue") is not None
        }
    return found


def fetch_run_usage(execute: Execute, run_id: str) -> dict[str, float] | None:
    """Page through the run's events (the usage event is among the last)."""
    events: list[Mapping[str, Any]] = []
    cursor = None
    while True:
        page = execute(_EVENTS_QUERY, {"runId": run_id, "cursor": cursor})["logsForRun"]
        if page["__typename"] != "EventConnection":
            raise RuntimeError(f"events of run {run_id}: {page['__typename']}: {page.get('message')}")
        events.extend(page["events"])
        if not page["hasMore"]:
            return usage_from_events(events)
        cursor = page["cursor"]


def median_usage(samples: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """Per figure, the median over the runs that reported it."""
    values: dict[str, list[float]] = {}
    for sample in samples:
        for key, value in sample.items():
            values.setdefault(key, []).append(value)
    return {key: statistics.median(found) for key, found in values.items()}
