"""Fixtures for the unit tests that run the code location's jobs."""

from pathlib import Path

import dagster as dg
import pytest

from fanout.definitions import defs


@pytest.fixture
def fanout_job() -> dg.JobDefinition:
    return defs.resolve_job_def("fanout_job")


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "data"
    (root / "incoming").mkdir(parents=True)
    monkeypatch.setenv("FANOUT_DATA_DIR", str(root))
    return root
