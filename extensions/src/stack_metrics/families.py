"""Query results -> Prometheus metric families. Pure: no database, no clock, no I/O, so every
value the endpoint serves is unit-tested from rows."""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric

# Every status a Dagster run can have (DagsterRunStatus). Each location gets a series for each,
# zero where it has no such run, so a status's first run shows as a change, not a new series.
RUN_STATUSES = (
    "QUEUED", "NOT_STARTED", "MANAGED", "STARTING", "STARTED",
    "SUCCESS", "FAILURE", "CANCELING", "CANCELED",
)  # fmt: skip
# Label value for runs without a code location tag (launched straight on the instance).
NO_LOCATION = "none"
# Run durations from a trivial run (seconds) to a long batch (hours).
DURATION_BUCKETS = (1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 14400.0)
MIB = 1024 * 1024


@dataclass(frozen=True)
class RunSummaryRow:
    """The runs of one status and repository label: how many, and of the finished ones with
    both times, how many, their summed seconds and the cumulative count per bucket bound."""

    status: str
    label: str | None
    runs: int
    timed: int = 0
    duration_sum_s: float = 0.0
    cumulative: tuple[int, ...] = ()


@dataclass(frozen=True)
class ScrapeRows:
    """What one scrape read from Postgres, as the SQL in stack_metrics.sql returns it."""

    run_summary: Sequence[RunSummaryRow] = ()
    queue_depth: int = 0
    queue_oldest_age_s: float = 0.0
    heartbeat_ages: Sequence[tuple[str, float]] = ()  # (daemon type, seconds)
    run_usage: Sequence[tuple[str, str]] = ()  # (job, serialized usage engine event)
    fanout_report: str | None = None  # serialized latest materialization event
    buckets: Sequence[float] = field(default=DURATION_BUCKETS)


def summary_rows(records: Iterable[Sequence[Any]]) -> list[RunSummaryRow]:
    """The runs summary query's records: status, label, runs, timed, sum, cumulative counts..."""
    return [
        RunSummaryRow(
            str(r[0]), r[1], int(r[2]), int(r[3]), float(r[4]), tuple(int(v) for v in r[5:])
        )
        for r in records
    ]


def merge_summaries(*parts: Iterable[RunSummaryRow]) -> list[RunSummaryRow]:
    """Row-wise sums per (status, label) over disjoint sets of runs."""
    merged: dict[tuple[str, str | None], RunSummaryRow] = {}
    for row in (row for part in parts for row in part):
        key = (row.status, row.label)
        if (seen := merged.get(key)) is None:
            merged[key] = row
            continue
        width = max(len(seen.cumulative), len(row.cumulative))
        merged[key] = RunSummaryRow(
            row.status,
            row.label,
            seen.runs + row.runs,
            seen.timed + row.timed,
            seen.duration_sum_s + row.duration_sum_s,
            tuple(
                (seen.cumulative[i] if i < len(seen.cumulative) else 0)
                + (row.cumulative[i] if i < len(row.cumulative) else 0)
                for i in range(width)
            ),
        )
    return list(merged.values())


def float_metadata(serialized_event: str) -> dict[str, float]:
    """The numeric metadata of a serialized EventLogEntry (an engine event's, or an asset
    materialization's), in the storage's JSON form: `metadata_entries` of `label` and
    `entry_data.value`. Non-numeric entries are left out; unreadable JSON gives {}."""
    try:
        entry = json.loads(serialized_event)
    except (TypeError, ValueError):
        return {}
    data = ((entry or {}).get("dagster_event") or {}).get("event_specific_data") or {}
    holder = data.get("materialization") or data
    values: dict[str, float] = {}
    for item in holder.get("metadata_entries") or []:
        value = (item.get("entry_data") or {}).get("value")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            values[item.get("label", "")] = float(value)
    return values


def event_timestamp(serialized_event: str) -> float | None:
    try:
        value = json.loads(serialized_event).get("timestamp")
    except (TypeError, ValueError, AttributeError):
        return None
    return float(value) if isinstance(value, (int, float)) else None


def location_of(repository_label: str | None) -> str:
    """The code location in Dagster's `.dagster/repository` tag, "repository@location"."""
    if not repository_label:
        return NO_LOCATION
    return repository_label.rsplit("@", 1)[-1] or NO_LOCATION


