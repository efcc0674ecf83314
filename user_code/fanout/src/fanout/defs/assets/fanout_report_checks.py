"""Asset checks of `fanout_report`, evaluated inside its materialization (so they run whenever
it does: launchpad, schedule, sensor, "Materialize all") and shown on its asset page.

  performance_vs_recent (WARN): overhead_ratio and units_per_s against the median of the last
      N materializations (fanout/lib/perf_baseline.py).
  all_records_present (ERROR, blocking): every input record has a result; a miss fails the step.
"""

import math
from collections.abc import Mapping

import dagster as dg

from fanout.lib.completeness import Completeness
from fanout.lib.perf_baseline import WATCHED_METRICS, Comparison

ASSET_KEY = dg.AssetKey("fanout_report")
PERFORMANCE_CHECK = "performance_vs_recent"
COMPLETENESS_CHECK = "all_records_present"

CHECK_SPECS = [
    dg.AssetCheckSpec(
        PERFORMANCE_CHECK,
        asset=ASSET_KEY,
        description="WARN when overhead_ratio or units_per_s is worse than the median of the "
        "last N materializations by more than the configured margin.",
    ),
    dg.AssetCheckSpec(
        COMPLETENESS_CHECK,
        asset=ASSET_KEY,
        blocking=True,
        description="Every input record has a result; a missing one fails the run.",
    ),
]


def recent_figures(instance: dg.DagsterInstance, limit: int) -> list[dict[str, float]]:
    """The watched figures of the last `limit` materializations, newest first (this run's own
    materialization is not stored yet, so it is never part of its own baseline)."""
    if limit <= 0:
        return []
    records = instance.fetch_materializations(ASSET_KEY, limit=limit).records
    figures = []
    for record in records:
        materialization = record.asset_materialization
        if materialization is None:
            continue
        metadata = materialization.metadata
        figures.append(
            {
                metric.name: float(metadata[metric.name].value)
                for metric in WATCHED_METRICS
                if metric.name in metadata and isinstance(metadata[metric.name].value, (int, float))
            }
        )
    return figures


def performance_result(comparisons: list[Comparison], margin: float) -> dg.AssetCheckResult:
    regressed = [c for c in comparisons if c.regressed]
    metadata: dict[str, dg.RawMetadataValue] = {
        "margin": margin,
        "baseline_materializations": max((c.samples for c in comparisons), default=0),
        "summary": "; ".join(c.describe() for c in comparisons),
    }
    for comparison in comparisons:
        name = comparison.metric.name
        metadata[name] = comparison.value
        if comparison.baseline is not None:
            metadata[f"{name}_baseline"] = round(comparison.baseline, 4)
        if comparison.worse_by is not None and math.isfinite(comparison.worse_by):
            metadata[f"{name}_worse_by"] = round(comparison.worse_by, 4)
    return dg.AssetCheckResult(
        check_name=PERFORMANCE_CHECK,
        passed=not regressed,
        severity=dg.AssetCheckSeverity.WARN,
        metadata=metadata,
        description="; ".join(c.describe() for c in regressed) or None,
    )


def completeness_result(completeness: Completeness) -> dg.AssetCheckResult:
    metadata: Mapping[str, dg.RawMetadataValue] = {
        "expected_records": completeness.expected,
        "received_results": completeness.received,
        "missing": len(completeness.missing),
        "missing_ids": dg.MetadataValue.json(completeness.missing[:100]),
        "unexpected": len(completeness.unexpected),
        "duplicated": len(completeness.duplicated),
        "summary": completeness.describe(),
    }
    return dg.AssetCheckResult(
        check_name=COMPLETENESS_CHECK,
        passed=completeness.complete,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata=metadata,
        description=None if completeness.complete else completeness.describe(),
    )
