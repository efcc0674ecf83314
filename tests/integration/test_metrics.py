"""Metrics on the live stack: the `metrics` service serves the stack's families, and the
optional `monitoring` profile's Prometheus scrapes it and fires the run-failure alert when a
run fails. Neither port is published, so both are reached from inside their containers."""

import json
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import docker
import docker.errors
import pytest

from tests.integration.stack import Stack

pytestmark = pytest.mark.docker

MONITORING = ("--profile", "monitoring")
# Runs inside the container (its base image has python3): GET a local URL, print the body.
_FETCH = "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())"
# A config the fanout job accepts at submission and fails on in its first step.
FAILING_CONFIG = {"ops": {"input_records": {"config": {"record_count": -1}}}}


def _fetch(stack: Stack, service: str, url: str) -> str:
    return stack.compose(*MONITORING, "exec", "-T", service, "python3", "-c", _FETCH, url, timeout=60)


def _prometheus_api(stack: Stack, path: str) -> Any:
    body = json.loads(_fetch(stack, "prometheus", f"http://127.0.0.1:9090/api/v1/{path}"))
    assert body["status"] == "success", body
    return body["data"]


def _wait(what: str, check: Any, timeout: float, interval: float = 2.0) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout:.0f} s (last: {last!r})")


@pytest.fixture(scope="module")
def prometheus(stack: Stack) -> Iterator[None]:
    started = time.monotonic()
    stack.compose(
        *MONITORING, "up", "--detach", "--build", "--wait", "--wait-timeout", "180", "prometheus",
        timeout=900,
    )
    print(f"\n[metrics] prometheus (profile monitoring) healthy in {time.monotonic() - started:.1f} s")
    try:
        yield
    finally:
        # The stack's teardown does not build or tag this image: remove the container, its
        # volume and this stack's tag of the image here (by tag: the same image may carry
        # another stack's tag too).
        stack.compose(*MONITORING, "rm", "--stop", "--force", "--volumes", "prometheus", check=False)
        client = docker.from_env()
        try:
            client.volumes.get(f"{stack.name}-prometheus-data").remove(force=True)
        except docker.errors.NotFound:
            pass
        try:
            client.images.remove(f"{stack.name}/prometheus:dev")
        except docker.errors.NotFound:
            pass

def test_the_metrics_service_serves_the_stack_families(stack: Stack) -> None:
    text = _fetch(stack, "metrics", "http://127.0.0.1:9464/metrics")
    assert "stack_metrics_database_up 1.0" in text, text[-2000:]
    for family in (
        "# TYPE dagster_runs gauge",
        "# TYPE dagster_run_queue_depth gauge",
        "# TYPE dagster_run_queue_oldest_age_seconds gauge",
        "# TYPE dagster_run_duration_seconds histogram",
        "# TYPE dagster_daemon_heartbeat_age_seconds gauge",
        "# TYPE dagster_run_cpu_seconds gauge",
        "# TYPE fanout_report_units_per_second gauge",
    ):
        assert family in text, family
    # The daemon is live, so each of its heartbeats is recent.
    ages = [
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("dagster_daemon_heartbeat_age_seconds{")
    ]
    assert ages and max(ages) < 300, ages


def test_prometheus_scrapes_metrics_and_a_failed_run_fires_the_alert(
    stack: Stack, prometheus: None
) -> None:
    def target_up() -> list[dict[str, Any]]:
        targets = _prometheus_api(stack, "targets")["activeTargets"]
        return [t for t in targets if t["labels"]["job"] == "stack-metrics" and t["health"] == "up"]

    (target,) = _wait("metrics target up", target_up, timeout=90)
    assert target["scrapeUrl"] == "http://metrics:9464/metrics", target
    rules = {rule["name"] for group in _prometheus_api(stack, "rules")["groups"] for rule in group["rules"]}
    assert {"DagsterRunFailed", "DagsterQueueBacklog", "DagsterDaemonStale"} <= rules, rules

    # The failure count needs samples from before the failure for delta() to see a change.
    def baseline() -> bool:
        query = "count_over_time(stack:dagster_runs_failed:sum[5m])"
        result = _prometheus_api(stack, f"query?query={query}")["result"]
        return bool(result) and float(result[0]["value"][1]) >= 2

    _wait("failed-runs series sampled twice", baseline, timeout=60)

    launched = time.time()
    run_id = stack.launch("fanout_job", FAILING_CONFIG, tags={"dagster/max_retries": "0"})
    assert stack.wait_for_run(run_id, timeout=180) == "FAILURE"
    failed = time.monotonic()

    def firing() -> list[dict[str, Any]]:
        alerts = _prometheus_api(stack, "alerts")["alerts"]
        return [a for a in alerts if a["labels"]["alertname"] == "DagsterRunFailed" and a["state"] == "firing"]

    (alert,) = _wait("DagsterRunFailed firing", firing, timeout=90, interval=1.0)
    active_at = datetime.fromisoformat(alert["activeAt"].replace("Z", "+00:00")).timestamp()
    # Fired by this failure, not by one from before the test.
    assert active_at >= launched - 1, (alert, launched)
    print(
        f"\n[metrics] run {run_id} FAILURE seen -> DagsterRunFailed firing in "
        f"{time.monotonic() - failed:.1f} s (scrape and rule interval 5 s)"
    )
