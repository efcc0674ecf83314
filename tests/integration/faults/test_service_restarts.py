"""Restarting a service of the stack: Postgres, the daemon (with runs queued), the code
server (during a run), the webserver. Nothing is lost, nothing runs twice, and no user
sees an error once the service is back. Each test prints how long recovery took."""

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from tests.integration.faults.burst import times_launched
from tests.integration.faults.deaths import TRIVIAL, wait_for_status
from tests.integration.stack import Stack

T = TypeVar("T")

# A run that is still executing while a service restarts.
SECONDS_20 = {"ops": {"plan_chunk_steps": {"config": {"chunk_count": 2, "chunk_seconds": 20.0}}}}

# What the UI's Assets page and run list ask for (their data comes through GraphQL).
ASSETS_PAGE = """
{ assetNodes { assetKey { path } assetMaterializations(limit: 1) { runId timestamp } } }
"""
RUNS_PAGE = "{ runsOrError(limit: 20) { ... on Runs { results { runId status } } } }"


def _until(check: Callable[[], T], timeout: float, what: str) -> tuple[T, float]:
    """Calls `check` until it returns without raising; (its result, seconds it took)."""
    started = time.monotonic()
    while True:
        try:
            return check(), time.monotonic() - started
        except Exception as error:
            if time.monotonic() - started > timeout:
                raise AssertionError(f"{what}: still failing after {timeout:.0f} s: {error}")
            time.sleep(0.2)


def _outcome(stack: Stack, run_id: str, timeout: float = 300) -> str:
    """"SUCCESS", "SUCCESS after a retry" (Dagster's run retries), or the final status."""
    status = stack.wait_for_run(run_id, timeout=timeout)
    if status == "SUCCESS":
        return status
    deadline = time.monotonic() + 60
    while not (retries := stack.retries_of(run_id)):
        if time.monotonic() > deadline:
            return status
        time.sleep(1)
    retried = _outcome(stack, retries[0], timeout)
    return "SUCCESS after a retry" if retried.startswith("SUCCESS") else retried


def _assert_healthy(container: Any) -> None:
    container.reload()
    assert container.attrs["State"]["Health"]["Status"] == "healthy"


def _wait_healthy(stack: Stack, service: str, timeout: float = 180) -> float:
    def healthy() -> None:
        container = stack.service_container(service)
        assert container.attrs["State"]["Health"]["Status"] == "healthy"

    return _until(healthy, timeout, f"{service} healthy")[1]


def test_postgres_restart(stack: Stack) -> None:
    in_flight = [stack.launch("chunked_work_job", SECONDS_20) for _ in range(2)]
    for run_id in in_flight:
        wait_for_status(stack, run_id, "STARTED")
    stack.graphql(ASSETS_PAGE)  # the webserver's pool holds connections from before

    restarted = time.monotonic()
    stack.compose("restart", "postgres")
    _wait_healthy(stack, "postgres")
    back = time.monotonic() - restarted

    # The first requests after Postgres is back: no error, no retry on our side.
    stack.graphql(ASSETS_PAGE)
    stack.graphql(RUNS_PAGE)
    first_request = time.monotonic() - restarted

    new_run = stack.launch("chunked_work_job", TRIVIAL)
    assert stack.wait_for_run(new_run) == "SUCCESS", stack.failure_messages(new_run)
    new_run_done = time.monotonic() - restarted

    outcomes = {run_id: _outcome(stack, run_id) for run_id in in_flight}
    settled = time.monotonic() - restarted
    print(
        f"\n[faults] Postgres restart: healthy again after {back:.1f} s; first UI/GraphQL "
        f"requests OK at {first_request:.1f} s; a new run SUCCESS at {new_run_done:.1f} s; "
        f"runs in flight {sorted(outcomes.values())} (settled at {settled:.1f} s)"
    )
    assert all(o.startswith("SUCCESS") for o in outcomes.values()), {
        r: stack.failure_messages(r) for r in in_flight
    }
    stuck = stack.runs({"statuses": ["STARTING", "STARTED"]}, limit=100)
    assert not [r for r in stuck if r["runId"] in in_flight], stuck


def test_daemon_restart_with_20_runs_queued(stack: Stack) -> None:
    with ThreadPoolExecutor(8) as pool:
        run_ids = list(pool.map(lambda _: stack.launch("chunked_work_job", TRIVIAL), range(20)))
    restarted = time.monotonic()
    stack.compose("restart", "daemon")
    outcomes = {run_id: stack.wait_for_run(run_id, timeout=600) for run_id in run_ids}
    drained = time.monotonic() - restarted
    print(
        f"\n[faults] daemon restart with 20 runs queued: all finished {drained:.1f} s after "
        f"the restart; statuses {sorted(set(outcomes.values()))}"
    )
    assert set(outcomes.values()) == {"SUCCESS"}, {
        r: stack.failure_messages(r) for r, s in outcomes.items() if s != "SUCCESS"
    }
    for run_id in run_ids:
        assert times_launched(stack, run_id) == (1, 1), f"run {run_id} did not run exactly once"
        assert stack.retries_of(run_id) == []


def test_code_server_restart_during_a_run(stack: Stack) -> None:
    run_id = stack.launch("chunked_work_job", SECONDS_20)
    wait_for_status(stack, run_id, "STARTED")
    restarted = time.monotonic()
    stack.code_server("fanout").restart(timeout=20)
    _until(
        lambda: _assert_healthy(stack.code_server("fanout")), 180, "fanout code server healthy"
    )
    # The webserver reconnects to the code server on its own; the next launch works.
    next_run, _ = _until(
        lambda: stack.launch("chunked_work_job", TRIVIAL), 120, "launch after code server restart"
    )
    accepted = time.monotonic() - restarted
    assert stack.wait_for_run(next_run) == "SUCCESS", stack.failure_messages(next_run)
    next_done = time.monotonic() - restarted
    assert stack.wait_for_run(run_id) == "SUCCESS", stack.failure_messages(run_id)
    assert stack.retries_of(run_id) == []
    print(
        f"\n[faults] code server restart during a run: the run finished SUCCESS; the next "
        f"launch was accepted {accepted:.1f} s after the restart began and succeeded at "
        f"{next_done:.1f} s"
    )


def test_webserver_restart(stack: Stack) -> None:
    run_id = stack.launch("chunked_work_job", SECONDS_20)
    wait_for_status(stack, run_id, "STARTED")
    restarted = time.monotonic()
    stack.compose("restart", "webserver")
    _until(lambda: stack.graphql(RUNS_PAGE), 120, "GraphQL after the webserver restart")
    answering = time.monotonic() - restarted
    assert stack.wait_for_run(run_id) == "SUCCESS", stack.failure_messages(run_id)
    next_run = stack.launch("chunked_work_job", TRIVIAL)
    assert stack.wait_for_run(next_run) == "SUCCESS", stack.failure_messages(next_run)
    print(
        f"\n[faults] webserver restart: GraphQL answered again {answering:.1f} s after the "
        "restart began; the run in flight finished SUCCESS; the next launch succeeded"
    )
