"""Whether a run is over its time limit, decided as Dagster's run monitoring decides it
(dagster/_daemon/monitoring/run_monitoring.py, check_run_timeout): the run's
`dagster/max_runtime` tag (or `dagster/max_runtime_seconds`), else the instance's
run_monitoring.max_runtime_seconds; 0 or none means no limit."""

from __future__ import annotations

from collections.abc import Mapping

MAX_RUNTIME_TAG = "dagster/max_runtime"
MAX_RUNTIME_SECONDS_TAG = "dagster/max_runtime_seconds"


def runtime_limit_seconds(tags: Mapping[str, str], default_s: float) -> float | None:
    raw = tags.get(MAX_RUNTIME_TAG, tags.get(MAX_RUNTIME_SECONDS_TAG))
    if raw:
        try:
            limit = float(raw)
        except ValueError:
            return None
    else:
        limit = default_s
    return limit or None


def over_runtime_limit(
    tags: Mapping[str, str], start_time: float | None, default_s: float, now: float
) -> float | None:
    """The limit the run has exceeded, in seconds, or None."""
    limit = runtime_limit_seconds(tags, default_s)
    if limit is None or start_time is None:
        return None
    return limit if now - start_time > limit else None
