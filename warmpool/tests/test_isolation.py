"""Clean state per step, on the default settings: what one step changes in its process
(module globals, environment, working directory, signal handlers, threads, memory) is not
there for the next step, as with Dagster's one-new-process-per-step executor."""

import json
import os
import signal
from pathlib import Path

import dagster as dg
import pytest
import warm_pool_test_jobs as J
from warm_pool_runs import assert_nothing_left, execute

pytestmark = pytest.mark.timeout(120)

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def seen(tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> dict:
    """Run isolation_job once: `pollute` changes everything it can, `inspect_state` (after it)
    records what it sees."""
    marker = tmp_path_factory.mktemp("isolation")
    home = tmp_path_factory.mktemp("home")
    overrides = {"storage": {"postgres": {"postgres_url": postgres_url}}}
    cfg = {
        "ops": {
            name: {"config": {"marker_dir": str(marker), "memory_mib": 200}}
            for name in ("pollute", "inspect_state")
        }
    }
    with dg.instance_for_test(temp_dir=str(home), overrides=overrides) as instance:
        run, _ = execute(instance, J.isolation_job, cfg)
        assert run.status == dg.DagsterRunStatus.SUCCESS
        assert_nothing_left(instance, run.run_id)
    polluter = json.loads((marker / "pollute.json").read_text())
    inspector = json.loads((marker / "inspect.json").read_text())
    return {"polluter": polluter, "inspector": inspector, "marker": str(marker)}


def test_steps_run_in_different_processes(seen: dict) -> None:
    assert seen["inspector"]["pid"] != seen["polluter"]["pid"]
    assert os.getpid() not in (seen["inspector"]["pid"], seen["polluter"]["pid"])


def test_module_globals(seen: dict) -> None:
    assert seen["inspector"]["global"] is None
    assert seen["inspector"]["held"] == 0


def test_environment_variables(seen: dict) -> None:
    assert seen["inspector"]["env"] is None


def test_working_directory(seen: dict) -> None:
    assert seen["inspector"]["cwd"] != seen["marker"]
    assert Path(seen["inspector"]["cwd"]) == Path.cwd()


def test_signal_handlers(seen: dict) -> None:
    assert seen["inspector"]["sigusr1_default"] is True
    assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL  # and the test process is untouched


def test_threads(seen: dict) -> None:
    assert "leaky-thread" not in seen["inspector"]["threads"]
    # A step process starts from a thread-free template; Dagster runs no thread of its own in it.
    assert seen["inspector"]["os_threads"] == 1, seen["inspector"]["threads"]


def test_memory(seen: dict) -> None:
    # `pollute` held 200 MiB when it measured itself; `inspect_state` starts without it.
    assert seen["polluter"]["rss"] - seen["inspector"]["rss"] > 150 * MIB
