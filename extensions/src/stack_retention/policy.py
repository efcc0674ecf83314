"""Which runs a retention purge may delete: finished runs older than the age limit, except the
last N of each job whatever their age. A run that is queued, starting, running or canceling is
never chosen, so a purge cannot pull a run from under the daemon or a run worker."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

# Dagster's terminal run statuses, by name (this module stays free of Dagster imports).
TERMINAL_STATUSES = frozenset({"SUCCESS", "FAILURE", "CANCELED"})
_DAY_S = 86400.0


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    job_name: str
    status: str
    # When the run finished (or, if that was never recorded, was created): epoch seconds.
    finished_at: float


@dataclass(frozen=True)
class RetentionPolicy:
    max_age_days: float
    keep_last_per_job: int

    def __post_init__(self) -> None:
        if not self.max_age_days > 0:
            raise ValueError(f"retention: max_age_days must be above 0, got {self.max_age_days}")
        if self.keep_last_per_job < 0:
            raise ValueError(
                f"retention: keep_last_per_job must be 0 or more, got {self.keep_last_per_job}"
            )


def runs_to_purge(runs: Iterable[RunSummary], policy: RetentionPolicy, now: float) -> list[str]:
    """The ids of the runs to delete, oldest first."""
    by_job: dict[str, list[RunSummary]] = defaultdict(list)
    for run in runs:
        if run.status in TERMINAL_STATUSES:
            by_job[run.job_name].append(run)
    cutoff = now - policy.max_age_days * _DAY_S
    chosen: list[RunSummary] = []
    for job_runs in by_job.values():
        newest_first = sorted(job_runs, key=lambda r: r.finished_at, reverse=True)
        chosen += [r for r in newest_first[policy.keep_last_per_job :] if r.finished_at < cutoff]
    return [r.run_id for r in sorted(chosen, key=lambda r: r.finished_at)]
