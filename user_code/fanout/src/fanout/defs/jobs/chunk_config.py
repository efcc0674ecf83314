"""Config of the benchmark workload (N chunks of W seconds of `sleep` or `cpu` work)."""

from typing import Literal

import dagster as dg


class ChunkWorkConfig(dg.Config):
    """Defaults are the benchmark workload: 8 chunks x 0.5 s of sleep."""

    chunk_count: int = 8
    chunk_seconds: float = 0.5
    kind: Literal["sleep", "cpu"] = "sleep"


class BatchedWorkConfig(ChunkWorkConfig):
    """batch_size chunks run in one step, paying the per-step overhead once per batch."""

    batch_size: int = 4
