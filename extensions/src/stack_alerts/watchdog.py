"""The daemon watchdog: polls the daemon's heartbeats in Postgres (psycopg2 only, like the
daemon's health check) and posts to the alert webhook once when they go stale and once when
they are fresh again. It runs as its own service because sensors run inside the daemon.

Settings (environment): STACK_WATCHDOG_TOLERANCE_SECONDS (a heartbeat older than this is
stale), STACK_WATCHDOG_INTERVAL_SECONDS (time between checks), STACK_ALERT_WEBHOOK_FILE (the
secret file holding the webhook URL). Usage: python -m stack_alerts.watchdog; its health
check: python -m stack_alerts.watchdog --healthy MAX_SECONDS_SINCE_LAST_CHECK"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stack_alerts.episodes import EpisodeStep, next_episode
from stack_alerts.message import daemon_recovered_message, daemon_stale_message
from stack_alerts.webhook import post_json
from stack_alerts.webhook_file import DEFAULT_WEBHOOK_FILE, read_webhook_url

# Above the longest gap between two heartbeats of a healthy daemon thread (the scheduler's
# is the longest; docs/alerts.md has the figures), below the health check's tolerance.
DEFAULT_TOLERANCE_S = 180.0
DEFAULT_INTERVAL_S = 15.0
# Touched after every check; the service's health check reads its age (`--healthy`).
ALIVE_FILE = Path("/tmp/watchdog.alive")


@dataclass(frozen=True)
class HeartbeatReading:
    total: int
    stale: int

    @property
    def live(self) -> bool:
        return self.total > 0 and self.stale == 0


def watchdog_step(
    active: bool, reading: HeartbeatReading, stack: str, tolerance_s: float
) -> tuple[EpisodeStep, dict[str, Any] | None]:
    """The next episode state and the message to post, if any."""
    step = next_episode(active, not reading.live)
    if step.alert:
        reason = (
            "no heartbeat at all" if reading.total == 0
            else f"{reading.stale} daemon heartbeat(s) older than {tolerance_s:g} s"
        )  # fmt: skip
        return step, daemon_stale_message(stack, reading.stale, reading.total, tolerance_s, reason)
    if step.recovered:
        return step, daemon_recovered_message(stack, reading.total)
    return step, None


def _float_setting(name: str, default: float) -> float:
    return float(os.environ.get(name, "").strip() or default)


def main() -> int:
    # Imported here: psycopg2 and the probe are the service's I/O, not the pure logic above.
    import psycopg2
    from stack_probes.daemon_heartbeats import stale_heartbeats

    tolerance_s = _float_setting("STACK_WATCHDOG_TOLERANCE_SECONDS", DEFAULT_TOLERANCE_S)
    interval_s = _float_setting("STACK_WATCHDOG_INTERVAL_SECONDS", DEFAULT_INTERVAL_S)
    webhook_file = Path(os.environ.get("STACK_ALERT_WEBHOOK_FILE", "").strip() or DEFAULT_WEBHOOK_FILE)
    stack = os.environ.get("STACK_NAME", "") or "(unnamed)"
    print(f"watchdog: daemon heartbeats of stack {stack} every {interval_s:g} s, stale after {tolerance_s:g} s", flush=True)
    active = False
    while True:
        ALIVE_FILE.touch()
        try:
            total, stale = stale_heartbeats(tolerance_s)
        except psycopg2.Error as error:
            # Postgres itself is down: its own health check reports that; no verdict here.
            print(f"watchdog: cannot read daemon heartbeats: {str(error).strip()}", flush=True)
            time.sleep(interval_s)
            continue
        step, message = watchdog_step(active, HeartbeatReading(total, stale), stack, tolerance_s)
        if message is not None:
            setting = read_webhook_url(webhook_file)
            if setting.url is None:
                print(f"watchdog: {message['text']}; not sent: {setting.reason}", flush=True)
            else:
                delivery = post_json(setting.url, message)
                outcome = "sent" if delivery.delivered else f"NOT delivered ({delivery.error})"
                print(f"watchdog: {message['text']}; {outcome} after {delivery.attempts} attempt(s)", flush=True)
                if not delivery.delivered:
                    # Not recorded as alerted: the next check tries again.
                    time.sleep(interval_s)
                    continue
        active = step.active
        time.sleep(interval_s)


def healthy(max_age_s: float) -> int:
    """Exit status of the service's health check: 0 while the loop has checked recently."""
    try:
        age = time.time() - ALIVE_FILE.stat().st_mtime
    except FileNotFoundError:
        print("watchdog has not checked yet")
        return 1
    print(f"last check {age:.0f} s ago")
    return 0 if age <= max_age_s else 1


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--healthy":
        sys.exit(healthy(float(sys.argv[2])))
    sys.exit(main())
