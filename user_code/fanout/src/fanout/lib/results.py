"""Value types passed between fan-out steps (picklable, importable from every process)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RecordResult:
    """Outcome of one record's sub-pipeline. started_at/finished_at are epoch seconds."""

    record_id: str
    mapping_key: str
    units: int
    digest: str
    work_s: float
    wall_s: float
    started_at: float
    finished_at: float
    used_pool: bool


@dataclass(frozen=True)
class ChunkSpec:
    index: int
    seconds: float
    kind: str


@dataclass(frozen=True)
class ChunkResult:
    index: int
    digest: str
    work_s: float
