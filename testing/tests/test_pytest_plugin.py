"""The stack_testing plugin, as a test session in another folder sees it: which tests it marks
as needing a service, and that a Postgres test without Postgres fails rather than skips."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SAMPLE = '''
import pytest

def test_pure():
    pass

def test_postgres_url(postgres_url):
    pass

def test_pg_instance(pg_instance):
    pass

def test_stock_pg_instance(stock_pg_instance):
    pass

def test_own_pg_instance(own_pg_instance):
    pass

@pytest.mark.docker
def test_docker_engine():
    pass

@pytest.mark.swarm
def test_swarm_cluster():
    pass
'''


def _pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    env = {k: v for k, v in os.environ.items() if k != "TEST_POSTGRES_URL"}
    env["DOCKER_HOST"] = "unix:///nonexistent"  # no test here may reach a real engine
    # An unregistered marker would warn; as an error it fails the run.
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA",
         "-W", "error::pytest.PytestUnknownMarkWarning", *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _selected(tmp_path: Path, marks: str) -> list[str]:
    done = _pytest(tmp_path, "--collect-only", "-m", marks)
    assert done.returncode == 0, done.stdout + done.stderr
    return sorted(line.split("::")[1] for line in done.stdout.splitlines() if "::" in line)


def test_not_integration_leaves_out_every_test_that_needs_a_service(tmp_path: Path) -> None:
    assert _selected(tmp_path, "not integration") == ["test_pure"]


def test_every_test_using_the_postgres_fixtures_is_marked_postgres(tmp_path: Path) -> None:
    assert _selected(tmp_path, "postgres") == [
        "test_own_pg_instance",
        "test_pg_instance",
        "test_postgres_url",
        "test_stock_pg_instance",
    ]


def test_postgres_and_docker_tests_are_integration(tmp_path: Path) -> None:
    assert _selected(tmp_path, "integration") == [
        "test_docker_engine",
        "test_own_pg_instance",
        "test_pg_instance",
        "test_postgres_url",
        "test_stock_pg_instance",
        "test_swarm_cluster",
    ]


def test_swarm_tests_are_docker_and_integration(tmp_path: Path) -> None:
    assert _selected(tmp_path, "docker") == ["test_docker_engine", "test_swarm_cluster"]
    assert _selected(tmp_path, "swarm and integration") == ["test_swarm_cluster"]


def test_without_postgres_or_docker_a_postgres_test_fails_not_skips(tmp_path: Path) -> None:
    done = _pytest(tmp_path, "-k", "test_postgres_url")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 error" in done.stdout and "skipped" not in done.stdout
    assert "needs TEST_POSTGRES_URL or a running Docker engine" in done.stdout
