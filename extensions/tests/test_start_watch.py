"""The start watch's thread: one per launcher, and an error in one check does not end it."""

import threading
import time

from dagster_run_limits.start_watch import PeriodicCheck


def test_keeps_checking_after_an_error_and_starts_once() -> None:
    calls: list[float] = []
    third = threading.Event()

    def check() -> None:
        calls.append(time.monotonic())
        if len(calls) >= 3:
            third.set()
        if len(calls) == 1:
            raise ConnectionError("database restarting")

    watch = PeriodicCheck(check, interval_seconds=0.01, name="test-watch")
    watch.ensure_started()
    first_thread = watch._thread
    watch.ensure_started()
    assert watch._thread is first_thread
    assert third.wait(5), f"only {len(calls)} checks ran"


class _Container:
    def __init__(self, run_id: str, status: str) -> None:
        self.labels = {"dagster/run_id": run_id}
        self.status = status


class _Containers:
    def __init__(self, by_id: dict[str, _Container]) -> None:
        self.by_id = by_id

    def get(self, container_id: str) -> _Container:
        return self.by_id[container_id]


class _Client:
    def __init__(self, by_id: dict[str, _Container]) -> None:
        self.containers = _Containers(by_id)


def test_a_retry_is_not_blamed_for_its_parents_dead_container() -> None:
    """A retry starts with its parent's tags, the parent's container id among them, until
    the launcher has created its own container."""
    from types import SimpleNamespace

    from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus

    from dagster_run_limits.start_watch import dead_starting_runs

    runs = [
        DagsterRun(job_name="j", run_id="retry", status=DagsterRunStatus.STARTING,
                   tags={"docker/container_id": "parent-box"}),
        DagsterRun(job_name="j", run_id="own", status=DagsterRunStatus.STARTING,
                   tags={"docker/container_id": "own-box"}),
        DagsterRun(job_name="j", run_id="alive", status=DagsterRunStatus.STARTING,
                   tags={"docker/container_id": "alive-box"}),
        DagsterRun(job_name="j", run_id="queued", status=DagsterRunStatus.STARTING, tags={}),
    ]  # fmt: skip
    instance = SimpleNamespace(
        get_run_records=lambda _filters: [SimpleNamespace(dagster_run=run) for run in runs]
    )
    client = _Client({
        "parent-box": _Container("parent", "exited"),
        "own-box": _Container("own", "exited"),
        "alive-box": _Container("alive", "running"),
    })  # fmt: skip
    found = [run.run_id for run, _ in dead_starting_runs(instance, lambda: client)]
    assert found == ["own"]
