"""Upgrade with data kept: `scripts/down.sh` (volumes kept), then `scripts/up.sh` (a rebuild
and every location deployed). The one-shot migrate service runs on the existing database, and
every run, event, materialization, schedule state and volume file is still there."""

import subprocess
import time

from tests.integration.automation_state import set_instigator, stack_instigators
from tests.integration.stack import REPO_ROOT, Stack


def stack_manifest(stack: Stack) -> str:
    """scripts/backup's manifest of the live stack: database counts and id digests, and a
    digest of every file in the data volumes."""
    result = subprocess.run(
        ["bash", "-c", ". scripts/backup/common.sh && manifest"],
        cwd=REPO_ROOT, env=stack.env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_down_rebuild_up_keeps_all_history(stack: Stack) -> None:
    run_id = stack.launch("fanout_job")
    assert stack.wait_for_run(run_id, timeout=300) == "SUCCESS", stack.failure_messages(run_id)
    # Nothing may add runs or ticks between the two manifests: every schedule and sensor of
    # every location (the alert sensors too) is stopped, then the daemon, as scripts/backup.sh
    # advises for a backup that matches exactly.
    running = [name for name, status in stack_instigators(stack).items() if status == "RUNNING"]
    for name in running:
        set_instigator(stack, name, running=False)
    deadline = time.monotonic() + 300
    while stack.runs({"statuses": ["QUEUED", "STARTING", "STARTED", "CANCELING"]}, limit=1):
        assert time.monotonic() < deadline, "runs still in flight"
        time.sleep(1)
    stack.compose("stop", "daemon")
    before = stack_manifest(stack)

    started = time.monotonic()
    stack.stackctl("down")
    stack.stackctl("up", timeout=1200)
    upgrade_s = time.monotonic() - started
    migrate = stack.compose("ps", "--all", "--format", "{{.Service}} {{.State}} {{.ExitCode}}")
    assert "migrate exited 0" in migrate, migrate

    after = stack_manifest(stack)
    print(f"\n[faults] down, rebuild, up: {upgrade_s:.1f} s; manifest kept:\n{after}")
    assert after == before

    # Data written before the upgrade is used after it: fanout_report alone loads
    # fanout_results from the IO volume.
    again = stack.launch("fanout_job", asset_selection=["fanout_report"])
    assert stack.wait_for_run(again) == "SUCCESS", stack.failure_messages(again)
    (run,) = stack.runs({"runIds": [run_id]})
    assert run["status"] == "SUCCESS"
    for name in running:
        set_instigator(stack, name, running=True)
