"""Alerts for the stack: the Slack-compatible messages (`message`), their delivery to a webhook
with retries (`webhook`), the webhook URL from a secret file (`webhook_file`), once-per-episode
decisions (`episodes`) and the daemon watchdog (`watchdog`, a service of its own: sensors run
inside the daemon, so they cannot report the daemon's own death)."""

from stack_alerts.episodes import EpisodeStep, next_episode
from stack_alerts.message import (
    alert_error_text,
    daemon_recovered_message,
    daemon_stale_message,
    failed_run_message,
    first_line,
    queue_wait_message,
    runtime_limit_exceeded,
)
from stack_alerts.webhook import Delivery, post_json
from stack_alerts.webhook_file import DEFAULT_WEBHOOK_FILE, WebhookSetting, read_webhook_url

__all__ = [
    "alert_error_text",
    "DEFAULT_WEBHOOK_FILE",
    "Delivery",
    "EpisodeStep",
    "WebhookSetting",
    "daemon_recovered_message",
    "daemon_stale_message",
    "failed_run_message",
    "first_line",
    "next_episode",
    "post_json",
    "queue_wait_message",
    "read_webhook_url",
    "runtime_limit_exceeded",
]
