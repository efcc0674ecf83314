"""`fanout_report`: totals and per-record wall vs work time, shown as metadata in the UI."""

import dagster as dg

from user_code.lib.report import markdown_table, summarize
from user_code.lib.results import RecordResult
from user_code.lib.timing import StepTimer


@dg.asset(group_name="fanout")
def fanout_report(fanout_results: list[RecordResult]) -> dg.MaterializeResult:
    """Summary of the fan-out: units/s and overhead ratio (elapsed span / summed work)."""
    timer = StepTimer()
    with timer.working():
        summary = summarize(fanout_results)
        table = markdown_table(fanout_results)
    return dg.MaterializeResult(
        metadata={
            "records": summary.records,
            "units": summary.units,
            "total_work_s": round(summary.work_s, 4),
            "record_wall_s": round(summary.record_wall_s, 4),
            "span_s": round(summary.span_s, 4),
            "units_per_s": round(summary.units_per_s, 2),
            "overhead_ratio": round(summary.overhead_ratio, 4),
            "per_record": dg.MetadataValue.md(table),
            # This step's own timing; prefixed because the fan-out figures above own the plain names.
            **timer.metadata(prefix="step_"),
        }
    )
