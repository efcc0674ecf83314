"""`fanout_job`: materializes input_records -> fanout_results -> fanout_report in one run."""

import dagster as dg

from user_code.deployment import build_executor

fanout_job = dg.define_asset_job(
    name="fanout_job",
    selection=dg.AssetSelection.assets("input_records", "fanout_results", "fanout_report"),
    executor_def=build_executor(),
)
