"""Helpers of the fault suite: when a run container died, when its run was failed."""

import time
from datetime import datetime
from typing import Any

from stack_testing.dagster_api import FINISHED

from tests.integration.stack import Stack

TRIVIAL = {"ops": {"plan_chunk_steps": {"config": {"chunk_count": 1, "chunk_seconds": 0.0}}}}
LONG = {"ops": {"plan_chunk_steps": {"config": {"chunk_count": 1, "chunk_seconds": 60.0}}}}
# The bound: a dead run container's run is FAILURE within this many seconds.
DETECTION_LIMIT_S = 15.0


def docker_time(text: str) -> float:
    """Docker's RFC 3339 timestamps carry nanoseconds; Python parses microseconds."""
    head, _, fraction = text.rstrip("Z").partition(".")
    stamp = f"{head}.{(fraction + '000000')[:6]}+00:00"
    return datetime.fromisoformat(stamp).timestamp()


def wait_for_container(stack: Stack, run_id: str, timeout: float = 120) -> Any:
    """The run's container once Docker has started it (or it has already died)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        containers = stack.run_containers(run_id)
        if containers and containers[0].status != "created":
            return containers[0]
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} got no running container within {timeout:.0f} s")


def wait_for_status(stack: Stack, run_id: str, wanted: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    status = "UNKNOWN"
    while time.monotonic() < deadline:
        status = stack.client.get_run_status(run_id).value
        if status == wanted:
            return
        assert status not in FINISHED, f"run {run_id} ended {status} while waiting for {wanted}"
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} still {status} after {timeout:.0f} s, wanted {wanted}")


def wait_until_exited(container: Any, timeout: float = 60) -> float:
    """The container's death time (Unix seconds, Docker's clock)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        container.reload()
        if container.status in ("exited", "dead"):
            return docker_time(container.attrs["State"]["FinishedAt"])
        time.sleep(0.1)
    raise AssertionError(f"container {container.short_id} still {container.status}")


def failure_time(stack: Stack, run_id: str) -> tuple[float, str]:
    """When the run was marked FAILURE, and the failure event's message."""
    for kind, at, message in stack.event_times(run_id):
        if kind == "RunFailureEvent":
            return at, message
    raise AssertionError(f"run {run_id} has no failure event")
