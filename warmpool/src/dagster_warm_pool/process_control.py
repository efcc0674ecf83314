"""Linux process plumbing shared by the template and its step processes."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

_PR_SET_PDEATHSIG = 1
_PR_SET_NAME = 15
# Process names (as `ps -o comm`, `top` and /proc/<pid>/comm show them).
TEMPLATE_NAME = "wp-template"
STEP_NAME = "wp-step"
# Steps are what should die first when a container runs out of memory, then the template
# (restartable: the pool starts a new one), never the orchestrator, which must live to report
# and retry (raising one's own score needs no privilege; lowering it would).
STEP_OOM_SCORE_ADJ = 500
TEMPLATE_OOM_SCORE_ADJ = 250


def os_thread_count(pid: int | str = "self") -> int:
    """Threads of a process as the kernel sees them, C threads included."""
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        import threading

        return threading.active_count()


def die_with_parent(expected_parent: int) -> None:
    """Have the kernel SIGKILL this process when its parent dies; exit now if it already has."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != expected_parent:
        os._exit(1)


def set_process_name(name: str) -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_NAME, ctypes.c_char_p(name.encode()[:15]), 0, 0, 0)


def raise_oom_score(adj: int = STEP_OOM_SCORE_ADJ, pid: int | None = None) -> None:
    """Makes a step process the kernel's first choice when the container runs out of memory,
    so the run worker survives to report the step's failure and retry it. Raising needs no
    capability (lowering would), so this works in the stack's cap-dropped containers."""
    target = "self" if pid is None else str(pid)
    with contextlib.suppress(OSError):
        Path(f"/proc/{target}/oom_score_adj").write_text(str(adj))


def child_pids(pid: int | str = "self") -> set[int]:
    """The direct children of every thread of a process (Linux's /proc/<pid>/task/*/children)."""
    found: set[int] = set()
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        with contextlib.suppress(OSError, ValueError):
            text = Path(f"/proc/{pid}/task/{task}/children").read_text()
            found.update(int(p) for p in text.split())
    return found


@contextlib.contextmanager
def children_first_in_oom(
    adj: int = STEP_OOM_SCORE_ADJ, interval_s: float = 0.05
) -> Iterator[None]:
    """Raises the oom_score_adj of each child this process starts, within `interval_s` of its
    start, for as long as the block runs. A spawned step process reports its pid only once it has
    imported Dagster; a step that allocates before its parent reads that report would otherwise
    race the run worker for the kernel's choice."""
    stop = threading.Event()
    done: set[int] = set()

    def watch() -> None:
        while not stop.is_set():
            for pid in child_pids() - done:
                raise_oom_score(adj, pid=pid)
                done.add(pid)
            stop.wait(interval_s)

    thread = threading.Thread(target=watch, name="oom-score-children", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=1.0)


def pidfd(pid: int) -> int | None:
    """A file descriptor that becomes readable when `pid` exits (Linux 5.3+)."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def close_quietly(fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)
