"""fanout_report's asset checks and figures, materialized in process against a real instance."""

from pathlib import Path

import dagster as dg
import pytest

from fanout_helpers import fanout_run_config
from fanout.defs.assets.fanout_report import container_usage, fanout_report
from fanout.defs.assets.fanout_report_checks import COMPLETENESS_CHECK, PERFORMANCE_CHECK
from fanout.lib.records import Record
from fanout.lib.results import RecordResult


def _evaluations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_checks_run_with_each_materialization_and_a_slow_one_warns(
    fanout_job: dg.JobDefinition,
) -> None:
    records = {"record_count": 2, "seed": 0}
    with dg.instance_for_test() as instance:
        first = fanout_job.execute_in_process(fanout_run_config(records), instance=instance)
        second = fanout_job.execute_in_process(fanout_run_config(records), instance=instance)
        # 100x the work per unit: units/s falls far below the baseline's.
        slow = fanout_job.execute_in_process(
            fanout_run_config(records, unit_work_ms=20.0), instance=instance
        )
    assert first.success and second.success and slow.success  # a WARN never fails the run

    checks = _evaluations(first)
    assert set(checks) == {PERFORMANCE_CHECK, COMPLETENESS_CHECK}
    assert checks[PERFORMANCE_CHECK].passed
    assert "no earlier materialization" in checks[PERFORMANCE_CHECK].metadata["summary"].value
    assert checks[COMPLETENESS_CHECK].passed

    assert _evaluations(second)[PERFORMANCE_CHECK].metadata["baseline_materializations"].value == 1

    warned = _evaluations(slow)[PERFORMANCE_CHECK]
    assert not warned.passed
    assert warned.severity == dg.AssetCheckSeverity.WARN
    assert warned.metadata["baseline_materializations"].value == 2
    assert warned.metadata["units_per_s_worse_by"].value > 0.5
    assert "units_per_s" in (warned.description or "")
    assert _evaluations(slow)[COMPLETENESS_CHECK].passed


def test_the_margin_and_history_length_are_configurable(fanout_job: dg.JobDefinition) -> None:
    records = {"record_count": 2, "seed": 0}
    with dg.instance_for_test() as instance:
        fanout_job.execute_in_process(fanout_run_config(records), instance=instance)
        config = fanout_run_config(records, unit_work_ms=20.0)
        config["ops"]["fanout_report"] = {
            "config": {"regression_margin": 1000.0, "baseline_materializations": 1}
        }
        tolerant = fanout_job.execute_in_process(config, instance=instance)
    performance = _evaluations(tolerant)[PERFORMANCE_CHECK]
    assert performance.passed
    assert performance.metadata["margin"].value == 1000.0
    assert performance.metadata["baseline_materializations"].value == 1


def _result(record_id: str) -> RecordResult:
    return RecordResult(record_id, record_id, 10, "d", 0.1, 0.12, 100.0, 100.2, False)


@dg.asset(name="input_records")
def _three_records() -> list[Record]:
    return [Record("a", 10), Record("b", 10), Record("c", 10)]


@dg.asset(name="fanout_results")
def _one_result_lost(input_records: list[Record]) -> list[RecordResult]:
    return [_result("a"), _result("c")]


def test_a_missing_record_result_fails_the_hard_check_and_the_run() -> None:
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [_three_records, _one_result_lost, fanout_report],
            instance=instance,
            raise_on_error=False,
        )
        assert instance.get_latest_materialization_event(dg.AssetKey("fanout_report"))
    assert not result.success
    completeness = _evaluations(result)[COMPLETENESS_CHECK]
    assert not completeness.passed
    assert completeness.severity == dg.AssetCheckSeverity.ERROR
    assert completeness.metadata["missing_ids"].value == ["b"]
    assert completeness.description == "1 of 3 records have no result: 'b'"
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "blocking asset check failed" in str(failure.step_failure_data.error)


def _cgroup_v1(root: Path) -> Path:
    for name, text in {
        "cpuacct/cpuacct.usage": "2500000000\n",
        "memory/memory.max_usage_in_bytes": "209715200\n",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_container_usage_comes_from_the_cgroup_in_the_stack_only(tmp_path: Path) -> None:
    root = _cgroup_v1(tmp_path)
    stack = {"STACK_DEPLOYMENT": "stack"}
    assert container_usage(stack, root) == {"cpu_seconds": 2.5, "peak_memory_mib": 200.0}
    assert container_usage({}, root) == {}
    assert container_usage(stack, tmp_path / "absent") == {}


@pytest.mark.parametrize("name", ["units_per_s", "overhead_ratio", "span_s"])
def test_report_figures_are_numbers_the_asset_page_can_plot(
    fanout_job: dg.JobDefinition, name: str
) -> None:
    result = fanout_job.execute_in_process(fanout_run_config({"record_count": 2, "seed": 0}))
    report = next(
        e.materialization
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey("fanout_report")
    )
    assert isinstance(report.metadata[name], dg.FloatMetadataValue)
