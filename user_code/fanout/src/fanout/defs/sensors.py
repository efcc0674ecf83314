"""`records_file_sensor`: one fanout_job run per new `*.json` file in $FANOUT_DATA_DIR/incoming/.

The run key is name + mtime + size and the cursor remembers the keys of files already run, so
a file runs once; rewriting it runs it again. Write files under a dot-name and rename them into
place so a half-written file is never picked up. Interval: FANOUT_SENSOR_INTERVAL_SECONDS
(default 30). RUNNING by default only in the stack, like the schedule.
"""

import os
from collections.abc import Mapping

import dagster as dg

from fanout.deployment import automation_enabled, data_dir
from fanout.defs.jobs.fanout_job import fanout_job
from fanout.lib.incoming_files import new_files, next_cursor, parse_cursor, scan_incoming

INCOMING_SUBDIR = "incoming"
DEFAULT_INTERVAL_SECONDS = 30


def _evaluate(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    root = data_dir()
    files = scan_incoming(root / INCOMING_SUBDIR)
    fresh = new_files(files, parse_cursor(context.cursor))
    requests = [
        dg.RunRequest(
            run_key=file.run_key,
            # Relative to the data dir, so the path holds in every container mounting the volume;
            # input_records still refuses a symlink that escapes it.
            run_config={
                "ops": {"input_records": {"config": {"records_path": str(file.path.relative_to(root))}}}
            },
            tags={"fanout/records_file": file.path.name},
        )
        for file in fresh
    ]
    return dg.SensorResult(run_requests=requests, cursor=next_cursor(files))


def build_records_file_sensor(env: Mapping[str, str] = os.environ) -> dg.SensorDefinition:
    interval = int(env.get("FANOUT_SENSOR_INTERVAL_SECONDS", "").strip() or DEFAULT_INTERVAL_SECONDS)
    return dg.SensorDefinition(
        name="records_file_sensor",
        evaluation_fn=_evaluate,
        job=fanout_job,
        minimum_interval_seconds=interval,
        default_status=(
            dg.DefaultSensorStatus.RUNNING if automation_enabled(env) else dg.DefaultSensorStatus.STOPPED
        ),
        description=__doc__,
    )


records_file_sensor = build_records_file_sensor()
