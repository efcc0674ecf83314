"""The user code's jobs, re-wrapped with each executor under test.

Workload `chunked`: the graph `chunked_work_job` is built from.  Workload `fanout`:
the asset job `fanout_job` (input_records -> fanout_results -> fanout_report), same
asset selection, built per executor in a Definitions with the user code's assets.
Module-level functions so they are reconstructable (`reconstructable(...)`,
`dagster job execute -m bench.jobs -j ...`).  Nothing in user_code is edited: only
`executor_def` differs.
"""

import dagster as dg

from fanout.deployment import FORKSERVER_PRELOAD_MODULES
from dagster_warm_pool import warm_pool_executor
from fanout.defs.jobs.chunked_work_job import chunked_work_job
from dagster_warm_pool import container_cpu_count

CORES = container_cpu_count()
GRAPH = chunked_work_job.graph
OP_PLAN = "plan_chunk_steps"

# What `multiprocess_tuned` preloads in the forkserver: the job module plus Dagster's
# storage stack (sqlalchemy, alembic, storages), as the deployment does.
TUNED_PRELOAD = ["bench.jobs", *FORKSERVER_PRELOAD_MODULES, "dagster._core.storage.sqlite_storage"]

def make_in_process() -> dg.JobDefinition:
    return GRAPH.to_job(name="chunked_in_process", executor_def=dg.in_process_executor)


def make_multiprocess_default() -> dg.JobDefinition:
    return GRAPH.to_job(
        name="chunked_multiprocess_default",
        executor_def=dg.multiprocess_executor.configured({"max_concurrent": CORES}),
    )


def make_multiprocess_tuned() -> dg.JobDefinition:
    return GRAPH.to_job(
        name="chunked_multiprocess_tuned",
        executor_def=dg.multiprocess_executor.configured(
            {
                "max_concurrent": CORES,
                "start_method": {"forkserver": {"preload_modules": TUNED_PRELOAD}},
            }
        ),
    )


def make_warm_pool() -> dg.JobDefinition:
    # Unconfigured so variants (compute_logs, start_method, ...) are chosen in run config.
    return GRAPH.to_job(name="chunked_warm_pool", executor_def=warm_pool_executor)


# `reconstructable()` needs the module-scope *functions* (to_job jobs); the CLI
# (`dagster job execute -m bench.jobs -j ...`) finds these module-level jobs.
chunked_in_process = make_in_process()
chunked_multiprocess_default = make_multiprocess_default()
chunked_multiprocess_tuned = make_multiprocess_tuned()
chunked_warm_pool = make_warm_pool()

# -- fanout workload ---------------------------------------------------------------

FANOUT_EXECUTORS = {
    "in_process": dg.in_process_executor,
    "multiprocess_default": dg.multiprocess_executor.configured({"max_concurrent": CORES}),
    "multiprocess_tuned": dg.multiprocess_executor.configured(
        {"max_concurrent": CORES, "start_method": {"forkserver": {"preload_modules": TUNED_PRELOAD}}}
    ),
    "warm_pool": warm_pool_executor,
}


def _fanout_job(method: str) -> dg.JobDefinition:
    from fanout.defs.assets.fanout_report import fanout_report
    from fanout.defs.assets.fanout_results import fanout_results
    from fanout.defs.assets.input_records import input_records

    executor = FANOUT_EXECUTORS[method.split(":")[0]]
    job = dg.define_asset_job(
        name=f"fanout_{method.split(':')[0]}",
        selection=dg.AssetSelection.assets("input_records", "fanout_results", "fanout_report"),
        executor_def=executor,
    )
    defs = dg.Definitions(assets=[input_records, fanout_results, fanout_report], jobs=[job])
    return defs.resolve_job_def(job.name)


def fanout_in_process() -> dg.JobDefinition:
    return _fanout_job("in_process")


def fanout_multiprocess_default() -> dg.JobDefinition:
    return _fanout_job("multiprocess_default")


def fanout_multiprocess_tuned() -> dg.JobDefinition:
    return _fanout_job("multiprocess_tuned")


def fanout_warm_pool() -> dg.JobDefinition:
    return _fanout_job("warm_pool")


FANOUT_RECONSTRUCTABLE = {
    "in_process": fanout_in_process,
    "multiprocess_default": fanout_multiprocess_default,
    "multiprocess_tuned": fanout_multiprocess_tuned,
    "warm_pool": fanout_warm_pool,
}


def fanout_run_config(
    records: int, unit_work_ms: float, unit_mode: str, execution: dict | None = None
) -> dict:
    cfg: dict = {
        "ops": {
            "input_records": {"config": {"record_count": records, "seed": 0}},
            "fanout_results": {
                "config": {"unit_mode": unit_mode, "unit_work_ms": unit_work_ms, "work_kind": "cpu"}
            },
        }
    }
    if execution is not None:
        cfg["execution"] = {"config": execution}
    return cfg


def fanout_work_seconds(records: int, unit_work_ms: float) -> float:
    """The configured CPU work of a fanout run (what a perfect executor must compute)."""
    from fanout.lib.records import generate_records

    return sum(r.units for r in generate_records(records, 0)) * unit_work_ms / 1000.0


RECONSTRUCTABLE = {
    "multiprocess_default": make_multiprocess_default,
    "multiprocess_tuned": make_multiprocess_tuned,
    "warm_pool": make_warm_pool,
}


def run_config(chunks: int, seconds: float, kind: str, execution: dict | None = None) -> dict:
    cfg: dict = {
        "ops": {OP_PLAN: {"config": {"chunk_count": chunks, "chunk_seconds": seconds, "kind": kind}}}
    }
    if execution is not None:
        cfg["execution"] = {"config": execution}
    return cfg


@dg.repository
def bench_repository():
    return [chunked_in_process, chunked_multiprocess_default, chunked_multiprocess_tuned, chunked_warm_pool]
