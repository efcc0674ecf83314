"""The metric families the /metrics endpoint serves, from query rows (no database): zero-filled
run counts, the cumulative histogram, usage and fan-out figures read from serialized events,
and the text format prometheus_client renders from them."""

import json

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from stack_metrics.families import (
    MIB,
    RUN_STATUSES,
    RunSummaryRow,
    ScrapeRows,
    families,
    float_metadata,
    location_of,
    merge_summaries,
)


def _event(metadata: dict[str, float | str], materialization: bool = False) -> str:
    entries = [
        {
            "__class__": "EventMetadataEntry",
            "label": label,
            "entry_data": {"__class__": "FloatMetadataEntryData", "value": value},
        }
        for label, value in metadata.items()
    ]
    data: dict = {"__class__": "EngineEventData", "metadata_entries": entries}
    if materialization:
        data = {"__class__": "StepMaterializationData", "materialization": {"metadata_entries": entries}}
    return json.dumps(
        {"__class__": "EventLogEntry", "timestamp": 1700000000.5,
         "dagster_event": {"event_specific_data": data}}
    )  # fmt: skip


class _Fixed(Collector):
    def __init__(self, rows: ScrapeRows) -> None:
        self.rows = rows

    def collect(self):  # type: ignore[no-untyped-def]
        return families(self.rows)


def _samples(rows: ScrapeRows) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Fixed(rows))
    text = generate_latest(registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_runs_are_counted_per_status_and_location_with_zeros_for_missing_statuses() -> None:
    rows = [RunSummaryRow("SUCCESS", "__repository__@fanout", 3), RunSummaryRow("FAILURE", None, 2)]
    samples = _samples(ScrapeRows(run_summary=rows))
    assert samples[("dagster_runs", (("location", "fanout"), ("status", "SUCCESS")))] == 3
    assert samples[("dagster_runs", (("location", "none"), ("status", "FAILURE")))] == 2
    for status in RUN_STATUSES:
        assert ("dagster_runs", (("location", "fanout"), ("status", status))) in samples
    assert samples[("dagster_runs", (("location", "fanout"), ("status", "FAILURE")))] == 0


def test_an_empty_database_gives_no_run_series_and_an_empty_queue() -> None:
    samples = _samples(ScrapeRows())
    assert not [key for key in samples if key[0] == "dagster_runs"]
    assert samples[("dagster_run_queue_depth", ())] == 0
    assert samples[("dagster_run_queue_oldest_age_seconds", ())] == 0


def test_the_duration_histogram_is_cumulative_per_status_over_locations() -> None:
    rows = ScrapeRows(
        run_summary=[
            RunSummaryRow("SUCCESS", "r@a", 3, 3, 30.0, (1, 2, 3)),
            RunSummaryRow("SUCCESS", "r@b", 2, 2, 12.0, (0, 1, 1)),
            # Unfinished runs have no duration: no histogram series for them.
            RunSummaryRow("STARTED", "r@a", 4, 0, 0.0, (0, 0, 0)),
        ],
        buckets=(1.0, 10.0, 30.0),
    )
    samples = _samples(rows)
    bucket = "dagster_run_duration_seconds_bucket"
    assert samples[(bucket, (("le", "1.0"), ("status", "SUCCESS")))] == 1
    assert samples[(bucket, (("le", "10.0"), ("status", "SUCCESS")))] == 3
    assert samples[(bucket, (("le", "30.0"), ("status", "SUCCESS")))] == 4
    assert samples[(bucket, (("le", "+Inf"), ("status", "SUCCESS")))] == 5
    assert samples[("dagster_run_duration_seconds_count", (("status", "SUCCESS"),))] == 5
    assert samples[("dagster_run_duration_seconds_sum", (("status", "SUCCESS"),))] == 42.0
    assert ("dagster_run_duration_seconds_count", (("status", "STARTED"),)) not in samples


def test_settled_and_live_summaries_add_up_per_status_and_label() -> None:
    settled = [RunSummaryRow("SUCCESS", "r@a", 10, 9, 90.0, (1, 9))]
    live = [RunSummaryRow("SUCCESS", "r@a", 2, 2, 5.0, (1, 2)), RunSummaryRow("QUEUED", None, 1)]
    merged = {(r.status, r.label): r for r in merge_summaries(settled, live)}
    assert merged[("SUCCESS", "r@a")] == RunSummaryRow("SUCCESS", "r@a", 12, 11, 95.0, (2, 11))
    assert merged[("QUEUED", None)].runs == 1


def test_queue_heartbeats_usage_and_fanout_report() -> None:
    rows = ScrapeRows(
        queue_depth=4,
        queue_oldest_age_s=90.5,
        heartbeat_ages=[("SENSOR", 12.0), ("QUEUED_RUN_COORDINATOR", -0.2)],
        run_usage=[("fanout_job", _event({"cpu_seconds": 3.25, "peak_memory_mib": 100.0}))],
        fanout_report=_event({"units_per_s": 55.5, "overhead_ratio": 1.25}, materialization=True),
    )
    samples = _samples(rows)
    assert samples[("dagster_run_queue_depth", ())] == 4
    assert samples[("dagster_run_queue_oldest_age_seconds", ())] == 90.5
    assert samples[("dagster_daemon_heartbeat_age_seconds", (("daemon_type", "SENSOR"),))] == 12
    # Clock skew between the daemon and Postgres never shows as a negative age.
    key = ("dagster_daemon_heartbeat_age_seconds", (("daemon_type", "QUEUED_RUN_COORDINATOR"),))
    assert samples[key] == 0
    assert samples[("dagster_run_cpu_seconds", (("job", "fanout_job"),))] == 3.25
    assert samples[("dagster_run_peak_memory_bytes", (("job", "fanout_job"),))] == 100 * MIB
    assert ("dagster_run_memory_limit_bytes", (("job", "fanout_job"),)) not in samples
    assert samples[("fanout_report_units_per_second", ())] == 55.5
    assert samples[("fanout_report_overhead_ratio", ())] == 1.25
    assert samples[("fanout_report_timestamp_seconds", ())] == 1700000000.5


def test_location_of_a_repository_label() -> None:
    assert location_of("__repository__@fanout") == "fanout"
    assert location_of("repo@team@sales") == "sales"
    assert location_of(None) == location_of("") == "none"


def test_float_metadata_skips_text_and_unreadable_events() -> None:
    assert float_metadata(_event({"records": 3, "per_record": "| table |"})) == {"records": 3.0}
    assert float_metadata("not json") == {}
    assert float_metadata("{}") == {}
