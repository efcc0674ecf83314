"""`warehouse_job` and its daily schedule."""

import os

import dagster as dg

warehouse_job = dg.define_asset_job(
    name="warehouse_job",
    selection=dg.AssetSelection.groups("warehouse"),
    executor_def=dg.in_process_executor,
)

warehouse_schedule = dg.ScheduleDefinition(
    name="warehouse_daily",
    job=warehouse_job,
    cron_schedule=os.environ.get("WAREHOUSE_SCHEDULE_CRON", "").strip() or "0 6 * * *",
    # A team turns its schedule on in the UI when it wants it; nothing runs by surprise.
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
