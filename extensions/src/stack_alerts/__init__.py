"""Alerts for the stack (issue 16 groundwork): the Slack-compatible message of a failed run
(`message`) and its delivery to a webhook with retries (`webhook`). The instance-wide sensor
that sends them is not built yet."""

from stack_alerts.message import failed_run_message, first_line
from stack_alerts.webhook import Delivery, post_json

__all__ = ["Delivery", "failed_run_message", "first_line", "post_json"]
