"""Planning and running the benchmark workload: N chunks of W seconds, optionally batched."""

from __future__ import annotations

from fanout.lib.results import ChunkResult, ChunkSpec
from fanout.lib.unit_work import UnitTask, WorkKind, iterations_per_ms, run_unit


def plan_chunks(count: int, seconds: float, kind: WorkKind) -> list[ChunkSpec]:
    if count < 1:
        raise ValueError(f"chunk count must be >= 1, got {count}")
    if seconds < 0:
        raise ValueError(f"chunk seconds must be >= 0, got {seconds}")
    return [ChunkSpec(index, seconds, kind) for index in range(count)]


def batch(chunks: list[ChunkSpec], batch_size: int) -> list[list[ChunkSpec]]:
    if batch_size < 1:
        raise ValueError(f"batch size must be >= 1, got {batch_size}")
    return [chunks[start : start + batch_size] for start in range(0, len(chunks), batch_size)]


def run_chunk(chunk: ChunkSpec) -> ChunkResult:
    rate = iterations_per_ms() if chunk.kind == "cpu" else 0.0
    task = UnitTask("chunk", chunk.index, chunk.seconds * 1000, chunk.kind, rate)  # type: ignore[arg-type]
    result = run_unit(task)
    return ChunkResult(chunk.index, result.digest, result.work_s)
