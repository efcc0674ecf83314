"""The message of a failed run, in the JSON a Slack incoming webhook (and the many receivers
compatible with it) accepts: a plain `text` for notifications, and `blocks` for the layout."""

from __future__ import annotations

from typing import Any

# Slack truncates a section's text at 3000 characters; the list of steps stays well below.
MAX_STEPS_LISTED = 10


def first_line(error: str | None) -> str:
    """The first non-blank line of an error, or a placeholder when there is none."""
    for line in (error or "").splitlines():
        if line.strip():
            return line.strip()
    return "(no error message)"


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
    headline = f"Run failed: {job} in {location}"
    detail = f"*Failed steps:* {steps}\n*Error:* {first_line(error)}"
    return {
        "text": f"{headline} (run {run_id}): {first_line(error)}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{headline}*"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": detail}},
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"<{run_url}|run {run_id}>"}],
            },
        ],
    }
