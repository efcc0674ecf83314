"""Worker-local compute-log capture without the per-step mirroring subprocesses.

Dagster's `LocalComputeLogManager.capture_logs` wraps every step in
`mirror_stream_to_file` for stdout *and* stderr; on POSIX each of those starts
`tail -F <file>` plus a Python watcher (`dagster/_core/execution/scripts/watch_orphans.py`)
that kills the tail if the step process dies -- four subprocesses per step, just to
echo the step's output live to the worker's own stdout/stderr (i.e. `docker logs`).

`install_no_mirror_capture(instance)` replaces `capture_logs` *on that worker's
manager object only* (nothing in the instance config changes, other processes are
untouched) with a version that writes the same files (same keys, same `.complete`
artifact, so the UI shows the same logs), redirects the fds in-process, and copies
what the step printed to the real stdout/stderr once the step's capture ends.  The
difference: output reaches the container log at step end instead of live.

Used only when the executor is configured with `compute_logs: no_mirror`.
"""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Generator, Sequence
from contextlib import contextmanager

from dagster._core.execution.compute_logs import redirect_to_file
from dagster._core.storage.compute_log_manager import CapturedLogContext, ComputeIOType
from dagster._core.storage.local_compute_log_manager import (
    IO_TYPE_EXTENSION,
    LocalComputeLogManager,
)
from dagster._utils import ensure_file, touch_file


def _copy_tail(path: str, offset: int, fd: int) -> None:
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            while chunk := f.read(1 << 16):
                os.write(fd, chunk)
    except OSError:
        pass


def _fileno(stream) -> int | None:
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):
        return None


@contextmanager
def _capture_logs_no_mirror(
    self: LocalComputeLogManager, log_key: Sequence[str]
) -> Generator[CapturedLogContext, None, None]:
    outpath = self.get_captured_local_path(log_key, IO_TYPE_EXTENSION[ComputeIOType.STDOUT])
    errpath = self.get_captured_local_path(log_key, IO_TYPE_EXTENSION[ComputeIOType.STDERR])
    ensure_file(outpath)
    ensure_file(errpath)
    out_off, err_off = os.path.getsize(outpath), os.path.getsize(errpath)
    out_fd, err_fd = _fileno(sys.stdout), _fileno(sys.stderr)
    # Keep duplicates of the real fds to echo the captured output afterwards.
    out_copy = os.dup(out_fd) if out_fd is not None else None
    err_copy = os.dup(err_fd) if err_fd is not None else None
    try:
        with redirect_to_file(sys.stdout, outpath), redirect_to_file(sys.stderr, errpath):
            yield CapturedLogContext(log_key)
    finally:
        if out_copy is not None:
            _copy_tail(outpath, out_off, out_copy)
            os.close(out_copy)
        if err_copy is not None:
            _copy_tail(errpath, err_off, err_copy)
            os.close(err_copy)
    touch_file(self.complete_artifact_path(log_key))


def install_no_mirror_capture(instance) -> bool:
    """Patch this instance's LocalComputeLogManager object; returns whether it applied."""
    manager = instance.compute_log_manager
    if type(manager) is not LocalComputeLogManager:
        return False
    manager.capture_logs = types.MethodType(_capture_logs_no_mirror, manager)
    return True
