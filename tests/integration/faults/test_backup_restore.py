"""scripts/backup.sh and scripts/restore.sh: a backup of the test stack, restored into a
fresh stack, brings back the same runs, event logs, asset materializations and schedule and
sensor state (counts and ids), and the same files in the data volumes."""

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.automation_state import set_instigator, stack_instigators
from tests.integration.stack import REPO_ROOT, Stack, free_port

ASSET_RUNS = """
{ assetNodes { assetKey { path } assetMaterializations(limit: 100) { runId } } }
"""


def _script(stack: Stack, *args: str) -> str:
    result = subprocess.run(
        ["bash", *args], cwd=REPO_ROOT, env=stack.env, capture_output=True, text=True,
        timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, f"{args[0]} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _state(stack: Stack, run_ids: list[str]) -> dict:
    """What the UI shows of the data at backup time: those runs' statuses, every asset's
    materializations (by run), and the schedule and sensor states."""
    runs = {r["runId"]: r["status"] for r in stack.runs({"runIds": run_ids}, limit=len(run_ids))}
    assets = {
        "/".join(node["assetKey"]["path"]): sorted(m["runId"] for m in node["assetMaterializations"])
        for node in stack.graphql(ASSET_RUNS)["assetNodes"]
    }
    return {"runs": runs, "assets": assets, "automation": stack_instigators(stack)}


@pytest.fixture
def restored_stack(stack: Stack) -> Iterator[Stack]:
    fresh = Stack(
        name=f"{stack.name}-restored", port=free_port(), secrets_dir=stack.secrets_dir,
        overrides=stack.overrides, logins=stack.logins,
    )
    try:
        yield fresh
    finally:
        fresh.down()


def test_backup_restores_into_a_fresh_stack_identically(
    stack: Stack, restored_stack: Stack, tmp_path: Path
) -> None:
    run_id = stack.launch("fanout_job")  # materializes the three assets
    assert stack.wait_for_run(run_id, timeout=300) == "SUCCESS", stack.failure_messages(run_id)
    # States that are not the code's defaults, so the restore has something to bring back;
    # stopped, the restored stack also adds no runs of its own before it is compared.
    set_instigator(stack, "records_file_sensor", running=False)
    set_instigator(stack, "fanout_schedule", running=False)

    # A quiet point: no new runs or ticks while the backup is taken.
    stack.compose("stop", "daemon")
    try:
        deadline = time.monotonic() + 300
        while stack.runs({"statuses": ["STARTING", "STARTED", "CANCELING"]}, limit=1):
            assert time.monotonic() < deadline, "runs still in flight"
            time.sleep(1)
        run_ids = [r["runId"] for r in stack.runs(limit=1000)]
        before = _state(stack, run_ids)
        started = time.monotonic()
        output = _script(stack, "scripts/backup.sh", str(tmp_path / "backup"))
        backup_s = time.monotonic() - started
    finally:
        stack.compose("start", "daemon")
    manifest = (tmp_path / "backup" / "manifest.txt").read_text()
    size_mb = sum(f.stat().st_size for f in (tmp_path / "backup").iterdir()) / 1e6

    started = time.monotonic()
    output = _script(restored_stack, "scripts/restore.sh", str(tmp_path / "backup"))
    restore_s = time.monotonic() - started
    assert "the manifest matches the backup's" in output, output
    after = _state(restored_stack, run_ids)

    print(
        f"\n[faults] backup {backup_s:.1f} s ({size_mb:.1f} MB), restore into a fresh stack "
        f"{restore_s:.1f} s; {len(run_ids)} runs; manifest:\n{manifest}"
    )
    assert len(run_ids) > 1 and before["assets"]["fanout_report"]
    assert after["runs"] == before["runs"]
    assert after["assets"] == before["assets"]
    assert after["automation"] == before["automation"]
    assert after["automation"] == {
        "fanout_schedule": "STOPPED", "records_file_sensor": "STOPPED", "warehouse_daily": "STOPPED",
        # The platform's: they start no run (the purge's schedule is daily, at night).
        "retention_schedule": "RUNNING", "run_failure_alert_sensor": "RUNNING",
        "run_queue_alert_sensor": "RUNNING",
    }
    set_instigator(stack, "records_file_sensor", running=True)
    set_instigator(stack, "fanout_schedule", running=True)
