"""A run container that dies before or during start: the run is FAILURE within 15 s with
the cause from the container's state, and a failure that would only repeat is not retried."""

import time
from collections.abc import Iterator

import docker
import pytest
from dagster_graphql import DagsterGraphQLClientError

from tests.integration.faults.deaths import (
    DETECTION_LIMIT_S,
    LONG,
    TRIVIAL,
    failure_time,
    wait_for_container,
    wait_for_status,
    wait_until_exited,
)
from tests.integration.stack import Stack

# The run-retry daemon looks at new failures every 5 s; a retry would exist by then.
RETRY_DAEMON_INTERVAL_S = 5


def _assert_not_retried(stack: Stack, run_id: str) -> None:
    assert stack.run_tags(run_id)["dagster/max_retries"] == "0"
    time.sleep(2 * RETRY_DAEMON_INTERVAL_S)
    # The run-retry daemon has looked at the failure and decided.
    assert stack.run_tags(run_id).get("dagster/will_retry") == "false"
    assert stack.retries_of(run_id) == [], "a failure that would only repeat was retried"


def _assert_retried_to_success(stack: Stack, run_id: str) -> str:
    deadline = time.monotonic() + 60
    while not (retries := stack.retries_of(run_id)):
        assert time.monotonic() < deadline, "the failed run was not retried"
        time.sleep(0.5)
    (retry,) = retries
    assert stack.wait_for_run(retry) == "SUCCESS", stack.failure_messages(retry)
    return retry


def test_oom_at_start_fails_fast_names_limit_and_tag_and_is_not_retried(stack: Stack) -> None:
    # 48m is above the test stack's floor (32m) and far below what a run worker needs.
    run_id = stack.launch("chunked_work_job", TRIVIAL, {"limits/memory": "48m"})
    container = wait_for_container(stack, run_id)
    died = wait_until_exited(container)
    assert container.attrs["State"]["OOMKilled"], container.attrs["State"]
    assert stack.wait_for_run(run_id, timeout=60) == "FAILURE"
    failed, message = failure_time(stack, run_id)
    print(f"\n[faults] OOM at start: container died -> run FAILURE in {failed - died:.1f} s")
    assert failed - died < DETECTION_LIMIT_S
    assert "Run container was OOM-killed before the run started" in message, message
    assert "memory limit of 48 MiB" in message
    assert "`limits/memory`" in message
    assert not any(kind == "RunStartEvent" for kind, _, _ in stack.event_times(run_id))
    _assert_not_retried(stack, run_id)


def test_memory_below_the_floor_is_refused_at_submission_with_the_floor(stack: Stack) -> None:
    floor = stack.env["RUN_MIN_MEMORY"]
    with pytest.raises(DagsterGraphQLClientError) as error:
        stack.launch("chunked_work_job", TRIVIAL, {"limits/memory": "16m"})
    _, message = error.value.args
    assert f'ask for at least "{floor}"' in message, message
    print(f"\n[faults] limits/memory 16m refused at submission: {message.splitlines()[0]}")


def test_sigkill_at_start_fails_fast_with_exit_code_and_is_retried(stack: Stack) -> None:
    run_id = stack.launch("chunked_work_job", TRIVIAL)
    container = wait_for_container(stack, run_id)
    container.kill()
    died = wait_until_exited(container)
    assert stack.wait_for_run(run_id, timeout=60) == "FAILURE"
    failed, message = failure_time(stack, run_id)
    print(f"\n[faults] SIGKILL at start: container died -> run FAILURE in {failed - died:.1f} s")
    assert failed - died < DETECTION_LIMIT_S
    assert "killed by SIGKILL before the run started (exit code 137)" in message, message
    _assert_retried_to_success(stack, run_id)


def test_sigkill_during_the_run_fails_fast_and_is_retried(stack: Stack) -> None:
    run_id = stack.launch("chunked_work_job", LONG)
    container = wait_for_container(stack, run_id)
    wait_for_status(stack, run_id, "STARTED")
    container.kill()
    died = wait_until_exited(container)
    assert stack.wait_for_run(run_id, timeout=60) == "FAILURE"
    failed, message = failure_time(stack, run_id)
    print(f"\n[faults] SIGKILL during run: container died -> run FAILURE in {failed - died:.1f} s")
    assert failed - died < DETECTION_LIMIT_S
    assert "killed by SIGKILL while the run was executing (exit code 137)" in message, message
    retry = _assert_retried_to_success(stack, run_id)
    assert stack.run_tags(retry)["dagster/parent_run_id"] == run_id


@pytest.fixture
def user_code_image_missing(stack: Stack) -> Iterator[str]:
    """The run image's tag removed for the test (a second tag keeps the image, which the
    running code server uses), and put back afterwards."""
    client = docker.from_env()
    tag = stack.serving_image("fanout")
    keep = f"{stack.name}/fanout:kept-during-fault-test"
    image = client.images.get(tag)
    image.tag(keep)
    client.images.remove(tag)
    try:
        yield tag
    finally:
        client.images.get(keep).tag(tag)
        client.images.remove(keep)


def test_missing_image_fails_fast_names_the_image_and_is_not_retried(
    stack: Stack, user_code_image_missing: str
) -> None:
    run_id = stack.launch("chunked_work_job", TRIVIAL)
    assert stack.wait_for_run(run_id, timeout=120) == "FAILURE"
    failed, message = failure_time(stack, run_id)
    # From the daemon's launch attempt: time in the queue before it is not detection time.
    (launched,) = [at for kind, at, _ in stack.event_times(run_id) if kind == "RunStartingEvent"]
    print(f"\n[faults] image missing: launch attempt -> run FAILURE in {failed - launched:.1f} s")
    assert failed - launched < DETECTION_LIMIT_S
    assert f"image {user_code_image_missing} was not found" in message, message
    assert stack.run_containers(run_id) == []
    _assert_not_retried(stack, run_id)


def test_a_trivial_run_succeeds_at_the_products_memory_floor(stack: Stack) -> None:
    """The floor .env ships (RUN_MIN_MEMORY) is enough for a run worker to start and run."""
    from dotenv import dotenv_values

    from tests.integration.stack import REPO_ROOT

    floor = dotenv_values(REPO_ROOT / ".env")["RUN_MIN_MEMORY"]
    run_id = stack.launch("chunked_work_job", TRIVIAL, {"limits/memory": floor})
    assert stack.wait_for_run(run_id) == "SUCCESS", stack.failure_messages(run_id)
    (usage,) = [m for _, _, m in stack.event_times(run_id) if m.startswith("Run resource usage:")]
    print(f"\n[faults] memory floor {floor}: a trivial run succeeds at it; {usage}")
