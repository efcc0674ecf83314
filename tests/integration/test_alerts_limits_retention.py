"""Alerts, run time limits and retention on the live stack, with a real webhook receiver on
the stack's network: a failed run is posted with its error and link; a run over its
`dagster/max_runtime` is FAILED by run monitoring, not retried, and posted as timed out; a
stuck queue is posted once; a stopped daemon is posted by the watchdog; and the purge deletes
old runs while the UI keeps working. Prints the measured delays."""

import time
from collections.abc import Iterator

import pytest
import requests
from dagster_graphql import DagsterGraphQLClientError

from tests.integration.alert_receiver import Receiver, start_receiver
from stack_testing.dagster_api import FINISHED

from tests.integration.stack import Stack

# The test stack's settings for these (tests/integration/conftest.py).
QUEUE_AGE_S = 20
WATCHDOG_TOLERANCE_S = 90
SENSOR_INTERVAL_S = 5


def _set_webhook(stack: Stack, value: str) -> None:
    path = stack.secrets_dir / "fanout" / "alert_webhook_url"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(value)
    # Installs the location's secret files; the serving version stays (no rebuild).
    stack.stackctl("deploy", "fanout")


@pytest.fixture(scope="module")
def receiver(stack: Stack) -> Iterator[Receiver]:
    started = start_receiver(stack)
    _set_webhook(stack, started.url)
    try:
        yield started
    finally:
        _set_webhook(stack, "not configured: the alert tests have ended")
        started.stop()


def _wait_for_failure(stack: Stack, run_id: str, timeout: float) -> None:
    """Until the run is FAILURE. A run stopped for its time limit is CANCELED for a moment
    first: its worker reports the cancel, then run monitoring reports the failure."""
    deadline = time.monotonic() + timeout
    status = stack.wait_for_run(run_id, timeout=timeout)
    while status != "FAILURE" and time.monotonic() < deadline:
        time.sleep(0.5)
        status = stack.client.get_run_status(run_id).value
    assert status == "FAILURE", status


def _stop(stack: Stack, run_id: str, timeout: float = 180) -> None:
    """Terminates the run once it can be (a STARTING run cannot) and waits for its end."""
    deadline = time.monotonic() + timeout
    while stack.client.get_run_status(run_id).value not in FINISHED:
        assert time.monotonic() < deadline, f"run {run_id} still not finished"
        try:
            stack.client.terminate_run(run_id)
        except DagsterGraphQLClientError:
            pass
        time.sleep(2)


def _event_time(stack: Stack, run_id: str, typename: str) -> float:
    return next(t for kind, t, _ in stack.event_times(run_id) if kind == typename)


def _get(stack: Stack, path: str) -> requests.Response:
    # Through the stack's own session where it has one (a front door with a login).
    session = stack.session() if hasattr(stack, "session") else requests
    return session.get(f"{stack.base_url}{path}", timeout=60)


def test_a_failed_run_is_posted_with_its_error_and_link(stack: Stack, receiver: Receiver) -> None:
    run_id = stack.launch("fail_job")
    assert stack.wait_for_run(run_id, timeout=180) == "FAILURE"
    alert = receiver.wait_for(run_id, timeout=90)
    failed_at = _event_time(stack, run_id, "RunFailureEvent")
    text = str(alert["body"])
    for part in ("Run failed: fail_job in fanout", "raise_error",
                 "ValueError: fail_job failed on purpose", f"/runs/{run_id}"):  # fmt: skip
        assert part in text, text
    assert "Traceback" not in text
    print(f"\n[alerts] run failure -> webhook delivery: {alert['received_at'] - failed_at:.1f} s")


def test_a_run_over_its_time_limit_fails_once_and_is_posted_as_timed_out(
    stack: Stack, receiver: Receiver
) -> None:
    run_id = stack.launch("hang_job", tags={"dagster/max_runtime": "5"})
    _wait_for_failure(stack, run_id, timeout=180)
    assert "Exceeded maximum runtime of 5 seconds." in stack.failure_messages(run_id)
    tags = stack.run_tags(run_id)
    assert tags.get("dagster/max_retries") == "0", tags
    assert tags.get("dagster/will_retry") == "false", tags
    assert tags.get("dagster-fanout/failure-cause") == "timeout", tags
    alert = receiver.wait_for(run_id, timeout=90)
    assert "Run timed out: hang_job in fanout exceeded its time limit of 5 s" in alert["body"]["text"]
    started_at = _event_time(stack, run_id, "RunStartEvent")
    failed_at = _event_time(stack, run_id, "RunFailureEvent")
    # The retry daemon would have acted within a few of its intervals.
    time.sleep(20)
    assert stack.retries_of(run_id) == []
    print(
        f"\n[limits] limit reached -> FAILURE: {failed_at - (started_at + 5):.1f} s; "
        f"FAILURE -> webhook: {alert['received_at'] - failed_at:.1f} s; no retry run"
    )


