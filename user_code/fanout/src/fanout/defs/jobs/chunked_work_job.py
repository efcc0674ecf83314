"""`chunked_work_job`: one step per chunk (DynamicOut -> map -> collect); measures per-step overhead."""

import dagster as dg

from fanout.deployment import build_executor
from fanout.defs.jobs.chunk_config import ChunkWorkConfig
from fanout.defs.jobs.chunk_ops import run_chunks_timed, summarize_chunks
from fanout.lib.chunks import plan_chunks
from fanout.lib.results import ChunkResult, ChunkSpec
from fanout.lib.timing import StepTimer


@dg.op(out=dg.DynamicOut(ChunkSpec))
def plan_chunk_steps(config: ChunkWorkConfig):
    timer = StepTimer()
    for chunk in plan_chunks(config.chunk_count, config.chunk_seconds, config.kind):
        yield dg.DynamicOutput(chunk, mapping_key=f"chunk_{chunk.index}", metadata=timer.metadata())


@dg.op
def run_one_chunk(chunk: ChunkSpec) -> dg.Output[list[ChunkResult]]:
    return run_chunks_timed([chunk])


@dg.job(executor_def=build_executor())
def chunked_work_job() -> None:
    summarize_chunks(plan_chunk_steps().map(run_one_chunk).collect())
