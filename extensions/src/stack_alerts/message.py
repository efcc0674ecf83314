"""The alert messages, in the JSON a Slack incoming webhook (and the many receivers compatible
with it) accepts: a plain `text` for notifications, and `blocks` for the layout."""

from __future__ import annotations

import re
from typing import Any

# Slack truncates a section's text at 3000 characters; the list of steps stays well below.
MAX_STEPS_LISTED = 10

# The failure message Dagster's run monitoring stores for a run over its time limit
# (dagster/_daemon/monitoring/run_monitoring.py, check_run_timeout).
_RUNTIME_EXCEEDED = re.compile(r"Exceeded maximum runtime of (\d+) seconds")


def first_line(error: str | None) -> str:
    """The first non-blank line of an error, or a placeholder when there is none."""
    for line in (error or "").splitlines():
        if line.strip():
            return line.strip()
    return "(no error message)"


def runtime_limit_exceeded(message: str | None) -> int | None:
    """The limit in seconds when `message` is run monitoring's time-limit failure, else None."""
    found = _RUNTIME_EXCEEDED.search(message or "")
    return int(found.group(1)) if found else None


def alert_error_text(run_failure_message: str | None, step_errors: list[str]) -> str | None:
    """What a failed run's alert quotes: run monitoring's time-limit message when that is why
    the run failed (the errors of the steps it interrupted would hide the cause), else the
    first failed step's error, else the run's failure message."""
    if runtime_limit_exceeded(run_failure_message) is not None:
        return run_failure_message
    return step_errors[0] if step_errors else run_failure_message


def _sections(headline: str, detail: str, context: str) -> list[dict[str, Any]]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{headline}*"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": detail}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
    ]


def failed_run_message(
    job: str,
    location: str,
    run_id: str,
    run_url: str,
    failed_steps: list[str],
    error: str | None,
) -> dict[str, Any]:
    steps = ", ".join(failed_steps[:MAX_STEPS_LISTED]) or "(none: the run failed outside a step)"
    if len(failed_steps) > MAX_STEPS_LISTED:
        steps += f" and {len(failed_steps) - MAX_STEPS_LISTED} more"
    limit = runtime_limit_exceeded(error)
    if limit is not None:
        headline = f"Run timed out: {job} in {location} exceeded its time limit of {limit} s"
    else:
        headline = f"Run failed: {job} in {location}"
    detail = f"*Failed steps:* {steps}\n*Error:* {first_line(error)}"
    return {
        "text": f"{headline} (run {run_id}): {first_line(error)}",
        "blocks": _sections(headline, detail, f"<{run_url}|run {run_id}>"),
    }


def queue_wait_message(
    run_id: str, job: str, waited_s: float, threshold_s: float, queued: int, runs_url: str
) -> dict[str, Any]:
    headline = f"Run queue stuck: the oldest queued run has waited {waited_s:.0f} s"
    detail = (
        f"*Oldest queued run:* {job} (run {run_id})\n*Queued runs:* {queued}\n"
        f"*Threshold:* {threshold_s:g} s"
    )
    return {
        "text": f"{headline} (threshold {threshold_s:g} s; {queued} queued; oldest {job}, run {run_id})",
        "blocks": _sections(headline, detail, f"<{runs_url}|queued runs>"),
    }


def daemon_stale_message(stack: str, stale: int, total: int, tolerance_s: float, reason: str) -> dict[str, Any]:
    headline = f"Dagster daemon of stack {stack} is not live"
    detail = (
        f"*Heartbeats older than {tolerance_s:g} s:* {stale} of {total}\n*Detail:* {reason}\n"
        "Schedules, sensors, the run queue, run monitoring and retries are not running."
    )
    return {
        "text": f"{headline}: {reason}",
        "blocks": _sections(headline, detail, "watchdog"),
    }


def daemon_recovered_message(stack: str, total: int) -> dict[str, Any]:
    text = f"Dagster daemon of stack {stack} is live again ({total} fresh heartbeats)"
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}
