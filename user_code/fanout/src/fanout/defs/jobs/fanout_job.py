"""`fanout_job`: materializes input_records -> fanout_results -> fanout_report in one run."""

import dagster as dg

from fanout.deployment import build_executor

CPUS_TAG = "limits/cpus"
MEMORY_TAG = "limits/memory"

fanout_job = dg.define_asset_job(
    name="fanout_job",
    selection=dg.AssetSelection.assets("input_records", "fanout_results", "fanout_report"),
    executor_def=build_executor(),
    # What one fan-out run needs from the stack's run launcher (docs/run-limits.md); the
    # executor and the unit pool size themselves from the CPU quota this produces.
    # `fanout/size: heavy` queues it behind any other heavy run (dagster.yaml's run queue
    # allows one at a time), so two fan-outs never split the host's cores between them.
    # A fan-out run that takes an hour is stuck: its time limit is shorter than the stack's
    # default (dagster.yaml, run_monitoring.max_runtime_seconds).
    tags={CPUS_TAG: "2", MEMORY_TAG: "2g", "fanout/size": "heavy", "dagster/max_runtime": "3600"},
)
