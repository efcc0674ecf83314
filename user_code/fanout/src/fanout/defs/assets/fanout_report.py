"""`fanout_report`: totals and per-record wall vs work time, shown as metadata in the UI, with
asset checks that watch the performance over time (see fanout_report_checks)."""

import os
from collections.abc import Mapping
from pathlib import Path

import dagster as dg

from dagster_warm_pool import CGROUP_ROOT, read_cpu_seconds
from dagster_warm_pool import mib, read_memory
from fanout.defs.assets.fanout_report_checks import (
    CHECK_SPECS,
    completeness_result,
    performance_result,
    recent_figures,
)
from fanout.deployment import is_stack
from fanout.lib.completeness import check_completeness
from fanout.lib.perf_baseline import compare_all
from fanout.lib.records import Record
from fanout.lib.report import markdown_table, summarize
from fanout.lib.results import RecordResult
from fanout.lib.timing import StepTimer


class FanoutReportConfig(dg.Config):
    """baseline_materializations: how many earlier materializations the performance check
      takes the median of.
    regression_margin: how much worse than that median a figure may be before the check warns:
      0.5 = 1.5x worse, i.e. units_per_s below 2/3 of the median or overhead_ratio above 1.5x.
    """

    baseline_materializations: int = 10
    regression_margin: float = 0.5


def container_usage(
    env: Mapping[str, str] = os.environ, root: Path = CGROUP_ROOT
) -> dict[str, float]:
    """CPU seconds and peak memory of this run's container so far, from its cgroup. Outside the
    stack there is no run container and /sys/fs/cgroup is the machine's, so nothing is recorded."""
    if not is_stack(env):
        return {}
    usage = {
        "cpu_seconds": read_cpu_seconds(root),
        "peak_memory_mib": mib(read_memory(root).peak_bytes),
    }
    return {key: round(value, 3) for key, value in usage.items() if value is not None}


@dg.asset(group_name="fanout", check_specs=CHECK_SPECS)
def fanout_report(
    context: dg.AssetExecutionContext,
    config: FanoutReportConfig,
    input_records: list[Record],
    fanout_results: list[RecordResult],
) -> dg.MaterializeResult:
    """Summary of the fan-out: units/s and overhead ratio (elapsed span / summed work)."""
    timer = StepTimer()
    with timer.working():
        completeness = check_completeness(
            [record.id for record in input_records], [result.record_id for result in fanout_results]
        )
        summary = summarize(fanout_results)
        table = markdown_table(fanout_results)
    figures = {
        "units_per_s": round(summary.units_per_s, 2),
        "overhead_ratio": round(summary.overhead_ratio, 4),
    }
    comparisons = compare_all(
        figures,
        recent_figures(context.instance, config.baseline_materializations),
        config.regression_margin,
    )
    return dg.MaterializeResult(
        metadata={
            "records": summary.records,
            "units": summary.units,
            "total_work_s": round(summary.work_s, 4),
            "record_wall_s": round(summary.record_wall_s, 4),
            "span_s": round(summary.span_s, 4),
            **figures,
            **container_usage(),
            "per_record": dg.MetadataValue.md(table),
            # This step's own timing; prefixed because the fan-out figures above own the plain names.
            **timer.metadata(prefix="step_"),
        },
        check_results=[
            performance_result(comparisons, config.regression_margin),
            completeness_result(completeness),
        ],
    )
