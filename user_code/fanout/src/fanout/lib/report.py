"""Fan-out report math and its markdown rendering."""

from __future__ import annotations

from dataclasses import dataclass

from fanout.lib.results import RecordResult


@dataclass(frozen=True)
class FanoutSummary:
    records: int
    units: int
    work_s: float  # sum of unit work over all records
    record_wall_s: float  # sum of per-record step wall times
    span_s: float  # first record start -> last record end, i.e. the fan-out's elapsed time
    units_per_s: float  # units / span
    overhead_ratio: float  # span / work: <1 means parallelism beat the work, >1 overhead dominates


def summarize(results: list[RecordResult]) -> FanoutSummary:
    if not results:
        raise ValueError("cannot summarize a fan-out with no record results")
    units = sum(result.units for result in results)
    work = sum(result.work_s for result in results)
    span = max(r.finished_at for r in results) - min(r.started_at for r in results)
    return FanoutSummary(
        records=len(results),
        units=units,
        work_s=work,
        record_wall_s=sum(result.wall_s for result in results),
        span_s=span,
        units_per_s=units / span if span > 0 else 0.0,
        overhead_ratio=span / work if work > 0 else 0.0,
    )


def record_overhead(result: RecordResult) -> float:
    return result.wall_s / result.work_s if result.work_s > 0 else 0.0


def markdown_table(results: list[RecordResult]) -> str:
    rows = [
        "| record | units | wall s | work s | wall/work | pool |",
        "|---|---:|---:|---:|---:|:---:|",
    ]
    for result in results:
        # Pipes would break the table; ids are arbitrary strings.
        label = result.record_id.replace("|", "\\|")
        rows.append(
            f"| {label} | {result.units} | {result.wall_s:.3f} | {result.work_s:.3f} "
            f"| {record_overhead(result):.2f} | {'yes' if result.used_pool else 'no'} |"
        )
    return "\n".join(rows)
