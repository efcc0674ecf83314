"""The code location: fan-out assets, benchmark jobs, schedule and sensor."""

import dagster as dg

from user_code.assets.fanout_report import fanout_report
from user_code.assets.fanout_results import fanout_results
from user_code.assets.input_records import input_records
from user_code.deployment import build_executor
from user_code.jobs.batched_work_job import batched_work_job
from user_code.jobs.chunked_work_job import chunked_work_job
from user_code.jobs.fanout_job import fanout_job
from user_code.schedules import fanout_schedule
from user_code.sensors import records_file_sensor

defs = dg.Definitions(
    assets=[input_records, fanout_results, fanout_report],
    jobs=[fanout_job, chunked_work_job, batched_work_job],
    schedules=[fanout_schedule],
    sensors=[records_file_sensor],
    executor=build_executor(),
)


def job_by_name(name: str) -> dg.JobDefinition:
    """Module-level entry point so jobs can be rebuilt by name in other processes
    (dg.build_reconstructable_job("user_code.definitions", "job_by_name", (name,)))."""
    return defs.resolve_job_def(name)
