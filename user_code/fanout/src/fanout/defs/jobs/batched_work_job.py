"""`batched_work_job`: the chunked workload grouped into batches, then loaded into a shared store.

The load step is the tag-concurrency example: every `load_batch` step is tagged
{"fanout/resource": "warehouse"} and the multiprocess executor of this job allows only one
such step at a time, because the (simulated) warehouse takes one writer at a time while the
batches themselves still run in parallel. The in-process executor runs steps one by one, so
the limit holds there trivially.
"""

import time

import dagster as dg

from fanout.deployment import build_executor
from fanout.defs.jobs.chunk_config import BatchedWorkConfig
from fanout.defs.jobs.chunk_ops import run_chunks_timed, summarize_chunks
from fanout.lib.chunks import batch, plan_chunks
from fanout.lib.results import ChunkResult, ChunkSpec
from fanout.lib.timing import StepTimer

WAREHOUSE_TAG = {"fanout/resource": "warehouse"}
WAREHOUSE_LIMITS = [{"key": "fanout/resource", "value": "warehouse", "limit": 1}]


@dg.op(out=dg.DynamicOut(list[ChunkSpec]))
def plan_batches(config: BatchedWorkConfig):
    timer = StepTimer()
    chunks = plan_chunks(config.chunk_count, config.chunk_seconds, config.kind)
    for index, group in enumerate(batch(chunks, config.batch_size)):
        yield dg.DynamicOutput(
            group, mapping_key=f"batch_{index}", metadata={"chunks": len(group), **timer.metadata()}
        )


@dg.op
def run_batch(chunks: list[ChunkSpec]) -> dg.Output[list[ChunkResult]]:
    return run_chunks_timed(chunks)


@dg.op(tags=WAREHOUSE_TAG)
def load_batch(results: list[ChunkResult]) -> dg.Output[list[ChunkResult]]:
    """Stand-in for a write to a single-writer store; passes results through."""
    timer = StepTimer()
    with timer.working():
        time.sleep(0.01)
    return dg.Output(results, metadata={"rows": len(results), **timer.metadata()})


@dg.job(executor_def=build_executor(tag_limits=WAREHOUSE_LIMITS))
def batched_work_job() -> None:
    summarize_chunks(plan_batches().map(run_batch).map(load_batch).collect())
