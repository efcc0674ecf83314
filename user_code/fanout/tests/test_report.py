import pytest

from fanout.lib.report import markdown_table, record_overhead, summarize
from fanout.lib.results import RecordResult


def _result(record_id: str, units: int, work: float, wall: float, start: float, end: float) -> RecordResult:
    return RecordResult(record_id, record_id, units, "d", work, wall, start, end, False)


def test_summary_math() -> None:
    results = [_result("a", 10, 1.0, 1.2, 100.0, 101.2), _result("b", 20, 2.0, 2.5, 100.5, 103.0)]
    summary = summarize(results)
    assert summary.records == 2
    assert summary.units == 30
    assert summary.work_s == pytest.approx(3.0)
    assert summary.record_wall_s == pytest.approx(3.7)
    assert summary.span_s == pytest.approx(3.0)
    assert summary.units_per_s == pytest.approx(10.0)
    assert summary.overhead_ratio == pytest.approx(1.0)


def test_zero_work_does_not_divide_by_zero() -> None:
    summary = summarize([_result("a", 10, 0.0, 0.0, 5.0, 5.0)])
    assert summary.units_per_s == 0.0 and summary.overhead_ratio == 0.0
    assert record_overhead(_result("a", 10, 0.0, 1.0, 0, 1)) == 0.0


def test_empty_results_refused() -> None:
    with pytest.raises(ValueError, match="no record results"):
        summarize([])


def test_markdown_table_rows_and_escaping() -> None:
    table = markdown_table([_result("a|b", 10, 1.0, 2.0, 0, 2)])
    lines = table.splitlines()
    assert lines[0].startswith("| record | units |")
    assert lines[2] == "| a\\|b | 10 | 2.000 | 1.000 | 2.00 | no |"
