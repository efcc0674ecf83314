import json
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from fanout_helpers import fanout_run_config, started_steps, step_failure_descriptions
from fanout.definitions import defs
from fanout.lib.mapping_keys import mapping_keys_for
from fanout.lib.records import generate_records
from fanout.lib.results import RecordResult

ASSET_KEYS = {dg.AssetKey("input_records"), dg.AssetKey("fanout_results"), dg.AssetKey("fanout_report")}


def _digests(result: dg.ExecuteInProcessResult) -> dict[str, str]:
    results: list[RecordResult] = result.output_for_node("fanout_results")
    return {r.record_id: r.digest for r in results}


def test_both_unit_modes_give_identical_results(fanout_job: dg.JobDefinition) -> None:
    config = {"record_count": 3, "seed": 5}
    sequential = fanout_job.execute_in_process(fanout_run_config(config, unit_mode="sequential"))
    parallel = fanout_job.execute_in_process(
        fanout_run_config(config, unit_mode="parallel", pool_min_work_ms=0)
    )
    assert sequential.success and parallel.success
    assert _digests(sequential) == _digests(parallel)
    assert set(_digests(sequential)) == {r.id for r in generate_records(3, 5)}
    pooled = [r.used_pool for r in parallel.output_for_node("fanout_results")]
    assert pooled == [True, True, True]


def test_report_metadata_and_lineage(fanout_job: dg.JobDefinition) -> None:
    result = fanout_job.execute_in_process(fanout_run_config({"record_count": 2, "seed": 0}))
    assert {m.asset_key for m in result.get_asset_materialization_events()} == ASSET_KEYS
    report = next(
        e.materialization for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey("fanout_report")
    )
    units = sum(r.units for r in generate_records(2, 0))
    assert report.metadata["units"].value == units
    assert report.metadata["records"].value == 2
    span, work = report.metadata["span_s"].value, report.metadata["total_work_s"].value
    assert report.metadata["overhead_ratio"].value == pytest.approx(span / work, rel=1e-2)
    assert report.metadata["units_per_s"].value == pytest.approx(units / span, rel=1e-2)
    assert "step_wall_s" in report.metadata and "step_work_s" in report.metadata
    assert "| rec-0-0000 |" in report.metadata["per_record"].value
    asset_graph = defs.resolve_asset_graph()
    assert asset_graph.get(dg.AssetKey("fanout_results")).parent_keys == {dg.AssetKey("input_records")}
    # The report also reads input_records: its completeness check compares record ids.
    assert asset_graph.get(dg.AssetKey("fanout_report")).parent_keys == {
        dg.AssetKey("input_records"), dg.AssetKey("fanout_results")
    }


def test_every_step_reports_wall_and_work_time(fanout_job: dg.JobDefinition) -> None:
    result = fanout_job.execute_in_process(fanout_run_config({"record_count": 2, "seed": 0}))
    # Asset-check results are outputs too (named after the check); they carry no timing.
    outputs = [
        e for e in result.all_events
        if e.is_successful_output and e.step_output_data.output_name == "result"
    ]
    assert outputs
    for event in outputs:
        metadata = event.step_output_data.metadata
        prefix = "step_" if event.step_key == "fanout_report" else ""
        assert f"{prefix}wall_s" in metadata and f"{prefix}work_s" in metadata, event.step_key


def _write(data_dir: Path, name: str, payload: Any) -> str:
    path = data_dir / name
    path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
    return name


@pytest.mark.parametrize(
    ("input_config", "expected"),
    [
        ({"record_count": 0}, "input: no records (empty list)"),
        ({"record_count": -1}, "input: record_count must be >= 0, got -1"),
        ({"record_count": 6, "max_records": 5}, "input: 6 records exceed the maximum of 5"),
        ({"records_path": "missing.json"}, "file 'missing.json': unreadable"),
        ({"records_path": "../escape.json"}, "file '../escape.json': is outside the data dir"),
        ({"records_path": "/etc/hostname"}, "file '/etc/hostname': is outside the data dir"),
        ({"file": ("bad.json", "{not json")}, "file 'bad.json': invalid JSON at line 1 column 2"),
        ({"file": ("empty.json", [])}, "input: no records (empty list)"),
        ({"file": ("noid.json", [{"units": 10}])}, "record #0: missing id"),
        (
            {"file": ("dup.json", [{"id": "a", "units": 10}, {"id": "a", "units": 10}])},
            "record #1 (id 'a'): duplicate id (appears 2 times)",
        ),
        ({"file": ("bool.json", [{"id": "a", "units": True}])}, "units must be an integer, got True"),
        ({"file": ("float.json", [{"id": "a", "units": 10.5}])}, "units must be an integer, got 10.5"),
        ({"file": ("range.json", [{"id": "a", "units": 31}])}, "record #0 (id 'a'): units must be in 10..30, got 31"),
    ],
)
def test_bad_input_fails_before_fanout_and_materializes_nothing(
    fanout_job: dg.JobDefinition, data_dir: Path, input_config: dict[str, Any], expected: str
) -> None:
    if "file" in input_config:
        name, payload = input_config.pop("file")
        input_config = {"records_path": _write(data_dir, name, payload)}
    instance = dg.DagsterInstance.ephemeral()
    result = fanout_job.execute_in_process(
        fanout_run_config(input_config), instance=instance, raise_on_error=False
    )
    assert not result.success
    failures = step_failure_descriptions(result)
    assert list(failures) == ["input_records"]
    assert expected in failures["input_records"]
    assert started_steps(result) == ["input_records"]
    assert result.get_asset_materialization_events() == []
    for key in ASSET_KEYS:
        assert instance.get_latest_materialization_event(key) is None


def test_valid_records_file_is_used(fanout_job: dg.JobDefinition, data_dir: Path) -> None:
    records = [{"id": "weird id/1", "units": 10}, {"id": "weird-id-1", "units": 11}]
    name = _write(data_dir, "incoming/ok.json", {"records": records})
    result = fanout_job.execute_in_process(fanout_run_config({"records_path": name}))
    assert result.success
    assert set(_digests(result)) == {"weird id/1", "weird-id-1"}
    keys = {r.mapping_key for r in result.output_for_node("fanout_results")}
    assert keys == set(mapping_keys_for(["weird id/1", "weird-id-1"]).values())


def test_flaky_record_retries_on_its_own_and_succeeds(fanout_job: dg.JobDefinition) -> None:
    flaky = generate_records(3, 1)[1].id
    result = fanout_job.execute_in_process(
        fanout_run_config({"record_count": 3, "seed": 1}, flaky_record_ids=[flaky])
    )
    assert result.success
    flaky_step = f"fanout_results.process_record[{mapping_keys_for([flaky])[flaky]}]"
    retried = [e.step_key for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
    assert retried == [flaky_step]
    assert len(_digests(result)) == 3
