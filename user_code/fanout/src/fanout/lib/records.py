"""The record type the fan-out works on, and deterministic record generation."""

from __future__ import annotations

import random
from dataclasses import dataclass

MIN_UNITS = 10
MAX_UNITS = 30


@dataclass(frozen=True)
class Record:
    """One unit of fan-out: an id and how many units of work it carries."""

    id: str
    units: int


def generate_records(count: int, seed: int) -> list[Record]:
    """Return `count` records whose ids and unit counts depend only on (count, seed).

    random.Random(seed) is used instead of anything built on hash() because
    str hashing is salted per process and would give every run a different set.
    """
    if count < 0:
        raise ValueError(f"record count must be >= 0, got {count}")
    rng = random.Random(seed)
    return [
        Record(id=f"rec-{seed}-{index:04d}", units=rng.randint(MIN_UNITS, MAX_UNITS))
        for index in range(count)
    ]
