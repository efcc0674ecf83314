"""`fanout_schedule`: runs fanout_job on FANOUT_SCHEDULE_CRON (default hourly).

It starts RUNNING only in the stack (STACK_DEPLOYMENT=stack) unless FANOUT_SCHEDULE_ENABLED=false.
"""

import os
from collections.abc import Mapping

import dagster as dg

from fanout.deployment import automation_enabled
from fanout.defs.jobs.fanout_job import fanout_job

DEFAULT_CRON = "0 * * * *"


def build_fanout_schedule(env: Mapping[str, str] = os.environ) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name="fanout_schedule",
        job=fanout_job,
        cron_schedule=env.get("FANOUT_SCHEDULE_CRON", "").strip() or DEFAULT_CRON,
        default_status=(
            dg.DefaultScheduleStatus.RUNNING
            if automation_enabled(env)
            else dg.DefaultScheduleStatus.STOPPED
        ),
    )


fanout_schedule = build_fanout_schedule()
