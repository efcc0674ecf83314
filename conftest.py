import ctypes
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # A process a test leaves behind is reparented to this session instead of init, so
    # leftover checks (warmpool/tests/warm_pool_runs.py) look at this session's descendants
    # only and are not confused by other test sessions or stacks on the same host.
    if sys.platform != "linux":  # prctl is Linux's; so are /proc and the checks using it
        return
    PR_SET_CHILD_SUBREAPER = 36
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Everything under tests/integration talks to the live stack: mark it so it can be
    # selected (`-m integration`) or skipped (`-m "not integration"`). The browser tests under
    # tests/integration/ui are also `ui`. The fault suite (tests/integration/faults) restarts
    # services and kills containers: it is also `faults` and runs last, so the other tests see
    # a stack nobody has disturbed.
    for item in items:
        path = str(item.path)
        if "/tests/integration/" in path:
            item.add_marker(pytest.mark.integration)
        if "/tests/integration/ui/" in path:
            item.add_marker(pytest.mark.ui)
        if "/tests/integration/faults/" in path:
            item.add_marker(pytest.mark.faults)
    items.sort(key=lambda item: "/tests/integration/faults/" in str(item.path))


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
    from bench.postgres import throwaway_postgres

    with throwaway_postgres() as url:
        yield url


def stack_instance_overrides(postgres_url: str, compute_logs_dir: str) -> dict:
    """The stack's instance configuration (dagster.yaml) on a test database."""
    from dagster_warm_pool.instance_config import postgres_instance_config

    return postgres_instance_config({"postgres_url": postgres_url}, compute_logs_dir)


@pytest.fixture
def pg_instance(tmp_path, postgres_url: str):
    """A Dagster instance configured as the stack's, on the session's real Postgres."""
    import dagster as dg

    overrides = stack_instance_overrides(postgres_url, str(tmp_path / "compute_logs"))
    with dg.instance_for_test(temp_dir=str(tmp_path), overrides=overrides) as instance:
        yield instance


@pytest.fixture
def stock_pg_instance(tmp_path, postgres_url: str):
    """A Dagster instance with Dagster's own Postgres storage and compute log manager."""
    import dagster as dg

    overrides = {"storage": {"postgres": {"postgres_url": postgres_url}}}
    with dg.instance_for_test(temp_dir=str(tmp_path), overrides=overrides) as instance:
        yield instance
