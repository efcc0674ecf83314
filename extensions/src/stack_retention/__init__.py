"""Run retention for the stack: which finished runs a purge may delete (`policy`). Groundwork
for issue 16's scheduled purge; the purge job that applies it is not built yet."""

from stack_retention.policy import TERMINAL_STATUSES, RetentionPolicy, RunSummary, runs_to_purge

__all__ = ["TERMINAL_STATUSES", "RetentionPolicy", "RunSummary", "runs_to_purge"]
