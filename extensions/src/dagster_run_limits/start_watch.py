"""Finds runs whose container died before the run worker reported STARTED.

Dagster's run monitoring checks a STARTING run only against `start_timeout_seconds` (180 s
here), so a container killed at start (OOM, bad image command) left its run STARTING for
minutes. The launcher runs this check on a background thread of the process that launches
runs (the daemon), once a second."""

import logging
import threading
import time
from collections.abc import Callable, Iterator

import docker
import docker.errors
from dagster._core.instance import DagsterInstance
from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus, RunsFilter
from dagster_docker.docker_run_launcher import DOCKER_CONTAINER_ID_TAG
from docker.models.containers import Container

logger = logging.getLogger("dagster_run_limits.start_watch")

DEAD_STATUSES = ("exited", "dead")
# Set by DockerRunLauncher on every run container.
RUN_ID_LABEL = "dagster/run_id"


def dead_starting_runs(
    instance: DagsterInstance, get_client: Callable[[], docker.DockerClient]
) -> Iterator[tuple[DagsterRun, Container]]:
    """STARTING runs whose container has already stopped. Docker is asked only when some
    run is STARTING, so an idle stack costs one database query per check."""
    records = instance.get_run_records(RunsFilter(statuses=[DagsterRunStatus.STARTING]))
    client = None
    for record in records:
        run = record.dagster_run
        container_id = run.tags.get(DOCKER_CONTAINER_ID_TAG)
        if not container_id:
            continue
        client = client or get_client()
        try:
            container = client.containers.get(container_id)
        except docker.errors.NotFound:
            # Removed by hand: nothing left to read a cause from; the start timeout covers it.
            continue
        # A retry inherits its parent's tags, container id included, until its own container
        # exists: that dead container is the parent's, not this run's.
        if container.labels.get(RUN_ID_LABEL) != run.run_id:
            continue
        if container.status in DEAD_STATUSES:
            yield run, container


class PeriodicCheck:
    """Calls `check` every `interval_seconds` on one daemon thread, started on first need.
    An exception in one call is logged and the next call happens as usual, so a database or
    Docker outage pauses the watch instead of ending it."""

    def __init__(self, check: Callable[[], None], interval_seconds: float, name: str) -> None:
        self._check = check
        self._interval = interval_seconds
        self._name = name
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def ensure_started(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while True:
            started = time.monotonic()
            try:
                self._check()
            except Exception:
                logger.exception("%s: check failed; trying again in %.0f s", self._name, self._interval)
            time.sleep(max(0.0, self._interval - (time.monotonic() - started)))
