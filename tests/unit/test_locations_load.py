"""Every declared code location loads its definitions, checked the way Dagster's own tooling
does (`dg check defs`, one process per location): a location that fails to import or whose
definitions are invalid fails the test command before any image is built."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from stackctl.declaration import declared_locations
from stackctl.settings import REPO_ROOT

LOCATIONS = declared_locations(REPO_ROOT, {})


@pytest.mark.parametrize("location", LOCATIONS, ids=[loc.name for loc in LOCATIONS])
def test_dg_check_defs(location) -> None:
    dg = Path(sys.executable).parent / "dg"
    result = subprocess.run(
        [str(dg), "check", "defs", "--use-active-venv"],
        cwd=location.path,
        env={**os.environ, "VIRTUAL_ENV": str(Path(sys.executable).parent.parent), "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"{location.name} does not load:\n{result.stdout}\n{result.stderr}"
    assert "All definitions loaded successfully" in result.stdout + result.stderr
