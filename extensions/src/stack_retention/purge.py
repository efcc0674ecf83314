"""Applies the retention policy to a Dagster instance: deletes the chosen runs with their
event logs (`instance.delete_run`) and their compute-log files (the compute log manager's
`delete_logs` on the run's prefix). Only through Dagster's API, so it holds for any storage."""

from __future__ import annotations

from dataclasses import dataclass, field

import dagster as dg

from stack_retention.policy import TERMINAL_STATUSES, RetentionPolicy, RunSummary, runs_to_purge


@dataclass
class PurgeReport:
    finished_runs: int = 0
    deleted_run_ids: list[str] = field(default_factory=list)
    # Runs whose compute logs could not be deleted, with why (the run itself is still deleted).
    compute_log_errors: dict[str, str] = field(default_factory=dict)


def finished_run_summaries(instance: dg.DagsterInstance) -> list[RunSummary]:
    statuses = [dg.DagsterRunStatus[name] for name in sorted(TERMINAL_STATUSES)]
    records = instance.get_run_records(filters=dg.RunsFilter(statuses=statuses))
    return [
        RunSummary(
            run_id=record.dagster_run.run_id,
            job_name=record.dagster_run.job_name,
            status=record.dagster_run.status.value,
            finished_at=record.end_time or record.create_timestamp.timestamp(),
        )
        for record in records
    ]


def purge_runs(
    instance: dg.DagsterInstance, policy: RetentionPolicy, now: float, dry_run: bool = False
) -> PurgeReport:
    summaries = finished_run_summaries(instance)
    report = PurgeReport(finished_runs=len(summaries))
    for run_id in runs_to_purge(summaries, policy, now):
        current = instance.get_run_by_id(run_id)
        # Re-read: a run re-executed or deleted since the listing is left alone.
        if current is None or current.status.value not in TERMINAL_STATUSES:
            continue
        if not dry_run:
            try:
                instance.compute_log_manager.delete_logs(prefix=[run_id])
            except (NotImplementedError, OSError) as error:
                report.compute_log_errors[run_id] = f"{type(error).__name__}: {error}"
            instance.delete_run(run_id)
        report.deleted_run_ids.append(run_id)
    return report
