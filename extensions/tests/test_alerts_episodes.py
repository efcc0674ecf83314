"""The alerts' pure parts: once-per-episode decisions, the time-limit, queue and daemon
messages, the webhook URL from its secret file, and the watchdog's step."""

import json
from pathlib import Path

import pytest
from stack_alerts import (
    alert_error_text,
    failed_run_message,
    next_episode,
    queue_wait_message,
    read_webhook_url,
    runtime_limit_exceeded,
)
from stack_alerts.watchdog import HeartbeatReading, watchdog_step

TIMEOUT = "Exceeded maximum runtime of 5 seconds."


def test_an_episode_alerts_once_and_rearms_after_it_clears() -> None:
    active, alerts, recoveries = False, 0, 0
    for condition in [False, True, True, True, False, False, True]:
        step = next_episode(active, condition)
        alerts += step.alert
        recoveries += step.recovered
        active = step.active
    assert (alerts, recoveries, active) == (2, 1, True)


def test_the_time_limit_message_is_recognized_and_named_in_the_alert() -> None:
    assert runtime_limit_exceeded(TIMEOUT) == 5
    assert runtime_limit_exceeded("ValueError: boom") is None
    message = failed_run_message("hang_job", "fanout", "r1", "http://ui/runs/r1", ["sleep_forever"], TIMEOUT)
    assert message["text"].startswith("Run timed out: hang_job in fanout exceeded its time limit of 5 s")
    assert TIMEOUT in json.dumps(message)


def test_the_alert_quotes_the_time_limit_over_the_interrupted_steps_error() -> None:
    interrupted = ["DagsterExecutionInterruptedError: Execution was interrupted"]
    assert alert_error_text(TIMEOUT, interrupted) == TIMEOUT
    assert alert_error_text("Steps failed: ['a']", ["ValueError: bad"]) == "ValueError: bad"
    assert alert_error_text("Run worker died", []) == "Run worker died"


def test_the_queue_message_names_the_wait_threshold_and_oldest_run() -> None:
    text = json.dumps(queue_wait_message("r9", "fanout_job", 125.4, 60, 3, "http://ui/runs"))
    for part in ("125 s", "60 s", "fanout_job", "r9", "http://ui/runs", "3"):
        assert part in text


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "does not exist"),
        ("", "holds no http(s):// URL"),
        ("Zq8-random-token-the-deployer-wrote", "holds no http(s):// URL"),
    ],
)
def test_no_url_in_the_file_means_not_configured_with_the_reason(
    tmp_path: Path, content: str | None, reason: str
) -> None:
    path = tmp_path / "alert_webhook_url"
    if content is not None:
        path.write_text(content)
    setting = read_webhook_url(path)
    assert setting.url is None and reason in setting.reason and str(path) in setting.reason


def test_the_url_is_read_stripped(tmp_path: Path) -> None:
    path = tmp_path / "alert_webhook_url"
    path.write_text("https://hooks.example/T0/B0/x\n")
    assert read_webhook_url(path).url == "https://hooks.example/T0/B0/x"


def test_the_watchdog_alerts_once_when_stale_and_once_when_live_again() -> None:
    live, stale, gone = HeartbeatReading(6, 0), HeartbeatReading(6, 6), HeartbeatReading(0, 0)
    active, texts = False, []
    for reading in [live, stale, stale, gone, live, live]:
        step, message = watchdog_step(active, reading, "prod", 120)
        active = step.active
        if message:
            texts.append(message["text"])
    assert len(texts) == 2
    assert texts[0].startswith("Dagster daemon of stack prod is not live: 6 daemon heartbeat(s) older than 120 s")
    assert texts[1].startswith("Dagster daemon of stack prod is live again")
    _, message = watchdog_step(False, gone, "prod", 120)
    assert message is not None and "no heartbeat at all" in message["text"]
