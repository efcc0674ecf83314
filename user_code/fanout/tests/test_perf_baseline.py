import math

import pytest

from fanout.lib.perf_baseline import (
    OVERHEAD_RATIO,
    UNITS_PER_S,
    compare,
    compare_all,
    worse_by,
)


def test_worse_is_a_factor_in_the_direction_that_hurts() -> None:
    assert worse_by(UNITS_PER_S, 50.0, 100.0) == pytest.approx(1.0)  # half the speed: 2x worse
    assert worse_by(UNITS_PER_S, 200.0, 100.0) == pytest.approx(-0.5)  # faster: negative
    assert worse_by(OVERHEAD_RATIO, 1.5, 1.0) == pytest.approx(0.5)  # 1.5x the overhead
    assert worse_by(OVERHEAD_RATIO, 0.8, 1.0) == pytest.approx(-0.2)
    assert worse_by(UNITS_PER_S, 0.0, 100.0) == math.inf
    assert worse_by(UNITS_PER_S, 1.0, 0.0) is None


def test_baseline_is_the_median_so_one_odd_run_does_not_move_it() -> None:
    comparison = compare(UNITS_PER_S, 100.0, [100.0, 102.0, 5.0], margin=0.25)
    assert comparison.baseline == 100.0
    assert comparison.samples == 3
    assert not comparison.regressed


def test_more_than_the_margin_worse_is_a_regression() -> None:
    slow = compare(UNITS_PER_S, 40.0, [100.0, 100.0], margin=0.5)
    assert slow.regressed
    assert slow.describe() == (
        "units_per_s 40 vs median 100 of the last 2: 2.50x worse (beyond the 1.50x margin)"
    )
    at_margin = compare(UNITS_PER_S, 50.0, [100.0], margin=1.0)
    assert not at_margin.regressed
    overhead = compare(OVERHEAD_RATIO, 1.6, [1.0, 1.0, 1.2], margin=0.5)
    assert overhead.regressed and overhead.worse_by == pytest.approx(0.6)


def test_any_margin_is_reachable_for_both_kinds_of_figure() -> None:
    assert compare(UNITS_PER_S, 10.0, [100.0], margin=5.0).regressed  # 10x slower
    assert not compare(UNITS_PER_S, 20.0, [100.0], margin=5.0).regressed  # 5x slower
    assert compare(OVERHEAD_RATIO, 7.0, [1.0], margin=5.0).regressed


def test_better_is_never_a_regression() -> None:
    fast = compare(UNITS_PER_S, 1000.0, [100.0], margin=0.0)
    assert not fast.regressed
    assert fast.describe().endswith("10.00x better (within margin)")


def test_no_history_means_nothing_to_compare() -> None:
    first = compare(OVERHEAD_RATIO, 0.7, [], margin=0.5)
    assert first.baseline is None and first.worse_by is None and not first.regressed
    assert first.describe() == "overhead_ratio 0.7: no earlier materialization to compare with"
    assert compare(OVERHEAD_RATIO, 0.7, [float("nan")], margin=0.5).baseline is None


def test_negative_margin_is_refused() -> None:
    with pytest.raises(ValueError, match="margin must be >= 0"):
        compare(UNITS_PER_S, 1.0, [1.0], margin=-0.1)


def test_compare_all_skips_history_without_the_figure() -> None:
    history = [{"units_per_s": 100.0, "overhead_ratio": 0.6}, {"units_per_s": 110.0}]
    by_name = {
        c.metric.name: c
        for c in compare_all({"units_per_s": 30.0, "overhead_ratio": 0.61}, history, 0.5)
    }
    assert by_name["units_per_s"].samples == 2 and by_name["units_per_s"].baseline == 105.0
    assert by_name["units_per_s"].regressed
    assert by_name["overhead_ratio"].samples == 1 and not by_name["overhead_ratio"].regressed