def run_families(rows: Iterable[RunSummaryRow]) -> GaugeMetricFamily:
    counts: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (row.status, location_of(row.label))
        counts[key] = counts.get(key, 0) + row.runs
    locations = sorted({location for _, location in counts})
    family = GaugeMetricFamily(
        "dagster_runs", "Runs in the run storage, by status and code location",
        labels=["status", "location"],
    )
    statuses = list(RUN_STATUSES) + sorted({s for s, _ in counts} - set(RUN_STATUSES))
    for location in locations:
        for status in statuses:
            family.add_metric([status, location], counts.get((status, location), 0))
    return family


def duration_family(
    rows: Iterable[RunSummaryRow], buckets: Sequence[float]
) -> HistogramMetricFamily:
    """Per final status, over every location."""
    per_status = merge_summaries(
        RunSummaryRow(r.status, None, r.timed, r.timed, r.duration_sum_s, r.cumulative)
        for r in rows
        if r.timed
    )
    family = HistogramMetricFamily(
        "dagster_run_duration_seconds",
        "Durations of finished runs (start to end), by final status",
        labels=["status"],
    )
    for row in sorted(per_status, key=lambda r: r.status):
        bounds = [(_le(b), count) for b, count in zip(buckets, row.cumulative, strict=True)]
        bounds.append(("+Inf", row.timed))
        family.add_metric([row.status], bounds, row.duration_sum_s)
    return family


def _le(bound: float) -> str:
    return repr(float(bound))


def usage_families(rows: Iterable[tuple[str, str]]) -> list[GaugeMetricFamily]:
    cpu = GaugeMetricFamily(
        "dagster_run_cpu_seconds",
        "CPU seconds of the job's last finished run with a usage report (its container's cgroup)",
        labels=["job"],
    )
    peak = GaugeMetricFamily(
        "dagster_run_peak_memory_bytes",
        "Peak memory of the job's last finished run with a usage report (its container's cgroup)",
        labels=["job"],
    )
    limit = GaugeMetricFamily(
        "dagster_run_memory_limit_bytes",
        "Memory limit of the job's last finished run with a usage report",
        labels=["job"],
    )
    for job, event in rows:
        values = float_metadata(event)
        if "cpu_seconds" in values:
            cpu.add_metric([job], values["cpu_seconds"])
        if "peak_memory_mib" in values:
            peak.add_metric([job], values["peak_memory_mib"] * MIB)
        if "memory_limit_mib" in values:
            limit.add_metric([job], values["memory_limit_mib"] * MIB)
    return [cpu, peak, limit]


def fanout_report_families(event: str | None) -> list[GaugeMetricFamily]:
    """The latest fanout_report materialization's figures; no samples before the first one."""
    families = {
        "units_per_s": GaugeMetricFamily(
            "fanout_report_units_per_second", "Work units per second of the latest fan-out report"
        ),
        "overhead_ratio": GaugeMetricFamily(
            "fanout_report_overhead_ratio",
            "Elapsed span over summed work time of the latest fan-out report (1 = no overhead)",
        ),
    }
    when = GaugeMetricFamily(
        "fanout_report_timestamp_seconds", "Unix time of the latest fan-out report"
    )
    if event is not None:
        values = float_metadata(event)
        for key, family in families.items():
            if key in values:
                family.add_metric([], values[key])
        if (timestamp := event_timestamp(event)) is not None:
            when.add_metric([], timestamp)
    return [*families.values(), when]


def families(rows: ScrapeRows) -> list[Metric]:
    """Every family the endpoint serves for one scrape's rows."""
    heartbeats = GaugeMetricFamily(
        "dagster_daemon_heartbeat_age_seconds",
        "Seconds since each daemon's latest heartbeat",
        labels=["daemon_type"],
    )
    for daemon_type, age in rows.heartbeat_ages:
        heartbeats.add_metric([daemon_type], max(float(age), 0.0))
    return [
        run_families(rows.run_summary),
        GaugeMetricFamily("dagster_run_queue_depth", "Runs waiting in the run queue", rows.queue_depth),
        GaugeMetricFamily(
            "dagster_run_queue_oldest_age_seconds",
            "Seconds the oldest queued run has waited (0 when the queue is empty)",
            max(float(rows.queue_oldest_age_s), 0.0),
        ),
        duration_family(rows.run_summary, rows.buckets),
        heartbeats,
        *usage_families(rows.run_usage),
        *fanout_report_families(rows.fanout_report),
    ]

