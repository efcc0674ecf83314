import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Everything under tests/integration talks to the live stack: mark it so it can be
    # selected (`-m integration`) or skipped (`-m "not integration"`). The fault suite
    # (tests/integration/faults) restarts services and kills containers: it runs last, so
    # the other tests see a stack nobody has disturbed.
    for item in items:
        if "/integration/" in str(item.path):
            item.add_marker(pytest.mark.integration)
        if "/integration/faults/" in str(item.path):
            item.add_marker(pytest.mark.faults)
    items.sort(key=lambda item: "/integration/faults/" in str(item.path))


def _docker_works() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real Postgres for tests of the Postgres-specific paths: TEST_POSTGRES_URL if set,
    else a throwaway container from $POSTGRES_IMAGE; skipped only where Docker is absent."""
    if url := os.environ.get("TEST_POSTGRES_URL"):
        yield url
        return
    if not _docker_works():
        pytest.skip("needs TEST_POSTGRES_URL or a running Docker engine")
    from bench.postgres import throwaway_postgres

    with throwaway_postgres() as url:
        yield url
