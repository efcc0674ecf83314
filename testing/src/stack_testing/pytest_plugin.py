"""The pytest plugin of every package's tests (registered as `pytest11` entry point, so it
loads from whichever folder pytest starts): the real-Postgres fixtures, the markers for tests
that need a service, and the child subreaper the warm pool's leftover checks rely on.

A test that uses `postgres_url` (directly or through `pg_instance` / `stock_pg_instance`) is
marked `postgres`; a test module that talks to the Docker engine marks itself `docker`, one
that runs a multi-node Swarm (stack_testing.swarm_cluster) `swarm`, which implies `docker`. All
are also `integration`, so `-m "not integration"` selects exactly the tests that need neither
Postgres nor Docker.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import dagster as dg

MARKERS = {
    "integration": "needs a service: the live stack, a real Postgres, or the Docker engine",
    "postgres": (
        "needs a real Postgres (TEST_POSTGRES_URL, or Docker to start one); also integration"
    ),
    "docker": "talks to the Docker engine itself; also integration",
    "swarm": (
        "runs a multi-node Docker Swarm of Docker-in-Docker nodes; also docker and integration"
    ),
}
# The markers that mean a test needs a service, so `-m "not integration"` leaves it out.
_SERVICE_MARKERS = ("postgres", "docker", "swarm")
# A marker that implies others: a Swarm test talks to the Docker engine too.
_IMPLIED_MARKERS = {"swarm": ("docker",)}


def pytest_configure(config: pytest.Config) -> None:
    # A package's own pytest config lists these too; registering only the missing ones keeps
    # `pytest --markers` free of duplicates and runs from folders without a config warning-free.
    lines = config.getini("markers")
    registered = {line.split(":", 1)[0].split("(", 1)[0].strip() for line in lines}
    for name, description in MARKERS.items():
        if name not in registered:
            config.addinivalue_line("markers", f"{name}: {description}")
    _become_child_subreaper()


def _become_child_subreaper() -> None:
    # A process a test leaves behind is reparented to this session instead of init, so
    # leftover checks (warmpool/tests/warm_pool_runs.py) look at this session's descendants
    # only and are not confused by other test sessions or stacks on the same host.
    if sys.platform != "linux":  # prctl is Linux's; so are /proc and the checks using it
        return
    PR_SET_CHILD_SUBREAPER = 36
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


# tryfirst: the marks must be on the items before `-m` deselects by them.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if {"postgres_url", "own_postgres_url"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)
        for name, implied in _IMPLIED_MARKERS.items():
            if item.get_closest_marker(name):
                for other in implied:
                    item.add_marker(getattr(pytest.mark, other))
        if any(item.get_closest_marker(name) for name in _SERVICE_MARKERS):
            item.add_marker(pytest.mark.integration)


def _docker_works() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real Postgres for tests of the Postgres-specific paths: TEST_POSTGRES_URL if set,
    else a throwaway container from $POSTGRES_IMAGE. Without either the test fails: a suite
    that needs Postgres never passes by skipping."""
    if url := os.environ.get("TEST_POSTGRES_URL"):
        yield url
        return
    if not _docker_works():
        pytest.fail("needs TEST_POSTGRES_URL or a running Docker engine to start Postgres")
    from stack_testing.postgres import throwaway_postgres

    with throwaway_postgres() as url:
        yield url


@pytest.fixture
def own_postgres_url(postgres_url: str) -> Iterator[str]:
    """A database of the test's own on the session's Postgres server, dropped afterwards: for
    tests that count or deserialize every run, which rows other tests leave would change."""
    from stack_testing.postgres import own_database

    with own_database(postgres_url) as url:
        yield url


def stack_instance_overrides(postgres_url: str, compute_logs_dir: str) -> dict[str, Any]:
    """The stack's instance configuration (dagster.yaml) on a test database."""
    from stack_testing.instance_config import stack_instance_config

    return stack_instance_config(postgres_url, compute_logs_dir)


@pytest.fixture
def pg_instance(tmp_path: Path, postgres_url: str) -> Iterator[dg.DagsterInstance]:
    """A Dagster instance configured as the stack's, on the session's real Postgres."""
    yield from _stack_instance(tmp_path, postgres_url)


def _stack_instance(tmp_path: Path, postgres_url: str) -> Iterator[dg.DagsterInstance]:
    import dagster as dg

    overrides = stack_instance_overrides(postgres_url, str(tmp_path / "compute_logs"))
    with dg.instance_for_test(temp_dir=str(tmp_path), overrides=overrides) as instance:
        yield instance


@pytest.fixture
def own_pg_instance(tmp_path: Path, own_postgres_url: str) -> Iterator[dg.DagsterInstance]:
    """`pg_instance` on the test's own database (`own_postgres_url`)."""
    yield from _stack_instance(tmp_path, own_postgres_url)


@pytest.fixture
def stock_pg_instance(tmp_path: Path, postgres_url: str) -> Iterator[dg.DagsterInstance]:
    """A Dagster instance with Dagster's own Postgres storage and compute log manager."""
    import dagster as dg

    overrides = {"storage": {"postgres": {"postgres_url": postgres_url}}}
    with dg.instance_for_test(temp_dir=str(tmp_path), overrides=overrides) as instance:
        yield instance


def pytest_terminal_summary(terminalreporter: Any) -> None:
    from stack_testing.figures import recorded

    lines = recorded()
    if lines:
        terminalreporter.section("measured figures")
        for line in lines:
            terminalreporter.write_line(line)
