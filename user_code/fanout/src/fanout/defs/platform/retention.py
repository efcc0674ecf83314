"""`retention_purge_job` on a daily schedule: deletes finished runs older than
STACK_RETENTION_DAYS (their event logs and compute-log files too), keeping the last
STACK_RETENTION_KEEP_LAST runs of each job; a run not finished is never touched."""

import time

import dagster as dg
from stack_retention import RetentionPolicy, purge_runs

from fanout.deployment import is_stack
from fanout.lib.platform_settings import platform_settings

SETTINGS = platform_settings()
# The ids listed in the op's output metadata; the count covers them all.
MAX_IDS_LISTED = 200


class RetentionConfig(dg.Config):
    max_age_days: float = SETTINGS.retention_days
    keep_last_per_job: int = SETTINGS.retention_keep_last
    dry_run: bool = False


@dg.op(description="Deletes the runs the retention policy chooses, with their logs.")
def purge_old_runs(context: dg.OpExecutionContext, config: RetentionConfig) -> dg.Output[int]:
    policy = RetentionPolicy(config.max_age_days, config.keep_last_per_job)
    report = purge_runs(context.instance, policy, time.time(), dry_run=config.dry_run)
    verb = "would delete" if config.dry_run else "deleted"
    context.log.info(
        f"retention ({config.max_age_days:g} days, last {config.keep_last_per_job} per job kept): "
        f"{verb} {len(report.deleted_run_ids)} of {report.finished_runs} finished runs: "
        f"{', '.join(report.deleted_run_ids) or '(none)'}"
    )
    for run_id, error in report.compute_log_errors.items():
        context.log.warning(f"compute logs of run {run_id} not deleted: {error}")
    return dg.Output(
        len(report.deleted_run_ids),
        metadata={
            "deleted_runs": len(report.deleted_run_ids),
            "finished_runs_before": report.finished_runs,
            "deleted_run_ids": dg.MetadataValue.json(report.deleted_run_ids[:MAX_IDS_LISTED]),
            "compute_log_errors": len(report.compute_log_errors),
            "dry_run": config.dry_run,
        },
    )


# In-process: one small step; no pool of step processes to start for it.
@dg.job(executor_def=dg.in_process_executor, tags={"dagster/max_runtime": "1800"})
def retention_purge_job() -> None:
    purge_old_runs()


retention_schedule = dg.ScheduleDefinition(
    name="retention_schedule",
    job=retention_purge_job,
    cron_schedule=SETTINGS.retention_cron,
    default_status=(
        dg.DefaultScheduleStatus.RUNNING if is_stack() else dg.DefaultScheduleStatus.STOPPED
    ),
)
