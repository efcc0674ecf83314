"""Ops shared by the benchmark jobs: run one chunk, summarize chunk results."""

import dagster as dg

from fanout.lib.chunks import run_chunk
from fanout.lib.results import ChunkResult, ChunkSpec
from fanout.lib.timing import StepTimer


def run_chunks_timed(chunks: list[ChunkSpec]) -> dg.Output[list[ChunkResult]]:
    """Run chunks in order and attach wall-vs-work metadata; used by one-chunk and batch steps."""
    timer = StepTimer()
    results = [run_chunk(chunk) for chunk in chunks]
    timer.add_work(sum(result.work_s for result in results))
    return dg.Output(results, metadata={"chunks": len(results), **timer.metadata()})


@dg.op
def summarize_chunks(results: list[list[ChunkResult]]) -> dg.Output[dict]:
    """Totals over all chunk results (each mapped step returns a list, one chunk or a batch)."""
    timer = StepTimer()
    flat = sorted((r for group in results for r in group), key=lambda result: result.index)
    totals = {
        "chunks": len(flat),
        "steps": len(results),
        "work_s": sum(result.work_s for result in flat),
        "indexes": [result.index for result in flat],
    }
    return dg.Output(
        totals,
        metadata={"chunks": totals["chunks"], "steps": totals["steps"], "total_work_s": totals["work_s"], **timer.metadata()},
    )
