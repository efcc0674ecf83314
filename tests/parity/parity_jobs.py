"""The code location's real jobs, each on the warm pool and on Dagster's own multiprocess
executor. Only the executor differs; the assets, ops and configs are user_code's.
Module-level functions so each job is reconstructable in the processes the executors start."""

import dagster as dg
from dagster_warm_pool import warm_pool_executor

from fanout.defs.assets.fanout_report import fanout_report
from fanout.defs.assets.fanout_results import fanout_results
from fanout.defs.assets.input_records import input_records
from fanout.defs.jobs.chunked_work_job import chunked_work_job

EXECUTORS = {"warm_pool": warm_pool_executor, "stock": dg.multiprocess_executor}


def _fanout(executor: str) -> dg.JobDefinition:
    job = dg.define_asset_job(
        name=f"fanout_job_{executor}",
        selection=dg.AssetSelection.assets("input_records", "fanout_results", "fanout_report"),
        executor_def=EXECUTORS[executor],
    )
    defs = dg.Definitions(assets=[input_records, fanout_results, fanout_report], jobs=[job])
    return defs.resolve_job_def(job.name)


def _chunked(executor: str) -> dg.JobDefinition:
    return chunked_work_job.graph.to_job(
        name=f"chunked_work_job_{executor}", executor_def=EXECUTORS[executor]
    )


def fanout_warm_pool() -> dg.JobDefinition:
    return _fanout("warm_pool")


def fanout_stock() -> dg.JobDefinition:
    return _fanout("stock")


def chunked_warm_pool() -> dg.JobDefinition:
    return _chunked("warm_pool")


def chunked_stock() -> dg.JobDefinition:
    return _chunked("stock")


JOBS = {
    ("fanout", "warm_pool"): fanout_warm_pool,
    ("fanout", "stock"): fanout_stock,
    ("chunked", "warm_pool"): chunked_warm_pool,
    ("chunked", "stock"): chunked_stock,
}
