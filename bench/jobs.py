"""The user code's `chunked_work_job` graph, re-wrapped with each executor under test.

Module-level jobs so they are reconstructable (`reconstructable(...)`,
`dagster job execute -m bench.jobs -j ...`).  Nothing in user_code is edited: the
graph is the one `chunked_work_job` is built from, only `executor_def` differs.
"""

import dagster as dg

from user_code.deployment import FORKSERVER_PRELOAD_MODULES
from user_code.executors import warm_pool_executor
from user_code.jobs.chunked_work_job import chunked_work_job
from user_code.lib.cpu_quota import container_cpu_count

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

RECONSTRUCTABLE = {
    "multiprocess_default": make_multiprocess_default,
    "multiprocess_tuned": make_multiprocess_tuned,
    "warm_pool": make_warm_pool,
    "warm_pool_no_mirror": make_warm_pool,
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
