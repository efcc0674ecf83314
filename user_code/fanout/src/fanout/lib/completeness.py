"""Did every input record come back with a result? Compared by record id."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Completeness:
    expected: int
    received: int
    missing: list[str]  # input ids without a result
    unexpected: list[str]  # result ids that were not in the input
    duplicated: list[str]  # ids with more than one result

    @property
    def complete(self) -> bool:
        return not self.missing

    def describe(self, shown: int = 10) -> str:
        if self.complete:
            return f"all {self.expected} records have a result"
        listed = ", ".join(repr(i) for i in self.missing[:shown])
        more = f" and {len(self.missing) - shown} more" if len(self.missing) > shown else ""
        return f"{len(self.missing)} of {self.expected} records have no result: {listed}{more}"


def check_completeness(expected_ids: Iterable[str], result_ids: Iterable[str]) -> Completeness:
    expected = list(expected_ids)
    received = list(result_ids)
    expected_set, received_set = set(expected), set(received)
    return Completeness(
        expected=len(expected),
        received=len(received),
        missing=[i for i in expected if i not in received_set],
        unexpected=sorted(received_set - expected_set),
        duplicated=sorted(i for i, n in Counter(received).items() if n > 1),
    )
