"""Delivery of a JSON payload to a webhook: retried with back-off on connection errors, 5xx
and 429 answers; never raises, so a sensor that sends an alert does not fail for good because
the receiver is down. The caller logs the outcome."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Delivery:
    delivered: bool
    attempts: int
    error: str | None = None


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def post_json(
    url: str,
    payload: dict[str, Any],
    attempts: int = 3,
    backoff_s: float = 1.0,
    timeout_s: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    body = json.dumps(payload).encode()
    error = "no attempt made"
    for attempt in range(1, attempts + 1):
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                return Delivery(True, attempt, None) if response.status < 300 else Delivery(
                    False, attempt, f"HTTP {response.status}"
                )
        except urllib.error.HTTPError as answer:
            error = f"HTTP {answer.code} from {url}"
            if not _retryable(answer.code):
                return Delivery(False, attempt, error)
        except (urllib.error.URLError, OSError) as failure:
            reason = getattr(failure, "reason", failure)
            error = f"{type(failure).__name__} posting to {url}: {reason}"
        if attempt < attempts:
            sleep(backoff_s * 2 ** (attempt - 1))
    return Delivery(False, attempts, error)
