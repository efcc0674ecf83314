"""Run retention for the stack: which finished runs a purge may delete (`policy`) and the purge
itself, runs with their event logs and compute logs (`purge`). The fanout location's
`retention_purge_job` runs it on a schedule."""

from stack_retention.policy import TERMINAL_STATUSES, RetentionPolicy, RunSummary, runs_to_purge
from stack_retention.purge import PurgeReport, purge_runs

__all__ = ["TERMINAL_STATUSES", "PurgeReport", "RetentionPolicy", "RunSummary", "purge_runs", "runs_to_purge"]