def test_a_stuck_queue_is_posted_once_per_episode(stack: Stack, receiver: Receiver) -> None:
    # Two heavy runs: the queue allows one at a time, so the second waits.
    heavy = {"fanout/size": "heavy", "dagster/max_runtime": "120"}
    first = stack.launch("hang_job", tags=heavy)
    second = stack.launch("hang_job", tags=heavy)
    try:
        alert = receiver.wait_for("Run queue stuck", timeout=QUEUE_AGE_S + 60)
        assert second in alert["body"]["text"] or first in alert["body"]["text"]
        time.sleep(3 * SENSOR_INTERVAL_S)
        stuck = [m for m in receiver.received() if "Run queue stuck" in m["body"]["text"]]
        assert len(stuck) == 1, [m["body"]["text"] for m in stuck]
    finally:
        for run_id in (second, first):
            _stop(stack, run_id)


def test_a_stopped_daemon_is_posted_by_the_watchdog(stack: Stack, receiver: Receiver) -> None:
    health = stack.service_container("watchdog").attrs["State"]["Health"]["Status"]
    assert health == "healthy", health
    stack.compose("stop", "daemon")
    stopped_at = time.time()
    try:
        alert = receiver.wait_for("is not live", timeout=WATCHDOG_TOLERANCE_S + 90, since=stopped_at)
    finally:
        stack.compose("start", "daemon")
    back = receiver.wait_for("is live again", timeout=120, since=alert["received_at"])
    print(
        f"\n[alerts] daemon stopped -> watchdog alert: {alert['received_at'] - stopped_at:.1f} s "
        f"(tolerance {WATCHDOG_TOLERANCE_S} s); live again posted "
        f"{back['received_at'] - alert['received_at']:.1f} s later"
    )
    stale = [
        m for m in receiver.received()
        if "is not live" in m["body"]["text"] and m["received_at"] > stopped_at
    ]  # fmt: skip
    assert len(stale) == 1, [m["body"]["text"] for m in stale]


def test_the_purge_deletes_old_runs_and_the_ui_still_loads(stack: Stack, receiver: Receiver) -> None:
    finished = stack.runs({"statuses": ["SUCCESS", "FAILURE", "CANCELED"]}, limit=1000)
    assert len(finished) >= 3
    # Every finished run older than about 9 s goes, except the newest of each job.
    config = {"ops": {"purge_old_runs": {"config": {"max_age_days": 0.0001, "keep_last_per_job": 1}}}}
    time.sleep(10)
    run_id = stack.launch("retention_purge_job", config)
    assert stack.wait_for_run(run_id, timeout=180) == "SUCCESS", stack.failure_messages(run_id)
    summary = next(m for _, _, m in stack.event_times(run_id) if m.startswith("retention ("))
    after = stack.runs({"statuses": ["SUCCESS", "FAILURE", "CANCELED"]}, limit=1000)
    kept = {run["runId"] for run in after}
    deleted = [run["runId"] for run in finished if run["runId"] not in kept]
    # Of the runs finished before the purge, at most the newest of each job is left (runs
    # finished since, e.g. of the test stack's every-minute schedule, are younger).
    left = [run["jobName"] for run in finished if run["runId"] in kept]
    print(f"\n[retention] live stack: finished runs before {len(finished)}, after {len(after)} "
          f"(the purge's own run and runs finished since included); {summary[:300]}")  # fmt: skip
    assert deleted and len(left) == len(set(left)), left
    for gone in deleted[:3]:
        assert gone in summary
        exists = stack.service_container("webserver").exec_run(
            ["test", "-e", f"/opt/dagster/compute_logs/{gone}"]
        )
        assert exists.exit_code != 0, f"compute logs of {gone} are still there"
        found = stack.graphql(
            "query ($id: ID!) { runOrError(runId: $id) { __typename } }", {"id": gone}
        )
        assert found["runOrError"]["__typename"] == "RunNotFoundError"
    for path in ("/", "/runs", f"/runs/{run_id}", "/overview/activity"):
        response = _get(stack, path)
        assert response.status_code == 200, path
    assert stack.runs(limit=5)
