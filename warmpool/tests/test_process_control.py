"""The child watcher that makes each step process the kernel's first out-of-memory choice."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from dagster_warm_pool.process_control import STEP_OOM_SCORE_ADJ, child_pids, children_first_in_oom


def _adj(pid: int) -> int:
    return int(Path(f"/proc/{pid}/oom_score_adj").read_text())


def test_a_child_started_inside_the_block_is_raised_at_once() -> None:
    with children_first_in_oom(interval_s=0.01):
        child = subprocess.Popen(["sleep", "30"])
        try:
            deadline = time.monotonic() + 2.0
            while _adj(child.pid) != STEP_OOM_SCORE_ADJ and time.monotonic() < deadline:
                time.sleep(0.01)
            assert _adj(child.pid) == STEP_OOM_SCORE_ADJ
            assert child.pid in child_pids()
        finally:
            child.kill()
            child.wait()
    assert _adj(os.getpid()) == 0, "the parent keeps its own score"


def test_a_child_started_after_the_block_keeps_its_score() -> None:
    with children_first_in_oom(interval_s=0.01):
        pass
    child = subprocess.Popen(["sleep", "30"])
    try:
        time.sleep(0.1)
        assert _adj(child.pid) == 0
    finally:
        child.kill()
        child.wait()
