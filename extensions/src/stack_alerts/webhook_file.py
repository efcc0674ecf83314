"""The webhook URL comes from a secret file, never from the environment: an incoming-webhook
URL is a credential. An absent, empty or non-URL file means alerts are not configured (the
deployer fills a missing location secret with a random token, which is not a URL)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Where a code server of the location that holds the platform's definitions, and the
# watchdog service, see the file $STACK_SECRETS_DIR/<location>/alert_webhook_url.
DEFAULT_WEBHOOK_FILE = Path("/run/secrets/alert_webhook_url")


@dataclass(frozen=True)
class WebhookSetting:
    url: str | None
    # Why there is no URL, for the skip message.
    reason: str = ""


def read_webhook_url(path: Path = DEFAULT_WEBHOOK_FILE) -> WebhookSetting:
    try:
        value = path.read_text().strip()
    except FileNotFoundError:
        return WebhookSetting(None, f"no webhook configured: {path} does not exist")
    except OSError as error:
        return WebhookSetting(None, f"no webhook configured: cannot read {path}: {error.strerror}")
    if not value.startswith(("http://", "https://")):
        return WebhookSetting(
            None, f"no webhook configured: {path} holds no http(s):// URL (put the webhook URL in it)"
        )
    return WebhookSetting(value)
