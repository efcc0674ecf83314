"""What the parity suite compares of a run: its final status, each step's final status and
attempt count, and each materialization's asset key with its metadata keys."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg


@dataclass(frozen=True)
class RunSummary:
    status: str
    steps: dict[str, tuple[str, int]]  # step key -> (final status, attempts)
    materializations: dict[str, list[frozenset[str]]]  # asset key -> metadata keys per event


def summarize_run(instance: dg.DagsterInstance, run_id: str) -> RunSummary:
    run = instance.get_run_by_id(run_id)
    assert run is not None
    steps = {
        stat.step_key: (stat.status.value if stat.status else "NONE", stat.attempts or 0)
        for stat in instance.get_run_step_stats(run_id)
    }
    materializations: dict[str, list[frozenset[str]]] = {}
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, limit=10000
    ).records
    for record in records:
        event = record.event_log_entry.dagster_event
        assert event is not None
        materialization = event.step_materialization_data.materialization
        materializations.setdefault(materialization.asset_key.to_user_string(), []).append(
            frozenset(materialization.metadata)
        )
    return RunSummary(run.status.value, steps, materializations)
