"""Is this fan-out slower than the recent ones? Each watched figure is compared with the median
of the same figure over the last N materializations; a figure more than `margin` worse than
that median is a regression.

"Worse" is a factor in the direction that hurts, minus one, so it means the same for both kinds
of figure and any margin can be reached:
  units_per_s (higher is better):    worse_by = baseline / value - 1
  overhead_ratio (lower is better):  worse_by = value / baseline - 1
A margin of 0.5 warns at 1.5x worse: units_per_s below 2/3 of the median, or overhead_ratio
above 1.5x the median. The median, not the mean, so one odd run does not move the baseline.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str
    higher_is_better: bool


UNITS_PER_S = Metric("units_per_s", higher_is_better=True)
OVERHEAD_RATIO = Metric("overhead_ratio", higher_is_better=False)
WATCHED_METRICS = (OVERHEAD_RATIO, UNITS_PER_S)


@dataclass(frozen=True)
class Comparison:
    metric: Metric
    value: float
    baseline: float | None  # median of the history; None without usable history
    samples: int  # how many earlier values the median is over
    worse_by: float | None  # times worse than the baseline, minus one; negative = better
    margin: float

    @property
    def regressed(self) -> bool:
        return self.worse_by is not None and self.worse_by > self.margin

    def describe(self) -> str:
        name = self.metric.name
        if self.baseline is None or self.worse_by is None:
            return f"{name} {self.value:g}: no earlier materialization to compare with"
        factor = 1 + self.worse_by
        if factor >= 1:
            change = f"{factor:.2f}x worse"
        else:
            change = f"{1 / factor:.2f}x better" if factor > 0 else "better"
        verdict = (
            f"beyond the {1 + self.margin:.2f}x margin" if self.regressed else "within margin"
        )
        return (
            f"{name} {self.value:g} vs median {self.baseline:g} of the last {self.samples}: "
            f"{change} ({verdict})"
        )


def worse_by(metric: Metric, value: float, baseline: float) -> float | None:
    """How many times worse than `baseline` `value` is, minus one (None if baseline <= 0)."""
    if baseline <= 0 or not math.isfinite(baseline):
        return None
    if metric.higher_is_better:
        return math.inf if value <= 0 else baseline / value - 1
    return value / baseline - 1


def compare(metric: Metric, value: float, history: Sequence[float], margin: float) -> Comparison:
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    usable = [v for v in history if math.isfinite(v)]
    baseline = statistics.median(usable) if usable else None
    return Comparison(
        metric=metric,
        value=value,
        baseline=baseline,
        samples=len(usable),
        worse_by=None if baseline is None else worse_by(metric, value, baseline),
        margin=margin,
    )


def compare_all(
    current: Mapping[str, float],
    history: Sequence[Mapping[str, float]],
    margin: float,
    metrics: Sequence[Metric] = WATCHED_METRICS,
) -> list[Comparison]:
    """One comparison per metric; an earlier materialization without a figure is left out of
    that figure's median."""
    return [
        compare(
            metric,
            current[metric.name],
            [float(past[metric.name]) for past in history if metric.name in past],
            margin,
        )
        for metric in metrics
    ]
