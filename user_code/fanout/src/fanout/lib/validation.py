"""Validation of raw records input (parsed JSON) into Records, reporting every problem at once."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from fanout.lib.records import MAX_UNITS, MIN_UNITS, Record

DEFAULT_MAX_RECORDS = 500


@dataclass(frozen=True)
class RecordProblem:
    """One reason a record (or the input as a whole) was refused."""

    record: str  # human label: "record #3 (id 'abc')", or "input" for whole-input problems
    reason: str

    def __str__(self) -> str:
        return f"{self.record}: {self.reason}"


class RecordValidationError(ValueError):
    """Raised when records input is refused; `problems` lists all of them, not just the first."""

    def __init__(self, problems: list[RecordProblem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"records input refused ({len(problems)} problem(s)):\n{lines}")


def _label(index: int, raw: Any) -> str:
    if isinstance(raw, dict) and isinstance(raw.get("id"), str) and raw["id"]:
        return f"record #{index} (id {raw['id']!r})"
    return f"record #{index}"


def _record_problems(index: int, raw: Any) -> list[RecordProblem]:
    label = _label(index, raw)
    if not isinstance(raw, dict):
        return [RecordProblem(label, f"must be an object with 'id' and 'units', got {type(raw).__name__}")]
    problems = []
    record_id = raw.get("id")
    if record_id is None or record_id == "":
        problems.append(RecordProblem(label, "missing id"))
    elif not isinstance(record_id, str):
        problems.append(RecordProblem(label, f"id must be a string, got {type(record_id).__name__}"))
    units = raw.get("units")
    # bool is a subclass of int, but `true` as a unit count is a data error, not 1.
    if units is None:
        problems.append(RecordProblem(label, "missing units"))
    elif isinstance(units, bool) or not isinstance(units, int):
        problems.append(RecordProblem(label, f"units must be an integer, got {units!r}"))
    elif not MIN_UNITS <= units <= MAX_UNITS:
        problems.append(RecordProblem(label, f"units must be in {MIN_UNITS}..{MAX_UNITS}, got {units}"))
    return problems


def validate_records(raw: Any, max_records: int = DEFAULT_MAX_RECORDS) -> list[Record]:
    """Turn parsed input into Records or raise RecordValidationError listing all problems.

    Accepts a list of {"id": str, "units": int} objects, or an object {"records": [...]}.
    """
    if isinstance(raw, dict) and "records" in raw:
        raw = raw["records"]
    if not isinstance(raw, list):
        raise RecordValidationError(
            [RecordProblem("input", f"must be a list of records, got {type(raw).__name__}")]
        )
    if not raw:
        raise RecordValidationError([RecordProblem("input", "no records (empty list)")])

    problems: list[RecordProblem] = []
    if len(raw) > max_records:
        problems.append(
            RecordProblem("input", f"{len(raw)} records exceed the maximum of {max_records}")
        )
    for index, item in enumerate(raw):
        problems.extend(_record_problems(index, item))

    ids = [item.get("id") for item in raw if isinstance(item, dict) and isinstance(item.get("id"), str)]
    counts = Counter(record_id for record_id in ids if record_id)
    for index, item in enumerate(raw):
        record_id = item.get("id") if isinstance(item, dict) else None
        if isinstance(record_id, str) and counts.get(record_id, 0) > 1:
            problems.append(
                RecordProblem(_label(index, item), f"duplicate id (appears {counts[record_id]} times)")
            )

    if problems:
        raise RecordValidationError(problems)
    return [Record(id=item["id"], units=item["units"]) for item in raw]


def validate_generated(records: list[Record], max_records: int = DEFAULT_MAX_RECORDS) -> list[Record]:
    """Apply the same rules to generated records so both sources obey one contract."""
    return validate_records([{"id": r.id, "units": r.units} for r in records], max_records)
